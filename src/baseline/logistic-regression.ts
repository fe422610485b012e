/**
 * The baseline the model must beat: a batch logistic regression on exactly the wide part's
 * encoded ids (raw features, bucketized numerics and hashed crosses, from the same fitted
 * transforms), fitted to convergence with L-BFGS and L2.
 *
 * Objective: mean logistic loss over the N rows + (l2 / 2)·‖w‖² (the bias is not penalised).
 * FTRL's `l2` is in other units: it regularises the sum of the per-step (batch-mean) gradients,
 * so over E epochs of N rows in batches of B it weighs like l2·B / (E·N) here
 * (`ftrlEquivalentL2`).
 *
 * Written here (~150 lines over CSR rows) because no L-BFGS package is installed and none of the
 * npm ones handles sparse rows without densifying them: only coordinates that occur in the
 * training rows are optimised (an unseen coordinate's optimum is 0 under L2), so memory follows
 * the touched coordinates, not the 2^20-bucket hashed crosses.
 */
import type { EncodedBatch } from '../features/encoded-batch.ts';

export interface LogisticRegressionOptions {
  /** L2 strength on the mean loss (see the module comment). @default 1e-6 */
  readonly l2?: number;
  /** Stop once the objective changes by less than this over one iteration. @default 1e-8 */
  readonly tolerance?: number;
  /** @default 500 */
  readonly maxIterations?: number;
  /** L-BFGS history. @default 10 */
  readonly memory?: number;
  /**
   * Called after each accepted iteration (1-based) with the objective and its change: the fit is
   * synchronous and on a million rows takes minutes, so a caller can show that it moves.
   */
  readonly onIteration?: (iteration: number, objective: number, change: number) => void;
}

export interface LogisticRegressionFit {
  /** Weight per wide coordinate (the model's flat wide table), 0 where never seen. */
  readonly weights: Float64Array;
  readonly bias: number;
  readonly l2: number;
  readonly iterations: number;
  /** Objective (mean loss + penalty) at the end. */
  readonly objective: number;
  /** Mean logistic loss on the training rows at the end (no penalty). */
  readonly trainLoss: number;
  /** |objective change| over the last iteration: the evidence it converged. */
  readonly lastChange: number;
  /** Gradient's max-norm at the end. */
  readonly gradientMaxNorm: number;
  readonly converged: boolean;
  /** Objective after each iteration (iteration 0 = start). */
  readonly history: readonly number[];
}

/** The L2 on the mean loss that FTRL's `l2` amounts to after `epochs` passes over `rows` in batches of `batchSize`. */
export function ftrlEquivalentL2(ftrlL2: number, rows: number, epochs: number, batchSize: number): number {
  return (ftrlL2 * batchSize) / (epochs * rows);
}

function logLoss(z: number, y: number): number {
  return Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
}

/**
 * Fits w, b on a labelled batch (usually every training row, concatenated).
 * @param wideSize the model's wide table size (WideLayout.size)
 */
