import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SparseAdagrad } from '../../../src/model/sparse/adagrad.ts';
import { createTable } from '../../../src/model/sparse/sparse-table.ts';
import { sparseOptimizerContract } from './contract.ts';

sparseOptimizerContract('adagrad', () => new SparseAdagrad({ learningRate: 0.1, initialAccumulator: 0.1, epsilon: 1e-7 }));

test('adagrad: one step matches the hand-derived value', () => {
  // acc = 0.1 + 0.3² = 0.19; w = 0 − 0.1·0.3/√0.19 = −0.0688247
  const opt = new SparseAdagrad({ learningRate: 0.1, initialAccumulator: 0.1, epsilon: 0 });
  const t = createTable(1, 1, opt);
  opt.apply(t, Int32Array.of(0), 1, Float64Array.of(0.3));
  assert.ok(Math.abs(t.slots['acc']![0]! - 0.19) < 1e-7);
  assert.ok(Math.abs(t.weights[0]! - -0.0688247) < 1e-6);
});

sparseOptimizerContract(
  'adagrad with embedding L2',
  () => new SparseAdagrad({ learningRate: 0.1, initialAccumulator: 0.1, epsilon: 1e-7 }, 0.05),
);

test('lazy L2: a row touched at steps 1 and 5 equals the proximal formula applied step by step at those steps, and nothing else moves', () => {
  const settings = { learningRate: 0.2, initialAccumulator: 0.1, epsilon: 1e-7 };
  const l2 = 0.3;
  const opt = new SparseAdagrad(settings, l2);
  const rows = 1000;
  const dim = 3;
  const t = createTable(rows, dim, opt, (w) => {
    for (let i = 0; i < w.length; i++) w[i] = Math.sin(i + 1);
  });
  const initial = t.weights.slice();
  // Row 7 is touched at steps 1 and 5 only; row 3 at every step; the other 998 never.
  const g7 = new Map([
    [1, [0.4, -0.2, 0.1]],
    [5, [-0.3, 0.25, 0]],
  ]);
  const g3 = (step: number) => [0.1 * step, -0.05, 0.02 * step];
  // Dense float64 reference: at each step, for every row, the proximal AdaGrad step where the
  // row has a gradient (TF's SparseApplyProximalAdagrad semantics, l1 = 0):
  //   acc += g²; η = lr/(√acc + ε); w ← (w − η·g)/(1 + η·λ)
  const ref = Float64Array.from(initial);
  const refAcc = new Float64Array(rows * dim).fill(settings.initialAccumulator);
  const row7AfterStep: Float32Array[] = [];
  for (let step = 1; step <= 6; step++) {
    const batch = new Map<number, number[]>([[3, g3(step)]]);
    if (g7.has(step)) batch.set(7, g7.get(step)!);
    for (let r = 0; r < rows; r++) {
      const g = batch.get(r);
      if (!g) continue;
      for (let j = 0; j < dim; j++) {
        const i = r * dim + j;
        refAcc[i]! += g[j]! ** 2;
        const eta = settings.learningRate / (Math.sqrt(refAcc[i]!) + settings.epsilon);
        ref[i] = (ref[i]! - eta * g[j]!) / (1 + eta * l2);
      }
    }
    // The sparse update: only the batch's rows, in the accumulator's layout.
    const ids = Int32Array.from(batch.keys());
    const grads = Float64Array.from([...batch.values()].flat());
    opt.apply(t, ids, ids.length, grads);
    row7AfterStep.push(t.weights.slice(7 * dim, 8 * dim));
  }
  for (const r of [3, 7]) {
    for (let j = 0; j < dim; j++) {
      const i = r * dim + j;
      assert.ok(Math.abs(t.weights[i]! - ref[i]!) < 1e-6, `row ${r}[${j}]: ${t.weights[i]} vs dense ${ref[i]}`);
      assert.ok(Math.abs(t.slots['acc']![i]! - refAcc[i]!) < 1e-6, `row ${r}[${j}] accumulator`);
    }
  }
  // Between its touches (steps 2–4) and after the last (step 6) row 7 is not decayed.
  assert.deepEqual(row7AfterStep[1], row7AfterStep[0]);
  assert.deepEqual(row7AfterStep[3], row7AfterStep[0]);
  assert.deepEqual(row7AfterStep[5], row7AfterStep[4]);
  assert.notDeepEqual(row7AfterStep[4], row7AfterStep[0]);
  // The step's cost is the touched rows': every other row is bit for bit its initial value.
  for (let r = 0; r < rows; r++) {
    if (r === 3 || r === 7) continue;
    for (let j = 0; j < dim; j++) assert.equal(t.weights[r * dim + j], initial[r * dim + j]);
  }
});

test('lazy L2: λ = 0 is plain AdaGrad bit for bit; λ > 0 pulls a touched row towards 0', () => {
  const settings = { learningRate: 0.1, initialAccumulator: 0.1, epsilon: 1e-7 };
  const init = (w: Float32Array) => w.set([0.8, -0.6]);
  const plain = createTable(1, 2, new SparseAdagrad(settings), init);
  const zero = createTable(1, 2, new SparseAdagrad(settings, 0), init);
  const decayed = createTable(1, 2, new SparseAdagrad(settings, 1), init);
  for (const [t, o] of [
    [plain, new SparseAdagrad(settings)],
    [zero, new SparseAdagrad(settings, 0)],
    [decayed, new SparseAdagrad(settings, 1)],
  ] as const) {
    for (let s = 0; s < 3; s++) o.apply(t, Int32Array.of(0), 1, Float64Array.of(0.01, 0.01));
  }
  assert.deepEqual(zero.weights, plain.weights);
  assert.ok(Math.abs(decayed.weights[0]!) < Math.abs(plain.weights[0]!) && Math.abs(decayed.weights[1]!) < Math.abs(plain.weights[1]!));
});
