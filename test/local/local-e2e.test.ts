/**
 * The synthesized retraining state machine run locally, end to end, on a small bucket folder:
 * the same scenario a newcomer and the nightly schedule go through.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readJson } from '../../src/workflow/bucket/json-store.ts';
import { registrySchema, watermarkSchema } from '../../src/workflow/schemas.ts';
import { servingPointerSchema } from '../../src/workflow/steps/serving-target.ts';
import { localBuckets } from '../helpers/local-buckets.ts';
import { addDays } from '../helpers/workflow-fixture.ts';

describe('local run of the synthesized retraining definition', () => {
  // Every test builds its own bucket folder, so each passes alone and in any order.
  const { newBucket, bucketWithChampion, run, cleanup } = localBuckets('wdp-e2e-');
  after(cleanup);

  it('first run trains from scratch and promotes v1', async () => {
    const { dir, l } = await newBucket();
    const r = await run(dir);
    assert.equal(r.status, 'promoted', JSON.stringify(r.error ?? r.validation));
    assert.equal(r.promotion?.version, 1);
    assert.equal(r.promotion?.parentVersion, null);
    assert.deepEqual(
      r.states.filter((s) => s.type === 'Task').map((s) => s.name),
      ['Lock', 'Ingest', 'Train', 'Validate', 'Promote', 'UnlockPromoted'],
    );
    assert.equal((await readJson(l.servingPointer, servingPointerSchema))?.version, 1);
    assert.equal((await readJson(l.watermark, watermarkSchema))?.through, '2026-01-03');
  });

  it('a rerun with no new data ends early and changes nothing', async () => {
    const { dir, l } = await bucketWithChampion();
    const before = await readJson(l.registry, registrySchema);
    const r = await run(dir);
    assert.equal(r.status, 'no_new_data');
    assert.deepEqual(
      r.states.map((s) => s.name),
      ['Lock', 'LockAcquired', 'Ingest', 'HasNewData', 'UnlockNoNewData', 'NoNewData'],
    );
    assert.deepEqual(await readJson(l.registry, registrySchema), before);
  });

  it('a new day warm-starts from the champion and promotes v2 with v1 as parent', async () => {
    const { dir, l } = await bucketWithChampion();
    await addDays(dir, 1);
    const r = await run(dir);
    assert.equal(r.status, 'promoted', JSON.stringify(r.error ?? r.validation));
    assert.equal(r.promotion?.version, 2);
    assert.equal(r.promotion?.parentVersion, 1);
    assert.deepEqual(r.ingest?.hasNewData && r.ingest.trainPartitions, ['2026-01-03']);
    const registry = await readJson(l.registry, registrySchema);
    assert.equal(registry?.champion?.version, 2);
    assert.equal(registry?.history[1]?.parentVersion, 1);
  });

  it('a bad candidate (shuffled labels) takes the fail branch: Reject → NotifyRejected → Rejected, champion untouched', async () => {
    const { dir, l } = await bucketWithChampion();
    await addDays(dir, 1);
    assert.equal((await run(dir)).promotion?.version, 2);
    await addDays(dir, 1, { shuffleLabels: true });
    const r = await run(dir);
    assert.equal(r.status, 'rejected');
    assert.match(r.validation?.reasons.join('; ') ?? '', /min_auc/);
    assert.deepEqual(
      r.states.slice(-4).map((s) => s.name),
      ['Reject', 'NotifyRejected', 'UnlockRejected', 'Rejected'],
    );
    const registry = await readJson(l.registry, registrySchema);
    assert.equal(registry?.champion?.version, 2, 'champion unchanged');
    assert.equal(registry?.history.at(-1)?.status, 'rejected');
    assert.equal((await readJson(l.servingPointer, servingPointerSchema))?.version, 2, 'serving unchanged');
    assert.equal((await readJson(l.watermark, watermarkSchema))?.through, '2026-01-05', 'a rejection consumes the day');
    const notes = await readdir(join(dir, 'notifications'));
    assert.equal(notes.length, 1);
    // The rejection notification says what Ingest set aside, picked up late or skipped for its name.
    const { message } = JSON.parse(await readFile(join(dir, 'notifications', notes[0]!), 'utf8'));
    assert.equal(message.result, 'rejected');
    assert.deepEqual([message.quarantined, message.lateFiles, message.skippedFiles], [[], [], []]);
  });

  it('a training crash is caught (NotifyFailure → Failed) and the next run retries the same data', async () => {
    const { dir, l } = await bucketWithChampion();
    await addDays(dir, 1);
    const crashed = await run(dir, {
      overrides: {
        Train: async () => {
          throw new Error('GPU fell off the bus');
        },
      },
    });
    assert.equal(crashed.status, 'failed');
    assert.match(crashed.error?.error ?? '', /WorkflowFailed/);
    assert.deepEqual(
      crashed.states.slice(-2).map((s) => s.name),
      ['NotifyFailure', 'Failed'],
    );
    assert.equal((await readJson(l.watermark, watermarkSchema))?.through, '2026-01-03', 'the watermark did not move');

    const retried = await run(dir);
    assert.ok(retried.ingest?.hasNewData && crashed.ingest?.hasNewData);
    assert.deepEqual(retried.ingest.trainPartitions, crashed.ingest.trainPartitions);
    assert.deepEqual(retried.ingest.holdoutPartitions, ['2026-01-04']);
    assert.notEqual(retried.status, 'failed', JSON.stringify(retried.error));
  });

  it("score-batch runs the batch definition's item processor inline on a folder bucket", async () => {
    const { dir } = await bucketWithChampion();
    const { mkdir, copyFile } = await import('node:fs/promises');
    await mkdir(join(dir, 'batch/input/d1'), { recursive: true });
    await copyFile(join(dir, 'logs/dt=2026-01-02/part-00000.parquet'), join(dir, 'batch/input/d1/part-00000.parquet'));
    const { runLocalBatchScoring } = await import('../../local/run-batch.ts');
    const r = await runLocalBatchScoring({ bucketUri: dir, inputPrefix: 'batch/input/d1/', outputPrefix: 'batch/output/d1/' });
    assert.equal(r.status, 'succeeded', r.error);
    assert.equal(r.summary?.rows, 5000);
    // The scores, and the batch report beside them (a leading underscore keeps it out of Parquet listings).
    assert.deepEqual((await readdir(join(dir, 'batch/output/d1'))).sort(), ['_report.html', 'part-00000.parquet']);
    assert.equal(r.summary?.reportUri, join(dir, 'batch/output/d1/_report.html'));
    const report = await readFile(join(dir, 'batch/output/d1/_report.html'), 'utf8');
    assert.match(report, /<td>rows scored<\/td><td class="n">5,000<\/td>/);
    assert.match(report, /<div class="chart" id="score-chart"><svg/);
    // The in-progress page the batches wrote first is replaced by the finished run's report.
    assert.doesNotMatch(report, /being rewritten/);
  });
});
