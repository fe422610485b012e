import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReferenceTower } from './reference.ts';
import { assertClose, makeBatch } from './contract.ts';
import type { TowerOptions } from '../../../src/model/tower/tower.ts';

// The reference is the spec the backends are tested against, so it is itself checked
// against finite differences of the loss rather than against another implementation.
const shape = { inputDim: 5, hiddenUnits: [4, 3] };
// initialAccumulator 0 makes the first AdaGrad step recoverable: acc' = g², so |g| = √acc'.
const opts: TowerOptions = { shape, adagrad: { learningRate: 0.01, initialAccumulator: 0, epsilon: 1e-7 }, seed: 4 };
const B = 6;
const batch = makeBatch(shape, B, 12);

async function loss(tower: ReferenceTower, x: Float32Array): Promise<number> {
  const logits = await tower.forward(x, B);
  let s = 0;
  for (let i = 0; i < B; i++) {
    const t = batch.offset[i]! + logits[i]!;
    // logloss(sigmoid(t), y) = softplus(t) − y·t
    s += Math.log1p(Math.exp(t)) - batch.labels[i]! * t;
  }
  return s / B;
}

test('reference dx equals the finite-difference gradient of the mean joint logloss', async () => {
  const probe = new ReferenceTower(opts);
  const { dx } = await new ReferenceTower(opts).trainStep(batch);
  const numeric = new Float32Array(dx.length);
  const h = 1e-2; // ReLU nets are piecewise linear; central differences only see sigmoid curvature (O(h²)).
  for (let i = 0; i < dx.length; i++) {
    const plus = batch.x.slice();
    plus[i]! += h;
    const minus = batch.x.slice();
    minus[i]! -= h;
    numeric[i] = ((await loss(probe, plus)) - (await loss(probe, minus))) / (2 * h);
  }
  assertClose(dx, numeric, 2e-2, 2e-5, 'dx');
});

test('first AdaGrad step with acc₀ = 0 moves every weight by lr·sign(g) against the gradient', async () => {
  const tower = new ReferenceTower(opts);
  const before = tower.getState().tensors;
  const { logits } = await tower.trainStep(batch);
  const after = tower.getState().tensors;
  // Hand-derived: acc' = g², w' = w − lr·g/(|g| + ε) = w − lr·sign(g) wherever |g| ≫ ε.
  // The bias of the logit layer sees g_b = Σ_i (σ(offset_i + logit_i) − y_i) / B.
  let gb = 0;
  for (let i = 0; i < B; i++) gb += (1 / (1 + Math.exp(-(batch.offset[i]! + logits[i]!))) - batch.labels[i]!) / B;
  assert.ok(Math.abs(Math.sqrt(after['acc_b2']![0]!) - Math.abs(gb)) < 1e-6, `|g_b2| = ${Math.abs(gb)}`);
  assert.ok(Math.abs(after['b2']![0]! - (before['b2']![0]! - 0.01 * Math.sign(gb))) < 1e-6);
  for (const name of ['W0', 'W1', 'W2']) {
    const acc = after[`acc_${name}`]!;
    for (let i = 0; i < acc.length; i++) {
      if (acc[i]! < 1e-12) continue; // dead unit: no gradient, no move
      assert.ok(Math.abs(Math.abs(after[name]![i]! - before[name]![i]!) - 0.01) < 1e-6, `${name}[${i}]`);
    }
  }
});

test('reference weight gradients equal finite differences of the loss', async () => {
  const tower = new ReferenceTower(opts);
  const w0 = tower.getState();
  await tower.trainStep(batch);
  const after = tower.getState().tensors;
  const h = 1e-2;
  let checked = 0;
  for (const name of ['W0', 'b1', 'W2']) {
    const w = w0.tensors[name]!;
    for (let i = 0; i < w.length; i++) {
      // Gradient recovered from the step: |g| = √acc', its sign is against the move.
      const g = -Math.sign(after[name]![i]! - w[i]!) * Math.sqrt(after[`acc_${name}`]![i]!);
      const probe = (d: number): Promise<number> => {
        const t = new ReferenceTower(opts);
        const s = { shape, tensors: { ...w0.tensors, [name]: w.slice() } };
        s.tensors[name]![i]! += d;
        t.setState(s);
        return loss(t, batch.x);
      };
      const [up, mid, down] = [await probe(h), await probe(0), await probe(-h)];
      // Skip entries where ±h crosses a ReLU kink: the one-sided slopes then disagree.
      if (Math.abs(up - mid - (mid - down)) / h > 1e-3) continue;
      const numeric = (up - down) / (2 * h);
      checked++;
      assert.ok(Math.abs(g - numeric) <= 2e-2 * Math.abs(numeric) + 2e-5, `${name}[${i}]: ${g} vs ${numeric}`);
    }
  }
  assert.ok(checked >= 20, `only ${checked} entries away from kinks`);
});
