import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchQuality } from '../../src/bench/quality-bench.ts';

interface Refit {
  auc: number;
  seed_aucs: number[];
  validation_auc: number;
  predictions?: unknown;
  over_given?: { keptGiven: unknown };
}
/** The JSON shape these assertions read (the bench returns it as plain records). */
interface DatasetResult {
  dataset: string;
  defaults: Record<string, Refit>;
  tuned: Record<string, Refit>;
  comparisons: Record<string, { auc: number; ci95: number[] }>;
  baseline_logistic_regression: Record<string, unknown>;
}

test('bench quality on small generated logs: refits averaged over seeds, comparisons with bootstrap intervals, tune’s decision kept', async () => {
  const r = await benchQuality({
    datasetsDir: '/nonexistent',
    datasets: ['generated'],
    kinds: ['wide', 'wide_deep'],
    generatedRowsPerDay: 800,
    trials: 2,
    maxEpochs: 2,
    eta: 2,
    refitSeeds: [1, 2],
    backend: 'onnx',
  });
  assert.deepEqual(r.budget.refit_seeds, [1, 2]);
  const [g] = r.results as unknown as DatasetResult[];
  assert.equal(g!.dataset, 'generated');
  for (const side of ['defaults', 'tuned']) {
    for (const kind of ['wide', 'wide_deep']) {
      const m = (side === 'defaults' ? g!.defaults : g!.tuned)[kind]!;
      assert.equal(m.seed_aucs.length, 2, `${side} ${kind}`);
      // the table's AUC is the mean over the refit seeds (each rounded to 4 places in the JSON)
      assert.ok(Math.abs(m.auc - (m.seed_aucs[0]! + m.seed_aucs[1]!) / 2) <= 1e-4 + 1e-12, `${side} ${kind}: ${m.auc} vs ${m.seed_aucs}`);
      assert.equal(m.predictions, undefined, 'predictions stay out of the JSON');
    }
  }
  for (const name of ['tuned_wide_deep_minus_baseline', 'defaults_minus_tuned_wide_deep', 'defaults_wide_deep_minus_tuned_wide']) {
    const c = g!.comparisons[name]!;
    assert.ok(c.ci95[0]! <= c.auc + 1e-4 && c.auc - 1e-4 <= c.ci95[1]!, `${name}: ${JSON.stringify(c)}`);
  }
  const t = g!.tuned['wide_deep']!;
  assert.equal(t.validation_auc >= g!.defaults['wide_deep']!.validation_auc, true);
  if (t.over_given) assert.equal(typeof t.over_given.keptGiven, 'boolean');
  assert.equal(g!.baseline_logistic_regression.predictions, undefined);
});
