import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createIngestHandler } from '../../../lambdas/ingest.ts';
import { layout } from '../../../src/workflow/bucket/layout.ts';
import type { IngestResult } from '../../../src/workflow/schemas.ts';
import { mockS3Memory, type MemoryBucket } from '../../helpers/s3-memory.ts';
import { smallConfig } from '../../helpers/workflow-fixture.ts';

const BUCKET = 's3://wdp-test';
const l = layout(BUCKET);

describe('Ingest handler (S3 mocked with aws-sdk-client-mock)', () => {
  let s3: MemoryBucket;
  const put = (uri: string, body: string) => s3.objects.set(uri.replace('s3://', ''), new TextEncoder().encode(body));
  const day = (d: string) => put(`${l.logs}dt=${d}/part-00000.parquet`, 'PAR1…');
  const ingest = (event: unknown = { executionName: 'exec-1' }) =>
    createIngestHandler({ bucketUri: BUCKET })(event) as Promise<IngestResult>;

  beforeEach(() => {
    s3 = mockS3Memory();
    put(l.config, JSON.stringify(smallConfig()));
  });
  afterEach(() => s3.restore());

  it('ends early with no logs at all', async () => {
    const r = await ingest();
    assert.equal(r.hasNewData, false);
    assert.match(!r.hasNewData ? r.reason : '', /no log partitions/);
  });

  it('holds out the newest partition and trains on the others, writing a manifest', async () => {
    for (const d of ['2026-01-01', '2026-01-02', '2026-01-03']) day(d);
    put(`${l.logs}dt=2026-01-02/_SUCCESS`, '');
    const r = await ingest();
    assert.ok(r.hasNewData);
    assert.deepEqual(r.trainPartitions, ['2026-01-01', '2026-01-02']);
    assert.deepEqual(r.holdoutPartitions, ['2026-01-03']);
    assert.equal(r.champion, null);
    const manifest = JSON.parse(s3.text(r.manifestUri)!);
    assert.deepEqual(manifest.data, [`${l.logs}dt=2026-01-01/`, `${l.logs}dt=2026-01-02/`]);
    assert.deepEqual(manifest.holdout, [`${l.logs}dt=2026-01-03/`]);
    assert.equal(manifest.watermarkAfter.through, '2026-01-03');
    assert.match(manifest.runId, /exec-1$/);
    // Ingest itself never moves the watermark: only Promote/Reject do.
    assert.equal(s3.text(l.watermark), undefined);
  });

  it("takes only partitions newer than the watermark, plus last run's holdout to train on", async () => {
    for (const d of ['2026-01-01', '2026-01-02', '2026-01-03', '2026-01-04']) day(d);
    put(l.watermark, JSON.stringify({ through: '2026-01-03', untrained: ['2026-01-03'], runId: 'r0', updatedAt: '2026-01-04T00:00:00Z' }));
    put(
      l.registry,
      JSON.stringify({ formatVersion: 1, champion: { version: 1, uri: `${BUCKET}/models/registry/v1`, modelId: 'm1' }, history: [] }),
    );
    const r = await ingest();
    assert.ok(r.hasNewData);
    assert.deepEqual(r.trainPartitions, ['2026-01-03']);
    assert.deepEqual(r.holdoutPartitions, ['2026-01-04']);
    assert.equal(r.champion?.version, 1);
  });

  it('with a hash holdout, trains and validates on every new partition, split by a row hash', async () => {
    put(l.config, JSON.stringify({ ...smallConfig(), holdout: { kind: 'hash', fraction: 0.2, column: 'user_id' } }));
    for (const d of ['2026-01-01', '2026-01-02']) day(d);
    const r = await ingest();
    assert.ok(r.hasNewData);
    assert.deepEqual(r.trainPartitions, ['2026-01-01', '2026-01-02']);
    assert.deepEqual(r.holdoutPartitions, ['2026-01-01', '2026-01-02']);
    const manifest = JSON.parse(s3.text(r.manifestUri)!);
    assert.deepEqual(manifest.split, { column: 'user_id', fraction: 0.2 });
    assert.deepEqual(manifest.data, manifest.holdout);
    assert.deepEqual(manifest.watermarkAfter.untrained, []);
    assert.equal(manifest.watermarkAfter.through, '2026-01-02');
  });

  it('ends early when nothing is newer than the watermark', async () => {
    for (const d of ['2026-01-01', '2026-01-02']) day(d);
    put(l.watermark, JSON.stringify({ through: '2026-01-02', untrained: ['2026-01-02'], runId: 'r0', updatedAt: 'x' }));
    const r = await ingest();
    assert.equal(r.hasNewData, false);
    assert.match(!r.hasNewData ? r.reason : '', /no partitions newer than 2026-01-02/);
  });

  it('waits when the only new partition would have to be the holdout', async () => {
    day('2026-01-01');
    const r = await ingest();
    assert.equal(r.hasNewData, false);
    assert.match(!r.hasNewData ? r.reason : '', /only one partition/);
  });

  it('fails clearly without a config, and rejects a malformed event', async () => {
    s3.objects.clear();
    day('2026-01-01');
    day('2026-01-02');
    await assert.rejects(ingest(), /no config at s3:\/\/wdp-test\/config\/wdp.config.json/);
    await assert.rejects(ingest({ executionName: 42 }), /Ingest: invalid event: executionName/);
  });
});
