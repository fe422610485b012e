import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTable, GradientAccumulator, type SparseOptimizer } from '../../../src/model/sparse/sparse-table.ts';

/** Behaviour every SparseOptimizer must have; run by each implementation's test file. */
export function sparseOptimizerContract(name: string, make: () => SparseOptimizer): void {
  test(`${name}: untouched rows keep their weights and slots`, () => {
    const opt = make();
    const t = createTable(4, 3, opt, (w) => w.fill(0.5));
    const before = { w: t.weights.slice(), slots: Object.fromEntries(Object.entries(t.slots).map(([k, v]) => [k, v.slice()])) };
    opt.apply(t, Int32Array.of(2), 1, Float64Array.of(0.1, -0.2, 0.3));
    for (const r of [0, 1, 3]) {
      assert.deepEqual(Array.from(t.weights.subarray(r * 3, r * 3 + 3)), Array.from(before.w.subarray(r * 3, r * 3 + 3)));
      for (const [k, v] of Object.entries(t.slots)) {
        assert.deepEqual(Array.from(v.subarray(r * 3, r * 3 + 3)), Array.from(before.slots[k]!.subarray(r * 3, r * 3 + 3)));
      }
    }
    assert.notDeepEqual(Array.from(t.weights.subarray(6, 9)), [0.5, 0.5, 0.5]);
  });

  test(`${name}: steps move weights against the gradient and reduce a quadratic loss`, () => {
    // loss = ½ Σ (w − 1)², gradient w − 1; the minimum is at 1.
    const opt = make();
    const t = createTable(1, 2, opt);
    const lossOf = () => 0.5 * ((t.weights[0]! - 1) ** 2 + (t.weights[1]! - 1) ** 2);
    const first = lossOf();
    for (let s = 0; s < 200; s++) opt.apply(t, Int32Array.of(0), 1, Float64Array.of(t.weights[0]! - 1, t.weights[1]! - 1));
    assert.ok(lossOf() < first * 0.5, `loss ${lossOf()} should be well below ${first}`);
    assert.ok(t.weights[0]! > 0);
  });

  test(`${name}: slots are named and shaped like the weights`, () => {
    const opt = make();
    const t = createTable(5, 2, opt);
    assert.ok(Object.keys(opt.slotInit).length > 0);
    for (const v of Object.values(t.slots)) assert.equal(v.length, 10);
  });
}

test('GradientAccumulator sums duplicate rows into one slot', () => {
  const acc = new GradientAccumulator(100, 2, 1);
  acc.reset();
  const a = acc.slot(7);
  acc.grads[a * 2] = acc.grads[a * 2]! + 1;
  acc.grads[a * 2 + 1] = acc.grads[a * 2 + 1]! + 2;
  const b = acc.slot(3);
  acc.grads[b * 2] = acc.grads[b * 2]! + 5;
  const c = acc.slot(7);
  acc.grads[c * 2] = acc.grads[c * 2]! + 10;
  assert.equal(acc.count, 2);
  assert.equal(a, c);
  assert.deepEqual(Array.from(acc.ids.subarray(0, 2)), [7, 3]);
  assert.deepEqual(Array.from(acc.grads.subarray(0, 4)), [11, 2, 5, 0]);
  acc.reset();
  assert.equal(acc.count, 0);
  const d = acc.slot(3);
  assert.equal(d, 0);
  assert.deepEqual(Array.from(acc.grads.subarray(0, 2)), [0, 0]);
});
