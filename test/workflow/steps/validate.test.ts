import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createIngestHandler } from '../../../lambdas/ingest.ts';
import { createValidateHandler } from '../../../lambdas/validate.ts';
import { readJson } from '../../../src/workflow/bucket/json-store.ts';
import { validationReportSchema, type IngestResult, type ValidateResult } from '../../../src/workflow/schemas.ts';
import type { DryRunResult } from '../../../src/workflow/steps/serving-dry-run.ts';
import { DEFAULT_THRESHOLDS, thresholdsSchema } from '../../../src/workflow/steps/thresholds.ts';
import { trainFromManifest } from '../../../src/workflow/steps/train-step.ts';
import { runChecks } from '../../../src/workflow/steps/validate.ts';
import { addDays, TEST_THRESHOLDS, writeConfig } from '../../helpers/workflow-fixture.ts';

const good = { rows: 1000, auc: 0.75, logloss: 0.3, calibration: 1 };
const dry: DryRunResult = { requests: 4, scorer: 'test', p95LatencyMs: 5, maxAbsDiff: 1e-7, allFinite: true };
const failing = (checks: ReturnType<typeof runChecks>) => checks.filter((c) => !c.passed).map((c) => c.name);

describe('validation checks', () => {
  const t = thresholdsSchema.parse({
    minAuc: 0.6,
    maxLogloss: 0.5,
    calibrationMin: 0.8,
    calibrationMax: 1.25,
    maxAucDrop: 0.01,
    maxLoglossRise: 0.01,
    latencyBudgetMs: 100,
    parityTolerance: 1e-4,
  });

  it('passes a good first model on absolute thresholds only (no champion, no change checks)', () => {
    const checks = runChecks(t, good, null, dry);
    assert.deepEqual(failing(checks), []);
    assert.ok(!checks.some((c) => c.name.startsWith('max_auc_drop')));
  });
  it('fails min_auc', () => assert.deepEqual(failing(runChecks(t, { ...good, auc: 0.55 }, null, dry)), ['min_auc']));
  it('fails max_logloss', () => assert.deepEqual(failing(runChecks(t, { ...good, logloss: 0.6 }, null, dry)), ['max_logloss']));
  it('fails the calibration band on both sides', () => {
    assert.deepEqual(failing(runChecks(t, { ...good, calibration: 0.7 }, null, dry)), ['calibration_band']);
    assert.deepEqual(failing(runChecks(t, { ...good, calibration: 1.3 }, null, dry)), ['calibration_band']);
  });
  it('fails max_auc_drop against the champion', () => {
    // champion 0.77 − candidate 0.75 = 0.02 > 0.01
    assert.deepEqual(failing(runChecks(t, good, { ...good, auc: 0.77 }, dry)), ['max_auc_drop']);
  });
  it('fails max_logloss_rise against the champion', () => {
    // 0.3 − 0.28 = 0.02 > 0.01
    assert.deepEqual(failing(runChecks(t, good, { ...good, logloss: 0.28 }, dry)), ['max_logloss_rise']);
  });
  it('fails the dry run on non-finite scores, parity and latency', () => {
    assert.deepEqual(failing(runChecks(t, good, null, { ...dry, allFinite: false })), ['dry_run_finite']);
    assert.deepEqual(failing(runChecks(t, good, null, { ...dry, maxAbsDiff: 0.01 })), ['dry_run_parity']);
    assert.deepEqual(failing(runChecks(t, good, null, { ...dry, p95LatencyMs: 150 })), ['dry_run_latency']);
  });
  it('treats a NaN metric as failing', () => assert.deepEqual(failing(runChecks(t, { ...good, auc: NaN }, null, dry)), ['min_auc']));
  it('has sane defaults', () => assert.equal(DEFAULT_THRESHOLDS.minAuc, 0.6));
});

describe('Validate handler on a real candidate', () => {
  let dir: string;
  let ingest: IngestResult & { hasNewData: true };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wdp-validate-'));
    await writeConfig(dir);
    await addDays(dir, 2);
    const r = await createIngestHandler({ bucketUri: dir })({ executionName: 'v' });
    assert.ok(r.hasNewData);
    ingest = r;
    await trainFromManifest({ manifestUri: ingest.manifestUri, progress: false });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('passes through the real scoring code and writes validation.json beside the candidate', async () => {
    const r = (await createValidateHandler({ thresholds: TEST_THRESHOLDS })({ manifestUri: ingest.manifestUri })) as ValidateResult;
    assert.equal(r.passed, true, r.reasons.join('; '));
    assert.equal(r.reportUri, join(ingest.candidateUri, 'validation.json'));
    const report = await readJson(r.reportUri, validationReportSchema);
    assert.equal(report!.dryRun.scorer, 'src/scoring Scorer');
    assert.ok(report!.dryRun.maxAbsDiff <= TEST_THRESHOLDS.parityTolerance);
    assert.equal(report!.championMetrics, null);
  });

  it('rejects (does not crash) when the serving code cannot load the candidate', async () => {
    const handler = createValidateHandler({
      thresholds: TEST_THRESHOLDS,
      scorerFactory: async () => {
        throw new Error('tower.onnx is missing');
      },
    });
    const r = (await handler({ manifestUri: ingest.manifestUri })) as ValidateResult;
    assert.equal(r.passed, false);
    assert.deepEqual(r.reasons, ['dry_run: serving failed: tower.onnx is missing']);
  });

  it('rejects a candidate whose served scores differ from its evaluation', async () => {
    const handler = createValidateHandler({
      thresholds: TEST_THRESHOLDS,
      scorerFactory: async () => ({ name: 'skewed', score: async (req) => req.candidates.map(() => 0.5) }),
    });
    const r = (await handler({ manifestUri: ingest.manifestUri })) as ValidateResult;
    assert.equal(r.passed, false);
    assert.match(r.reasons.join(), /dry_run_parity/);
  });
});
