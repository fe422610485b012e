/**
 * `wide.init: "logistic-regression"`: start the wide part (and the bias) at the converged L2
 * logistic regression on the same wide features, then train wide & deep jointly as usual.
 *
 * Why: on small data FTRL stops short of the regression's optimum (README, "Wide part
 * convergence"); on the Avazu 10k sample wide & deep trailed the regression by 0.0022 test AUC.
 * Started at the regression's weights it trailed by 0.0007–0.0010 (5 folds); Adult did not move
 * and Criteo lost 0.002, so the start is an option `wdp tune` chooses on validation.
 *
 * FTRL keeps no weight of its own: the weight is a closed form of its slots z and n
 * (src/model/sparse/ftrl.ts), w = −(z − sign(z)·l1) / ((β + √n)/α + l2) when |z| > l1, else 0.
 * So the start sets n first, then z by inverting that form:
 *   z = −w·((β + √n)/α + l2) − sign(w)·l1   (z = 0 where w = 0),
 * and the weight FTRL computes from the slots is the regression's. n matters as much as z: with
 * n = 0 the per-coordinate step α/(β + √n) is at its largest and the first batches carry the
 * weights away from the optimum (measured: all of the gain lost), so n starts as if FTRL had been
 * sitting at the optimum for a long while (WIDE_INIT_N_SCALE).
 *
 * One implementation for `wdp train` (rows collected in a pass over the files) and for the
 * in-memory trainers (`wdp tune`, `bench quality`): fitWideStart + applyWideStart.
 */
import { fitLogisticRegression, type LogisticRegressionFit } from '../baseline/logistic-regression.ts';
import { type FtrlSettings, type WdpConfig, wideInitOf } from '../config/index.ts';
import { takeRows } from '../features/batch-ops.ts';
import type { EncodedBatch } from '../features/encoded-batch.ts';
import type { SparseTable } from '../model/sparse/sparse-table.ts';
import { freshState, hasWide, type WideDeepSpec, type WideDeepState } from '../model/wide-deep.ts';
import { hash32, Rng } from '../util/random.ts';
import { batchBounds } from './batch-bounds.ts';

/**
 * FTRL's accumulators n start at this many epochs' worth of squared batch-mean gradients at the
 * regression's solution. Measured on the Avazu sample (5 folds, W&D validation AUC; README,
 * "Model quality on public data"): ×100 kept the whole gain of the start, and so did ×10, ×1000
 * and ×1e5; ×1 lost a third of it and n = 0 all of it. Large n makes FTRL's first steps small,
 * so the joint training refines the regression's weights instead of undoing them while the tower
 * is still random; the gradients near the optimum are small, so n stays small in absolute terms
 * and FTRL still moves the weights the tower's contribution asks for.
 */
export const WIDE_INIT_N_SCALE = 100;

/** What the start needs: the fitted regression and FTRL's accumulators for it. */
export interface WideStart {
  readonly fit: LogisticRegressionFit;
  /**
   * Float64Array [wide size]: per coordinate, the sum over one epoch's batches of the squared
   * batch-mean gradient at the fit, scaled to an epoch of `epochRows` rows, × `nScale`.
   */
  readonly n: Float64Array;
  /** The same for the bias. */
  readonly biasN: number;
  /** Rows the regression was fitted on. */
  readonly rows: number;
  /** Rows an epoch of the real training takes (≥ rows when the fit used a sample). */
  readonly epochRows: number;
  readonly nScale: number;
}

/** How the wide part started, as the manifest's `training.wideInit` and the tuning log record it. */
export interface WideInitRecord {
  readonly from: 'logistic-regression';
  /** Rows the regression was fitted on, of `epochRows` training rows. */
  readonly rows: number;
  readonly epochRows: number;
  readonly l2: number;
  /** The regression's mean training loss (no penalty) and L-BFGS's iterations and convergence. */
  readonly trainLoss: number;
  readonly iterations: number;
  readonly converged: boolean;
  readonly nScale: number;
  /** The regression's AUC on the validation rows, when there are some. */
  readonly validationAuc?: number;
}