export function fitLogisticRegression(
  batch: EncodedBatch,
  wideSize: number,
  options: LogisticRegressionOptions = {},
): LogisticRegressionFit {
  const labels = batch.labels;
  if (!labels) throw new RangeError('fitLogisticRegression needs labelled rows');
  const N = batch.size;
  if (N === 0) throw new RangeError('fitLogisticRegression needs at least one row');
  const l2 = options.l2 ?? 1e-6;
  const tol = options.tolerance ?? 1e-8;
  const maxIter = options.maxIterations ?? 500;
  const m = options.memory ?? 10;

  // Compact the touched coordinates to 0..D-1; parameter D is the bias.
  const compact = new Int32Array(wideSize).fill(-1);
  const touched: number[] = [];
  const ids = new Int32Array(batch.wideIds.length);
  for (let k = 0; k < ids.length; k++) {
    const id = batch.wideIds[k]!;
    if (compact[id] === -1) {
      compact[id] = touched.length;
      touched.push(id);
    }
    ids[k] = compact[id]!;
  }
  const D = touched.length;
  const P = D + 1;
  const { wideOffsets: offsets, wideValues: values } = batch;
  const z = new Float64Array(N);

  // f and ∇f at x (x[D] is the bias).
  const evaluate = (x: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    const b = x[D]!;
    for (let i = 0; i < N; i++) {
      let s = b;
      for (let k = offsets[i]!; k < offsets[i + 1]!; k++) s += x[ids[k]!]! * values[k]!;
      z[i] = s;
      const y = labels[i]!;
      loss += logLoss(s, y);
      const g = 1 / (1 + Math.exp(-s)) - y;
      for (let k = offsets[i]!; k < offsets[i + 1]!; k++) grad[ids[k]!] = grad[ids[k]!]! + g * values[k]!;
      grad[D] = grad[D]! + g;
    }
    let penalty = 0;
    for (let j = 0; j < P; j++) grad[j] = grad[j]! / N;
    for (let j = 0; j < D; j++) {
      penalty += x[j]! * x[j]!;
      grad[j] = grad[j]! + l2 * x[j]!;
    }
    return loss / N + 0.5 * l2 * penalty;
  };

  const x = new Float64Array(P);
  const g = new Float64Array(P);
  let f = evaluate(x, g);
  const history = [f];
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const dir = new Float64Array(P);
  const xNew = new Float64Array(P);
  const gNew = new Float64Array(P);
  const alphaBuf = new Float64Array(m);
  let lastChange = Number.POSITIVE_INFINITY;
  let iterations = 0;
  let converged = false;
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let j = 0; j < P; j++) s += a[j]! * b[j]!;
    return s;
  };

  for (let it = 0; it < maxIter; it++) {
    // Two-loop recursion: dir = −H·g.
    for (let j = 0; j < P; j++) dir[j] = -g[j]!;
    for (let k = S.length - 1; k >= 0; k--) {
      const a = rho[k]! * dot(S[k]!, dir);
      alphaBuf[k] = a;
      const y = Y[k]!;
      for (let j = 0; j < P; j++) dir[j] = dir[j]! - a * y[j]!;
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = dot(S[last]!, Y[last]!) / dot(Y[last]!, Y[last]!);
      for (let j = 0; j < P; j++) dir[j] = dir[j]! * gamma;
    }
    for (let k = 0; k < S.length; k++) {
      const beta = rho[k]! * dot(Y[k]!, dir);
      const s = S[k]!;
      const a = alphaBuf[k]!;
      for (let j = 0; j < P; j++) dir[j] = dir[j]! + (a - beta) * s[j]!;
    }
    let slope = dot(g, dir);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      for (let j = 0; j < P; j++) dir[j] = -g[j]!;
      slope = dot(g, dir);
    }
    // Backtracking (Armijo) line search; the first step is 1 once there is curvature history.
    let step = S.length === 0 ? 1 / Math.max(1, Math.sqrt(-slope)) : 1;
    let fNew = Number.POSITIVE_INFINITY;
    for (let ls = 0; ls < 40; ls++) {
      for (let j = 0; j < P; j++) xNew[j] = x[j]! + step * dir[j]!;
      fNew = evaluate(xNew, gNew);
      if (fNew <= f + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    iterations = it + 1;
    if (!(fNew < f)) {
      lastChange = 0;
      converged = true;
      break;
    }
    const s = new Float64Array(P);
    const y = new Float64Array(P);
    for (let j = 0; j < P; j++) {
      s[j] = xNew[j]! - x[j]!;
      y[j] = gNew[j]! - g[j]!;
    }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    lastChange = f - fNew;
    x.set(xNew);
    g.set(gNew);
    f = fNew;
    history.push(f);
    options.onIteration?.(iterations, f, lastChange);
    let gMax = 0;
    for (let j = 0; j < P; j++) gMax = Math.max(gMax, Math.abs(g[j]!));
    if (lastChange < tol || gMax < 1e-9) {
      converged = true;
      break;
    }
  }

  const weights = new Float64Array(wideSize);
  for (let c = 0; c < D; c++) weights[touched[c]!] = x[c]!;
  // z holds the logits of the last evaluate(), which may be a rejected line-search point: recompute.
  let trainLoss = 0;
  for (let i = 0; i < N; i++) {
    let s = x[D]!;
    for (let k = offsets[i]!; k < offsets[i + 1]!; k++) s += x[ids[k]!]! * values[k]!;
    trainLoss += logLoss(s, labels[i]!);
  }
  let gradientMaxNorm = 0;
  for (let j = 0; j < P; j++) gradientMaxNorm = Math.max(gradientMaxNorm, Math.abs(g[j]!));
  return {
    weights,
    bias: x[D]!,
    l2,
    iterations,
    objective: f,
    trainLoss: trainLoss / N,
    lastChange,
    gradientMaxNorm,
    converged,
    history,
  };
}

/** Probabilities of the fitted regression for a batch encoded by the same transforms. */
export function predictLogisticRegression(fit: Pick<LogisticRegressionFit, 'weights' | 'bias'>, batch: EncodedBatch): Float64Array {
  const out = new Float64Array(batch.size);
  const { wideOffsets: offsets, wideIds: ids, wideValues: values } = batch;
  for (let i = 0; i < batch.size; i++) {
    let s = fit.bias;
    for (let k = offsets[i]!; k < offsets[i + 1]!; k++) s += (fit.weights[ids[k]!] ?? 0) * values[k]!;
    out[i] = 1 / (1 + Math.exp(-s));
  }
  return out;
}
