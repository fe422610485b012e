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