export interface FitWideStartOptions {
  /** The regression's L2 on its mean loss (wide.init.l2). */
  readonly l2: number;
  /** The training's batch size: n sums squared batch-mean gradients, as FTRL's does. */
  readonly batchSize: number;
  /** Seeds the batches' row order for n. */
  readonly seed: number;
  /** Rows one training epoch takes. @default rows.size */
  readonly epochRows?: number;
  /** @default WIDE_INIT_N_SCALE */
  readonly nScale?: number;
  /** Told after each L-BFGS iteration (LogisticRegressionOptions.onIteration). */
  readonly onIteration?: (iteration: number, objective: number, change: number) => void;
}

/**
 * A seeded uniform sample of at most `maxRows` of `total` rows, decided row by row (so a pass
 * over files can take it without holding them): each row is kept with probability
 * maxRows/total, stopping at maxRows. Every row is kept when total ≤ maxRows.
 * @example const keep = rowSampler(10_000, 1_000, 42); rows.filter(() => keep())
 */
export function rowSampler(total: number, maxRows: number, seed: number): () => boolean {
  if (total <= maxRows) return () => true;
  const p = maxRows / total;
  const rng = new Rng(hash32(seed ^ 0x1a71)); // its own stream: the training's shuffle keeps its own
  let kept = 0;
  return () => {
    if (kept >= maxRows || rng.next() >= p) return false;
    kept++;
    return true;
  };
}

/** The rows `rowSampler` keeps of an in-memory batch, wide ids and labels only (what the regression reads). */
export function sampleWideRows(rows: EncodedBatch, maxRows: number, seed: number): EncodedBatch {
  const keep = rowSampler(rows.size, maxRows, seed);
  if (rows.size <= maxRows) return wideOnly(rows);
  const picked: number[] = [];
  for (let r = 0; r < rows.size; r++) if (keep()) picked.push(r);
  return wideOnly(rows, Int32Array.from(picked));
}

/**
 * The wide ids, values and labels of `rows` (or of the picked rows), without the deep inputs:
 * ~ rows × wide features × 8 bytes (an id and a value each) plus 8 bytes a row.
 */
export function wideOnly(rows: EncodedBatch, pick?: Int32Array): EncodedBatch {
  if (!rows.labels) throw new RangeError('the wide start needs labelled rows');
  const wide: EncodedBatch = {
    size: rows.size,
    labels: rows.labels,
    wideOffsets: rows.wideOffsets,
    wideIds: rows.wideIds,
    wideValues: rows.wideValues,
    embeddingInputs: [],
    numeric: new Float32Array(0),
  };
  return pick ? takeRows([wide], { batch: new Int32Array(pick.length), row: pick }) : wide;
}

/**
 * Fits the regression on `rows` (wide ids + labels) and computes FTRL's accumulators for it.
 * @param wideSize the model's wide table size (WideLayout.size)
 */
export function fitWideStart(rows: EncodedBatch, wideSize: number, options: FitWideStartOptions): WideStart {
  const fit = fitLogisticRegression(rows, wideSize, {
    l2: options.l2,
    ...(options.onIteration ? { onIteration: options.onIteration } : {}),
  });
  const nScale = options.nScale ?? WIDE_INIT_N_SCALE;
  const epochRows = Math.max(rows.size, options.epochRows ?? rows.size);
  const { n, biasN } = squaredGradientSums(fit, rows, wideSize, options.batchSize, options.seed);
  // A sample has fewer batches than an epoch: scale its sums to the epoch's.
  const scale = (nScale * epochRows) / rows.size;
  for (let i = 0; i < n.length; i++) n[i] = n[i]! * scale;
  return { fit, n, biasN: biasN * scale, rows: rows.size, epochRows, nScale };
}

/**
 * Per coordinate, Σ over one epoch's batches (seeded order, batchBounds as training cuts them) of
 * the squared batch-mean gradient at the fit: what FTRL's n adds up in an epoch spent at the
 * optimum. Float64Array [wideSize].
 */
