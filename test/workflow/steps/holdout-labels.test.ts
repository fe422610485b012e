/**
 * A holdout day with one label class (AUC undefined) is a clean rejection that holds that day,
 * with validation.json schema-valid; a day whose rows Train refuses can be dropped.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createIngestHandler } from '../../../lambdas/ingest.ts';
import { createRejectHandler } from '../../../lambdas/reject.ts';
import { createValidateHandler } from '../../../lambdas/validate.ts';
import { readJson } from '../../../src/workflow/bucket/json-store.ts';
import { layout } from '../../../src/workflow/bucket/layout.ts';
import { readWatermark } from '../../../src/workflow/bucket/state.ts';
import { validationReportSchema, type IngestResult, type ValidateResult } from '../../../src/workflow/schemas.ts';
import { dropDay, releaseDay } from '../../../src/workflow/steps/days.ts';
import { listRuns, showRun } from '../../../src/workflow/steps/runs.ts';
import { thresholdsSchema } from '../../../src/workflow/steps/thresholds.ts';
import { trainFromManifest } from '../../../src/workflow/steps/train-step.ts';
import { holdoutLabelProblem, runChecks } from '../../../src/workflow/steps/validate.ts';
import { editDay } from '../../helpers/parquet-edit.ts';
import { addDays, TEST_THRESHOLDS, writeConfig } from '../../helpers/workflow-fixture.ts';

const dry = { requests: 4, scorer: 'test', p95LatencyMs: 1, maxAbsDiff: 0, allFinite: true };
const failing = (checks: ReturnType<typeof runChecks>) => checks.filter((c) => !c.passed).map((c) => c.name);

describe('the holdout_labels check', () => {
  const t = thresholdsSchema.parse({});
  it('passes a holdout with both classes and comes first', () => {
    const checks = runChecks(t, { rows: 100, auc: 0.7, logloss: 0.3, calibration: 1, positiveRate: 0.1 }, null, dry, undefined, [
      '2026-01-04',
    ]);
    assert.equal(checks[0]?.name, 'holdout_labels');
    assert.deepEqual(failing(checks), []);
  });
  it('names the day, the class and the cause when every label is 1 (or 0), before the gates it makes undefined', () => {
    const all1 = runChecks(t, { rows: 3, auc: NaN, logloss: 2.5, calibration: 0.1, positiveRate: 1 }, null, dry, undefined, ['2026-01-04']);
    assert.deepEqual(failing(all1).slice(0, 2), ['holdout_labels', 'min_auc']);
    assert.equal(all1[0]!.message, 'holdout_labels: the holdout day 2026-01-04 has one label class (all 3 rows are 1): AUC is undefined');
    assert.equal(all1[1]!.message, 'min_auc: auc undefined fails auc ≥ 0.6');
    assert.equal(all1[1]!.value, null);
    assert.match(holdoutLabelProblem({ rows: 1, positiveRate: 0 }, ['2026-01-04']) ?? '', /all 1 row is 0\): AUC is undefined/);
    assert.match(holdoutLabelProblem({ rows: 0, positiveRate: NaN }) ?? '', /the holdout has no rows/);
  });
});

describe('a run whose holdout day has one label class', () => {
  let dir: string;
  let ingest: IngestResult & { hasNewData: true };
  let validation: ValidateResult;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wdp-one-class-'));
    await writeConfig(dir);
    const days = await addDays(dir, 2, { rowsPerDay: 2000 });
    // The holdout (the newest day): every label 1.
    await editDay(join(dir, 'logs', `dt=${days[1]}`, 'part-00000.parquet'), (c) => c.installed.fill(1));
    const r = await createIngestHandler({ bucketUri: dir })({ executionName: 'one-class' });
    assert.ok(r.hasNewData);
    ingest = r;
    await trainFromManifest({ manifestUri: ingest.manifestUri, progress: false });
    validation = await createValidateHandler({ thresholds: TEST_THRESHOLDS })({ manifestUri: ingest.manifestUri });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is rejected naming the cause first, with the undefined metrics recorded as null in a schema-valid validation.json', async () => {
    const day = ingest.holdoutPartitions[0]!;
    assert.equal(validation.passed, false);
    assert.equal(
      validation.reasons[0],
      `holdout_labels: the holdout day ${day} has one label class (all 2000 rows are 1): AUC is undefined`,
    );
    const report = await readJson(validation.reportUri, validationReportSchema);
    assert.equal(report?.candidateMetrics.auc, null);
    assert.equal(report?.candidateMetrics.positiveRate, 1);
    assert.equal(typeof report?.candidateMetrics.logloss, 'number', 'logloss is defined on one class');
  });

  it('Reject records it and holds only the holdout day, which can be released or dropped; `wdp runs` shows why', async () => {
    const l = layout(dir);
    const [train, holdout] = [ingest.trainPartitions[0]!, ingest.holdoutPartitions[0]!];
    const r = await createRejectHandler()({ manifestUri: ingest.manifestUri });
    assert.equal(r.alreadyRecorded, false);
    const w = await readWatermark(l);
    assert.deepEqual(
      w.held.map((h) => `${h.day}:${h.role}`),
      [`${holdout}:holdout`],
    );
    assert.match(w.held[0]!.reason, /has one label class \(all 2000 rows are 1\): AUC is undefined/);
    assert.deepEqual(w.untrained, [train], 'the training day is not implicated');
    const [row] = await listRuns(l);
    assert.equal(row?.verdict.kind, 'rejected');
    const shown = await showRun(l, ingest.runId);
    assert.equal(shown.validation?.candidateMetrics['auc'], null);
    // A manifest an older wdp wrote with a relative candidate path (relative to where that run was
    // started) is read from where this bucket keeps the candidate, whatever the directory now.
    const manifest = JSON.parse(await readFile(ingest.manifestUri, 'utf8'));
    await writeFile(ingest.manifestUri, JSON.stringify({ ...manifest, candidateUri: `somewhere/else/${manifest.runId}` }));
    const old = await showRun(l, ingest.runId);
    assert.equal(old.candidateUri, l.candidate(ingest.runId));
    assert.equal(old.validation?.candidateMetrics['auc'], null, 'its validation is found');
    assert.equal(old.verdict.kind, 'rejected');
    await writeFile(ingest.manifestUri, JSON.stringify(manifest));
    // The next run does not retry the day: it waits for a new day to hold out.
    const next = await createIngestHandler({ bucketUri: dir })({ executionName: 'next' });
    assert.equal(next.hasNewData, false);
    await releaseDay(l, holdout);
    assert.deepEqual((await readWatermark(l)).untrained, [train, holdout].sort());
    await dropDay(l, holdout);
    assert.deepEqual(
      (await readWatermark(l)).dropped.map((d) => `${d.day}:${d.from}`),
      [`${holdout}:untrained`],
    );
  });
});

describe('a day whose rows Train refuses (a NaN the footer statistics cannot show)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wdp-train-fault-'));
    await writeConfig(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('fails Train naming `wdp days drop DAY`; dropping the new day (no run finished yet) takes it out of the next Ingest', async () => {
    const l = layout(dir);
    const days = await addDays(dir, 3, { rowsPerDay: 500 });
    // app_downloads has no default: a NaN is a bad row.
    await editDay(join(dir, 'logs', `dt=${days[0]}`, 'part-00000.parquet'), (c) => {
      c.app_downloads[7] = Number.NaN;
    });
    const r = await createIngestHandler({ bucketUri: dir })({ executionName: 'nan' });
    assert.ok(r.hasNewData, 'NaN is not in Parquet statistics: Ingest cannot see it');
    await assert.rejects(
      trainFromManifest({ manifestUri: r.manifestUri, progress: false }),
      new RegExp(
        `column "app_downloads", row 7: value is missing and the feature has no default\\. Every run fails on ${days[0]} .*\`wdp days drop ${days[0]}\``,
      ),
    );
    await dropDay(l, days[0]!);
    const w = await readWatermark(l);
    assert.deepEqual(
      w.dropped.map((d) => `${d.day}:${d.from}`),
      [`${days[0]}:new`],
    );
    assert.equal(w.through, null, 'dropping a day moves nothing else');
    const again = await createIngestHandler({ bucketUri: dir })({ executionName: 'after-drop' });
    assert.ok(again.hasNewData);
    assert.deepEqual(again.trainPartitions, [days[1]]);
    await assert.rejects(dropDay(l, days[0]!), /already dropped/);
    await assert.rejects(dropDay(l, '2027-01-01'), /neither held nor untrained, nor a new day with logs/);
  });
});
