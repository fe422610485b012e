import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { benchQuality } from '../../src/bench/quality-bench.ts';
import { Rng } from '../../src/util/random.ts';

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
  assert.ok(r.machine.cpu_model.length > 0 && r.machine.flags.length > 0, 'lscpu model name and flags in the JSON');
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

test('bench quality cross-fits a sample: every row is a test row once, AUC the mean of the folds’, intervals by fold', async () => {
  // A stand-in for criteo_train_first10k.txt: label, 13 counts, 26 categoricals (tab-separated),
  // where C1 and I1 carry the label.
  const dir = await mkdtemp(join(tmpdir(), 'wdp-quality-folds-'));
  try {
    const rng = new Rng(3);
    const lines = Array.from({ length: 600 }, () => {
      const y = rng.next() < 0.35 ? 1 : 0;
      const ints = Array.from({ length: 13 }, (_, j) => String(j === 0 ? Math.floor(3 * y + 4 * rng.next()) : Math.floor(10 * rng.next())));
      const cats = Array.from({ length: 26 }, (_, j) =>
        j === 0 ? `c${y}${Math.floor(3 * rng.next())}` : `v${Math.floor(5 * rng.next())}`,
      );
      return [String(y), ...ints, ...cats].join('\t');
    });
    await mkdir(join(dir, 'criteo'));
    await writeFile(join(dir, 'criteo', 'criteo_train_first10k.txt'), `${lines.join('\n')}\n`);
    const r = await benchQuality({
      datasetsDir: dir,
      datasets: ['criteo'],
      kinds: ['wide', 'wide_deep'],
      sampleFolds: 3,
      trials: 1,
      maxEpochs: 2,
      eta: 2,
      refitSeeds: [1, 2],
      backend: 'onnx',
    });
    assert.equal(r.budget.sample_folds, 3);
    const c = r.results[0] as unknown as DatasetResult & {
      test_rows: number;
      cross_fitted: { folds: number; fold_test_rows: number[] };
      tuned: Record<string, Refit & { fold_aucs: number[]; fold_epochs: number[] }>;
    };
    assert.equal(c.test_rows, 600, 'every row is a test row once');
    assert.equal(c.cross_fitted.folds, 3);
    assert.equal(
      c.cross_fitted.fold_test_rows.reduce((a, b) => a + b, 0),
      600,
    );
    const base = c.baseline_logistic_regression as { auc: number; fold_aucs: number[]; converged: boolean };
    assert.equal(base.fold_aucs.length, 3);
    assert.ok(Math.abs(base.auc - base.fold_aucs.reduce((a, b) => a + b, 0) / 3) <= 2e-4, `${base.auc} vs ${base.fold_aucs}`);
    const wd = c.tuned['wide_deep']!;
    assert.equal(wd.fold_aucs.length, 3);
    assert.equal(wd.fold_epochs.length, 3);
    assert.equal(wd.seed_aucs.length, 2);
    assert.ok(wd.auc > 0.6, `the planted signal is found: ${wd.auc}`);
    for (const d of Object.values(c.comparisons)) assert.ok(d.ci95[0]! <= d.auc + 1e-4 && d.auc - 1e-4 <= d.ci95[1]!, JSON.stringify(d));
    await assert.rejects(
      benchQuality({ datasetsDir: dir, datasets: ['criteo'], sampleFolds: 0 }),
      /sampleFolds: a whole number from 1 to 20, got 0/,
    );
    await assert.rejects(benchQuality({ datasetsDir: dir, datasets: ['criteo'], sampleFolds: 2000 }), /from 1 to 20, got 2000/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