export function squaredGradientSums(
  fit: Pick<LogisticRegressionFit, 'weights' | 'bias'>,
  rows: EncodedBatch,
  wideSize: number,
  batchSize: number,
  seed: number,
): { n: Float64Array; biasN: number } {
  const labels = rows.labels!;
  const order = new Int32Array(rows.size);
  for (let i = 0; i < order.length; i++) order[i] = i;
  new Rng(hash32(seed ^ hash32(1))).shuffle(order);
  const n = new Float64Array(wideSize);
  const acc = new Float64Array(wideSize);
  const seen = new Uint8Array(wideSize);
  const touched: number[] = [];
  let biasN = 0;
  const { wideOffsets: off, wideIds: ids, wideValues: val } = rows;
  for (const { start, end } of batchBounds(rows.size, batchSize)) {
    const size = end - start;
    let biasGrad = 0;
    for (let p = start; p < end; p++) {
      const r = order[p]!;
      let s = fit.bias;
      for (let k = off[r]!; k < off[r + 1]!; k++) s += fit.weights[ids[k]!]! * val[k]!;
      const g = (1 / (1 + Math.exp(-s)) - labels[r]!) / size;
      biasGrad += g;
      for (let k = off[r]!; k < off[r + 1]!; k++) {
        const id = ids[k]!;
        if (!seen[id]) {
          seen[id] = 1;
          touched.push(id);
        }
        acc[id] = acc[id]! + g * val[k]!;
      }
    }
    for (const id of touched) {
      n[id] = n[id]! + acc[id]! * acc[id]!;
      acc[id] = 0;
      seen[id] = 0;
    }
    touched.length = 0;
    biasN += biasGrad * biasGrad;
  }
  return { n, biasN };
}

/**
 * Sets coordinate i of an FTRL table so that FTRL's closed form gives weight `w` with
 * accumulator `n` (see the module comment). n is stored first and read back, so z is computed
 * from the float32 n FTRL will read.
 */
export function setFtrlCoordinate(table: SparseTable, i: number, w: number, n: number, ftrl: FtrlSettings): void {
  const ns = table.slots['n'];
  const zs = table.slots['z'];
  if (!ns || !zs) throw new RangeError('setFtrlCoordinate needs an FTRL table (slots z and n)');
  ns[i] = n;
  table.weights[i] = w;
  const d = (ftrl.beta + Math.sqrt(ns[i]!)) / ftrl.alpha + ftrl.l2;
  zs[i] = w === 0 ? 0 : -w * d - Math.sign(w) * ftrl.l1;
}

/**
 * The model's initial state with the wide part and the bias at the regression's solution
 * (embeddings and tower fresh, from `state` or freshState(spec)). The bias has its own FTRL
 * without L1/L2 (WideDeepModel), so it is inverted with l1 = l2 = 0.
 */
export function applyWideStart(spec: WideDeepSpec, start: WideStart, state: WideDeepState = freshState(spec)): WideDeepState {
  const wide = state.wide;
  if (!wide) throw new RangeError(`a ${spec.kind} model has no wide part to start from a logistic regression`);
  if (wide.rows !== start.fit.weights.length)
    throw new RangeError(`the regression has ${start.fit.weights.length} wide weights, the model ${wide.rows}`);
  for (let i = 0; i < wide.rows; i++) setFtrlCoordinate(wide, i, start.fit.weights[i]!, start.n[i]!, spec.ftrl);
  setFtrlCoordinate(state.bias, 0, start.fit.bias, start.biasN, { ...spec.ftrl, l1: 0, l2: 0 });
  return state;
}

/** The record of a start, for the manifest and the logs. */
export function wideInitRecord(start: WideStart, validationAuc?: number): WideInitRecord {
  return {
    from: 'logistic-regression',
    rows: start.rows,
    epochRows: start.epochRows,
    l2: start.fit.l2,
    trainLoss: Number(start.fit.trainLoss.toPrecision(6)),
    iterations: start.fit.iterations,
    converged: start.fit.converged,
    nScale: start.nScale,
    ...(validationAuc !== undefined ? { validationAuc: Number(validationAuc.toPrecision(6)) } : {}),
  };
}

