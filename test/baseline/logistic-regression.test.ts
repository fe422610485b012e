import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitLogisticRegression, ftrlEquivalentL2, predictLogisticRegression } from '../../src/baseline/logistic-regression.ts';
import type { EncodedBatch } from '../../src/features/encoded-batch.ts';
import { Rng } from '../../src/util/random.ts';

/** N rows over `dims` coordinates (of a table of `size`), each row 1–3 active with value 1 or 0.5. */
function problem(n: number, dims: number, size: number, seed: number): { batch: EncodedBatch; truth: number[] } {
  const rng = new Rng(seed);
  const truth = Array.from({ length: dims }, () => rng.normal());
  const offsets = new Int32Array(n + 1);
  const ids: number[] = [];
  const values: number[] = [];
  const labels = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const k = 1 + rng.int(3);
    let z = -0.3;
    const used = new Set<number>();
    for (let j = 0; j < k; j++) {
      const d = rng.int(dims);
      if (used.has(d)) continue;
      used.add(d);
      const v = rng.next() < 0.5 ? 1 : 0.5;
      ids.push(d * 7); // spread over a bigger table: untouched coordinates stay 0
      values.push(v);
      z += truth[d]! * v;
    }
    offsets[i + 1] = ids.length;
    labels[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  assert.ok(dims * 7 <= size);
  return {
    batch: {
      size: n,
      labels,
      wideOffsets: offsets,
      wideIds: Int32Array.from(ids),
      wideValues: Float32Array.from(values),
      embeddingInputs: [],
      numeric: new Float32Array(0),
    },
    truth,
  };
}

/** Newton's method on the same objective, dense (a few coordinates only): the reference optimum. */
function newton(batch: EncodedBatch, size: number, l2: number): { w: Float64Array; b: number } {
  const P = size + 1;
  const x = new Float64Array(P);
  for (let it = 0; it < 50; it++) {
    const g = new Float64Array(P);
    const H = Array.from({ length: P }, () => new Float64Array(P));
    for (let i = 0; i < batch.size; i++) {
      const cols: [number, number][] = [[size, 1]];
      for (let k = batch.wideOffsets[i]!; k < batch.wideOffsets[i + 1]!; k++) cols.push([batch.wideIds[k]!, batch.wideValues[k]!]);
      let z = 0;
      for (const [c, v] of cols) z += x[c]! * v;
      const p = 1 / (1 + Math.exp(-z));
      for (const [c, v] of cols) {
        g[c] = g[c]! + ((p - batch.labels![i]!) * v) / batch.size;
        for (const [c2, v2] of cols) H[c]![c2] = H[c]![c2]! + (p * (1 - p) * v * v2) / batch.size;
      }
    }
    for (let j = 0; j < size; j++) {
      g[j] = g[j]! + l2 * x[j]!;
      H[j]![j] = H[j]![j]! + l2;
    }
    // Solve H·d = g by Gaussian elimination (H is positive definite here).
    const A = H.map((r, i) => [...r, g[i]!]);
    for (let c = 0; c < P; c++) {
      for (let r = c + 1; r < P; r++) {
        const f = A[r]![c]! / A[c]![c]!;
        for (let k = c; k <= P; k++) A[r]![k] = A[r]![k]! - f * A[c]![k]!;
      }
    }
    const d = new Float64Array(P);
    for (let r = P - 1; r >= 0; r--) {
      let s = A[r]![P]!;
      for (let k = r + 1; k < P; k++) s -= A[r]![k]! * d[k]!;
      d[r] = s / A[r]![r]!;
    }
    for (let j = 0; j < P; j++) x[j] = x[j]! - d[j]!;
  }
  return { w: x.subarray(0, size), b: x[size]! };
}

test('L-BFGS reaches the optimum Newton finds, and shows it converged', () => {
  const size = 8 * 7;
  const { batch } = problem(3000, 8, size, 3);
  const l2 = 1e-3;
  const fit = fitLogisticRegression(batch, size, { l2 });
  assert.ok(fit.converged);
  assert.ok(fit.lastChange < 1e-4, `last change ${fit.lastChange}`);
  assert.ok(fit.gradientMaxNorm < 1e-5, `gradient ${fit.gradientMaxNorm}`);
  const ref = newton(batch, size, l2);
  for (let j = 0; j < size; j++) assert.ok(Math.abs(fit.weights[j]! - ref.w[j]!) < 1e-3, `w[${j}] ${fit.weights[j]} vs ${ref.w[j]}`);
  assert.ok(Math.abs(fit.bias - ref.b) < 1e-3);
  // coordinates no row touches stay exactly 0
  for (let j = 0; j < size; j++) if (j % 7 !== 0) assert.equal(fit.weights[j], 0);
  // history only goes down
  for (let k = 1; k < fit.history.length; k++) assert.ok(fit.history[k]! <= fit.history[k - 1]!);
});

test('sparse rows over a large table: converged, and predicts better than the base rate', () => {
  const size = 2000 * 7;
  const { batch } = problem(20_000, 2000, size, 5);
  const fit = fitLogisticRegression(batch, size, { l2: 1e-4 });
  assert.ok(fit.converged && fit.lastChange < 1e-4);
  const p = predictLogisticRegression(fit, batch);
  let ll = 0;
  let base = 0;
  let pos = 0;
  for (let i = 0; i < batch.size; i++) pos += batch.labels![i]!;
  const rate = pos / batch.size;
  for (let i = 0; i < batch.size; i++) {
    const y = batch.labels![i]!;
    ll -= y * Math.log(p[i]!) + (1 - y) * Math.log(1 - p[i]!);
    base -= y * Math.log(rate) + (1 - y) * Math.log(1 - rate);
  }
  assert.ok(Math.abs(ll / batch.size - fit.trainLoss) < 1e-6);
  assert.ok(ll < base * 0.9, `loss ${ll / batch.size} vs base rate ${base / batch.size}`);
});

test('FTRL l2 in mean-loss units: l2 · batch / (epochs · rows)', () => {
  assert.equal(ftrlEquivalentL2(0.001, 32_000, 10, 64), (0.001 * 64) / (10 * 32_000));
  assert.throws(() => fitLogisticRegression({ ...problem(10, 2, 14, 1).batch, labels: undefined as never }, 14), /needs labelled rows/);
});

test('onIteration is told each accepted iteration: 1, 2, … with the objective history records and its change', () => {
  const { batch } = problem(2000, 40, 400, 5);
  const seen: { iteration: number; objective: number; change: number }[] = [];
  const fit = fitLogisticRegression(batch, 400, {
    l2: 1e-3,
    onIteration: (iteration, objective, change) => seen.push({ iteration, objective, change }),
  });
  assert.deepEqual(
    seen.map((s) => s.iteration),
    Array.from({ length: seen.length }, (_, i) => i + 1),
  );
  assert.deepEqual(
    seen.map((s) => s.objective),
    fit.history.slice(1),
  );
  for (const [i, s] of seen.entries()) assert.equal(s.change, fit.history[i]! - s.objective);
  assert.equal(seen.at(-1)?.change, fit.lastChange);
});
