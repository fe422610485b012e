import assert from 'node:assert/strict';
import { test } from 'node:test';
import { qualityPlotRowSchema, qualityPlotSvg } from '../../src/bench/quality-plot.ts';

/** Two datasets' `results[i]` as the bench's JSON holds them (the plot reads only these fields). */
const rows = [
  {
    dataset: 'adult',
    train_rows: 32561,
    minus_baseline: {
      defaults: { wide: { auc: 0.0003, ci95: [-0.0004, 0.001] }, wide_deep: { auc: 0.0247, ci95: [0.0219, 0.028] } },
      tuned: { wide_deep: { auc: 0.0246, ci95: [0.0218, 0.0279] } },
    },
  },
  {
    dataset: 'avazu',
    minus_baseline: {
      defaults: { deep: { auc: -0.0195, ci95: [-0.026, -0.013] }, wide_deep: { auc: -0.0023, ci95: [-0.0047, 0.0001] } },
      tuned: { wide_deep: { auc: -0.0022, ci95: [-0.0046, 0.0001] } },
    },
  },
].map((r) => qualityPlotRowSchema.parse(r));

test('bench quality --plot: one panel per dataset, each model and setting with its interval, the baseline and the tolerance', async () => {
  const svg = await qualityPlotSvg(rows, 'quality');
  assert.match(svg, /^<svg/);
  for (const text of ['adult', 'avazu', 'wide &amp; deep, tuned', 'deep, defaults', 'wide, defaults', 'dashed: 0.002 below it'])
    assert.ok(svg.includes(text), text);
  assert.ok(!svg.includes('>deep, tuned<'), 'no row for a model the results do not hold');
});

test('a result without the differences the plot needs is refused, naming the field', () => {
  assert.throws(() => qualityPlotRowSchema.parse({ dataset: 'adult' }), /minus_baseline/);
});