/** One log line for a start. */
export function describeWideStart(r: WideInitRecord): string {
  return `wide part starts from a logistic regression on ${r.rows}${r.rows < r.epochRows ? ` of ${r.epochRows}` : ''} rows (L2 ${r.l2}): train loss ${r.trainLoss}, ${r.iterations} L-BFGS iterations${r.converged ? '' : ' (not converged)'}${r.validationAuc !== undefined ? `, validation AUC ${r.validationAuc.toFixed(4)}` : ''}`;
}

/**
 * Starts computed for in-memory training (a tune's trials, a bench's refits) on the same rows:
 * the start depends on the rows, the L2, maxRows, the batch size and the seed only, not on the
 * trial's other settings, so trials share it. At most MAX_CACHED_STARTS entries (a search has one
 * key; a bench's refits one per refit seed).
 */
/** What WideStartCache.initialState tells while it fits a start. */
export interface WideStartEvents {
  readonly onFit?: (start: WideStart) => void;
  readonly onFitting?: (rows: number) => void;
  readonly onIteration?: (iteration: number, objective: number, change: number) => void;
}

/** How often a synchronous regression fit reports, at most (fitProgressLines). */
export const FIT_PROGRESS_LINE_MS = 5000;

/**
 * An `onIteration` for the regression's fit that prints a line at most every `everyMs`: the fit
 * is synchronous, so neither a progress bar nor a timer can show it is alive. Shared by `wdp
 * train` and `wdp tune`.
 */
export function fitProgressLines(
  print: (line: string) => void,
  everyMs = FIT_PROGRESS_LINE_MS,
): (iteration: number, objective: number, change: number) => void {
  let last = performance.now();
  return (iteration, objective, change) => {
    if (performance.now() - last < everyMs) return;
    last = performance.now();
    print(
      `  logistic regression: iteration ${iteration}, objective ${objective.toPrecision(6)} (last change ${change.toExponential(1)}, stops below 1e-8)`,
    );
  };
}

export class WideStartCache {
  static readonly MAX_CACHED_STARTS = 8;
  readonly #starts = new Map<string, WideStart>();
  readonly #rows: EncodedBatch;

  /** @param rows the training rows every start is fitted on (labelled) */
  constructor(rows: EncodedBatch) {
    this.#rows = rows;
  }

  /** Number of starts held. */
  get size(): number {
    return this.#starts.size;
  }

  /**
   * The initial state for `config`'s `wide.init` on this cache's rows, or undefined when the
   * config starts from zeros or the model has no wide part. `onFit` is called when a start is
   * fitted (not when it comes from the cache), `onFitting` just before, with the rows it fits on,
   * and `onIteration` after each of the fit's iterations: the fit is synchronous, so a progress
   * bar does not redraw meanwhile (fitProgressLines makes them lines every few seconds).
   */
  initialState(config: WdpConfig, spec: WideDeepSpec, on: WideStartEvents = {}): { state: WideDeepState; start: WideStart } | undefined {
    const { onFit, onFitting, onIteration } = on;
    const init = wideInitOf(config);
    if (!init || !hasWide(spec.kind)) return undefined;
    const key = `${init.l2}|${init.maxRows}|${config.training.batchSize}|${config.training.seed}`;
    let start = this.#starts.get(key);
    if (!start) {
      const rows = sampleWideRows(this.#rows, init.maxRows, config.training.seed);
      onFitting?.(rows.size);
      start = fitWideStart(rows, spec.wideLayout.size, {
        l2: init.l2,
        batchSize: config.training.batchSize,
        seed: config.training.seed,
        epochRows: this.#rows.size,
        ...(onIteration ? { onIteration } : {}),
      });
      if (this.#starts.size >= WideStartCache.MAX_CACHED_STARTS) this.#starts.delete(this.#starts.keys().next().value!);
      this.#starts.set(key, start);
      onFit?.(start);
    }
    return { state: applyWideStart(spec, start), start };
  }
}
