import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ftrl } from '../../../src/model/sparse/ftrl.ts';
import { createTable } from '../../../src/model/sparse/sparse-table.ts';
import { sparseOptimizerContract } from './contract.ts';

sparseOptimizerContract('ftrl', () => new Ftrl({ alpha: 0.1, beta: 1, l1: 0, l2: 0 }));

test('ftrl: one step matches the hand-derived value', () => {
  // n = 0.25, σ = (√0.25 − 0)/0.1 = 5, z = 0.5 − 5·0 = 0.5,
  // w = −z / ((β + √n)/α + l2) = −0.5 / ((1 + 0.5)/0.1) = −1/30
  const opt = new Ftrl({ alpha: 0.1, beta: 1, l1: 0, l2: 0 });
  const t = createTable(1, 1, opt);
  opt.apply(t, Int32Array.of(0), 1, Float64Array.of(0.5));
  assert.ok(Math.abs(t.weights[0]! - -1 / 30) < 1e-7);
  assert.equal(t.slots['z']![0], 0.5);
  assert.equal(t.slots['n']![0], 0.25);
  // Second step g = 0.5: n = 0.5, σ = (√0.5 − 0.5)/0.1 = 2.0710678, z = 0.5 + 0.5 − σ·(−1/30) = 1.0690356,
  // w = −1.0690356 / ((1 + √0.5)/0.1) = −1.0690356 / 17.0710678 = −0.0626227
  opt.apply(t, Int32Array.of(0), 1, Float64Array.of(0.5));
  assert.ok(Math.abs(t.weights[0]! - -0.0626227) < 1e-6, `${t.weights[0]}`);
});

test('ftrl: L1 keeps small accumulated gradients at exactly zero', () => {
  // |z| = 0.5 ≤ l1 = 1 → w = 0 exactly; a larger gradient crosses the threshold.
  const opt = new Ftrl({ alpha: 0.1, beta: 1, l1: 1, l2: 0 });
  const t = createTable(2, 1, opt);
  opt.apply(t, Int32Array.of(0, 1), 2, Float64Array.of(0.5, 3));
  assert.equal(t.weights[0], 0);
  // z = 3, n = 9: w = −(3 − 1)/((1 + 3)/0.1) = −0.05
  assert.ok(Math.abs(t.weights[1]! - -0.05) < 1e-7);
});

test('ftrl: L2 shrinks the weight', () => {
  const plain = new Ftrl({ alpha: 0.1, beta: 1, l1: 0, l2: 0 });
  const ridge = new Ftrl({ alpha: 0.1, beta: 1, l1: 0, l2: 10 });
  const a = createTable(1, 1, plain);
  const b = createTable(1, 1, ridge);
  plain.apply(a, Int32Array.of(0), 1, Float64Array.of(0.5));
  ridge.apply(b, Int32Array.of(0), 1, Float64Array.of(0.5));
  // −0.5 / (15 + 10) = −0.02
  assert.ok(Math.abs(b.weights[0]! - -0.02) < 1e-7);
  assert.ok(Math.abs(b.weights[0]!) < Math.abs(a.weights[0]!));
});
