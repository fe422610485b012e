/**
 * The workflow against S3 (s3rver started here, reached through AWS_ENDPOINT_URL_S3): the
 * synthesized retraining definition promotes v1 with every object in the bucket, and the
 * batch-scoring definition's item processor scores Parquet objects under a prefix with it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clearStoreCache, storeFor } from '../../src/storage/index.ts';
import { readJson } from '../../src/workflow/bucket/json-store.ts';
import { layout } from '../../src/workflow/bucket/layout.ts';
import { runLocalBatchScoring } from '../../local/run-batch.ts';
import { runLocalPipeline } from '../../local/run-retraining.ts';
import { registrySchema } from '../../src/workflow/schemas.ts';
import { setS3Env, startS3rver, type RunningS3rver } from '../helpers/s3rver.ts';
import { addDays, TEST_THRESHOLDS, writeConfig } from '../helpers/workflow-fixture.ts';

const BUCKET = 's3://wdp-it';

describe('workflow on S3 (s3rver)', () => {
  let server: RunningS3rver;
  let restoreEnv: () => void;

  before(async () => {
    server = await startS3rver({ buckets: ['wdp-it'] });
    restoreEnv = setS3Env(server.endpoint);
    clearStoreCache();
    await writeConfig(BUCKET);
    await addDays(BUCKET, 3);
  });
  after(async () => {
    restoreEnv();
    clearStoreCache();
    await server.stop();
  });

  it('runs the retraining state machine on an s3:// bucket and promotes v1', async () => {
    const r = await runLocalPipeline({ bucketUri: BUCKET, thresholds: TEST_THRESHOLDS, progress: false });
    assert.equal(r.status, 'promoted', JSON.stringify(r.error ?? r.validation));
    const registry = await readJson(layout(BUCKET).registry, registrySchema);
    assert.equal(registry?.champion?.uri, `${BUCKET}/models/registry/v1`);
    assert.ok(await storeFor(BUCKET).stat(`${BUCKET}/models/registry/v1/manifest.json`));
    assert.ok(await storeFor(BUCKET).stat(`${r.validation!.candidateUri}/validation.json`));
  });

  it('batch-scores the Parquet objects under a prefix with the champion, in batches, then summarizes', async () => {
    const store = storeFor(BUCKET);
    const day = `${BUCKET}/logs/dt=2026-01-03/part-00000.parquet`;
    const bytes = await store.read(day);
    for (const name of ['a', 'b', 'c']) await store.write(`${BUCKET}/batch/input/run1/${name}.parquet`, bytes);
    await store.write(`${BUCKET}/batch/input/run1/_SUCCESS`, '');
    const r = await runLocalBatchScoring({ bucketUri: BUCKET, inputPrefix: 'batch/input/run1/', outputPrefix: 'batch/output/run1/' });
    assert.equal(r.status, 'succeeded', r.error);
    assert.equal(r.batches, 1, 'ItemBatcher MaxItemsPerBatch 4 puts 4 objects in one batch');
    assert.equal(r.summary?.objects, 3);
    assert.equal(r.summary?.skipped, 1);
    assert.equal(r.summary?.rows, 3 * 5000);
    const outputs = (await store.list(`${BUCKET}/batch/output/run1/`)).map((b) => b.uri.split('/').pop());
    // The scores, and the batch report beside them (a leading underscore keeps it out of Parquet listings).
    assert.deepEqual(outputs, ['_report.html', 'a.parquet', 'b.parquet', 'c.parquet']);
    // Written over S3 twice: the batch's in-progress page first, then the finished run's report.
    const report = new TextDecoder().decode(await store.read(`${BUCKET}/batch/output/run1/_report.html`));
    assert.match(report, /<td>rows scored<\/td><td class="n">15,000<\/td>/);
    assert.doesNotMatch(report, /being rewritten/);
  });
});
