import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { createIngestHandler } from '../../../lambdas/ingest.ts';
import { absoluteUri } from '../../../src/storage/index.ts';
import { layout } from '../../../src/workflow/bucket/layout.ts';
import { ingest, readRunManifest } from '../../../src/workflow/steps/ingest.ts';
import { advanceWatermark, readWatermark } from '../../../src/workflow/bucket/state.ts';
import { watermarkAfterRejection } from '../../../src/workflow/steps/days.ts';
import { runManifestSchema, type IngestResult, type RunManifest, type ValidationReport } from '../../../src/workflow/schemas.ts';
import { mockS3Memory, type MemoryBucket } from '../../helpers/s3-memory.ts';
import { addDays, smallConfig } from '../../helpers/workflow-fixture.ts';

const BUCKET = 's3://wdp-test';
const l = layout(BUCKET);

/** A validation report rejecting `run` on AUC, no champion: every day of the run is held. */
function rejectedReport(run: RunManifest): ValidationReport {
  const metrics = { rows: 10, auc: 0.5, logloss: 0.7, calibration: 1 };
  return {
    runId: run.runId,
    candidateUri: run.candidateUri,
    candidateModelId: 'm',
    champion: null,
    holdout: run.holdout,
    passed: false,
    reasons: ['min_auc'],
    checks: [{ name: 'min_auc', passed: false, value: 0.5, threshold: '≥ 0.6', message: 'min_auc' }],
    candidateMetrics: metrics,
    championMetrics: null,
    dryRun: { requests: 1, scorer: 'js', p95LatencyMs: 1, maxAbsDiff: 0, allFinite: true },
    thresholds: {},
    createdAt: 'x',
  };
}

describe('Ingest handler (S3 mocked with aws-sdk-client-mock)', () => {
  let s3: MemoryBucket;
  /** One real (small) Parquet log file: Ingest opens every new file's footer. */
  let parquet: Uint8Array;
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'wdp-ingest-'));
    const [d] = await addDays(tmp, 1, { rowsPerDay: 50 });
    parquet = await readFile(join(tmp, 'logs', `dt=${d}`, 'part-00000.parquet'));
  });
  after(() => rm(tmp, { recursive: true, force: true }));
  const put = (uri: string, body: string | Uint8Array) =>
    s3.objects.set(uri.replace('s3://', ''), typeof body === 'string' ? new TextEncoder().encode(body) : body);
  const day = (d: string, body: string | Uint8Array = parquet) => put(`${l.logs}dt=${d}/part-00000.parquet`, body);
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
    // The files themselves, not their folders: a file that arrives after Ingest is not read by this run.
    assert.deepEqual(manifest.data, [`${l.logs}dt=2026-01-01/part-00000.parquet`, `${l.logs}dt=2026-01-02/part-00000.parquet`]);
    assert.deepEqual(manifest.holdout, [`${l.logs}dt=2026-01-03/part-00000.parquet`]);
    const [ref] = manifest.watermarkAfter.files['2026-01-03'];
    assert.deepEqual(ref, {
      uri: `${l.logs}dt=2026-01-03/part-00000.parquet`,
      sizeBytes: parquet.length,
      etag: ref.etag,
      modifiedMs: ref.modifiedMs,
    });
    // As S3's ListObjectsV2: each object with its ETag and modification time, either telling a rewrite.
    assert.match(ref.etag, /^"[0-9a-f]{32}"$/);
    assert.equal(typeof ref.modifiedMs, 'number');
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

  it('a file added to an already-read partition is trained in the next run and reported', async () => {
    for (const d of ['2026-01-01', '2026-01-02', '2026-01-03']) day(d);
    const first = await ingest();
    assert.ok(first.hasNewData);
    // As Promote stores it: the run's watermarkAfter, with the files it read.
    put(l.watermark, s3.text(first.manifestUri)!.replace(/^[\s\S]*"watermarkAfter": (\{[\s\S]*?\n {2}\}),?\n[\s\S]*$/, '$1'));
    assert.equal(JSON.parse(s3.text(l.watermark)!).through, '2026-01-03');
    put(`${l.logs}dt=2026-01-01/part-00001.parquet`, parquet);
    const waiting = await ingest({ executionName: 'exec-2' });
    assert.equal(waiting.hasNewData, false);
    assert.deepEqual(!waiting.hasNewData && waiting.lateFiles, [`${l.logs}dt=2026-01-01/part-00001.parquet`]);
    assert.match(!waiting.hasNewData ? waiting.reason : '', /1 late file\(s\) in 2026-01-01: trained in the next run/);

    day('2026-01-04');
    const r = await ingest({ executionName: 'exec-3' });
    assert.ok(r.hasNewData);
    assert.deepEqual(r.lateFiles, [`${l.logs}dt=2026-01-01/part-00001.parquet`]);
    assert.deepEqual(r.trainPartitions, ['2026-01-03']);
    const manifest = JSON.parse(s3.text(r.manifestUri)!);
    assert.deepEqual(manifest.data, [`${l.logs}dt=2026-01-03/part-00000.parquet`, `${l.logs}dt=2026-01-01/part-00001.parquet`]);
    assert.deepEqual(
      manifest.late.map((f: { uri: string }) => f.uri),
      [`${l.logs}dt=2026-01-01/part-00001.parquet`],
    );
    assert.equal(manifest.watermarkAfter.files['2026-01-01'].length, 2, 'once this run finishes, the late file counts as read');

    // A file rewritten in place (same size, new object) is late too.
    put(l.watermark, JSON.stringify(manifest.watermarkAfter));
    await new Promise((r) => setTimeout(r, 5));
    put(`${l.logs}dt=2026-01-02/part-00000.parquet`, parquet.slice());
    day('2026-01-05');
    const rewritten = await ingest({ executionName: 'exec-4' });
    assert.ok(rewritten.hasNewData);
    assert.deepEqual(rewritten.lateFiles, [`${l.logs}dt=2026-01-02/part-00000.parquet`]);
  });

  it('a bad file in a new partition fails Ingest naming it (data.onBadFile "error", the default); nothing is written', async () => {
    for (const d of ['2026-01-01', '2026-01-02']) day(d);
    day('2026-01-03');
    put(`${l.logs}dt=2026-01-03/part-00001.parquet`, 'PAR1 truncated');
    put(`${l.logs}dt=2026-01-02/part-00001.csv`, 'a,b\n1,2\n');
    await assert.rejects(
      ingest(),
      (e: Error) =>
        /2 log file\(s\) cannot be trained on \(data.onBadFile "error"/.test(e.message) &&
        e.message.includes(
          `${l.logs}dt=2026-01-02/part-00001.csv: column "country": required string column is missing from the CSV header`,
        ) &&
        e.message.includes(`${l.logs}dt=2026-01-03/part-00001.parquet: not a Parquet file`),
    );
    assert.deepEqual(
      [...s3.objects.keys()].filter((k) => !k.includes('/logs/') && !k.includes('/config/')),
      [],
      'no run manifest, no state',
    );
  });

  it('with data.onBadFile "quarantine", a bad file is set aside, recorded and reported, and the run goes on with the rest', async () => {
    put(l.config, JSON.stringify({ ...smallConfig(), data: { onBadFile: 'quarantine' } }));
    for (const d of ['2026-01-01', '2026-01-02', '2026-01-03']) day(d);
    put(`${l.logs}dt=2026-01-03/part-00001.parquet`, 'PAR1 truncated');
    const r = await ingest();
    assert.ok(r.hasNewData);
    assert.deepEqual(r.holdoutPartitions, ['2026-01-03']);
    assert.deepEqual(
      r.quarantined?.map((q) => q.uri),
      [`${l.logs}dt=2026-01-03/part-00001.parquet`],
    );
    assert.match(r.quarantined?.[0]?.reason ?? '', /not a Parquet file/);
    const manifest = JSON.parse(s3.text(r.manifestUri)!);
    assert.deepEqual(manifest.holdout, [`${l.logs}dt=2026-01-03/part-00000.parquet`]);
    assert.equal(manifest.quarantined[0].uri, `${l.logs}dt=2026-01-03/part-00001.parquet`);
    const q = JSON.parse(s3.text(l.quarantine)!);
    assert.deepEqual(
      q.files.map((f: { uri: string; partition: string }) => [f.uri, f.partition]),
      [[`${l.logs}dt=2026-01-03/part-00001.parquet`, '2026-01-03']],
    );
    // Recorded once: the next Ingest skips it without opening it again, and reports nothing new.
    const again = await ingest({ executionName: 'exec-2' });
    assert.ok(again.hasNewData);
    assert.deepEqual(again.quarantined, []);
    assert.equal(JSON.parse(s3.text(l.quarantine)!).files.length, 1);
  });

  it('a log file whose name is not a safe key (a backslash) is skipped and never recorded: once recorded it failed every later run', async () => {
    for (const d of ['2026-01-01', '2026-01-02', '2026-01-03']) day(d);
    const hostile = `${l.logs}dt=2026-01-02/p"><img src=x onerror=alert(1)><\\script>.parquet`;
    put(hostile, parquet);
    // A terminal escape (set the window title) in a name: never read, never printed raw.
    put(`${l.logs}dt=2026-01-02/onerror\u001b]0;pwned\u0007.parquet`, parquet);
    const r = await ingest();
    assert.ok(r.hasNewData);
    const manifest = JSON.parse(s3.text(r.manifestUri)!);
    const recorded = JSON.stringify([manifest.data, manifest.holdout, manifest.watermarkAfter]);
    assert.ok(!recorded.includes('onerror'), `the file was recorded: ${recorded}`);
    assert.deepEqual(manifest.data, [`${l.logs}dt=2026-01-01/part-00000.parquet`, `${l.logs}dt=2026-01-02/part-00000.parquet`]);
  });

  it('a log file outside a dt=YYYY-MM-DD day (dt=2026-13-45, dt=2026-1-4, no dt= folder) is skipped and named, and moves no watermark', async () => {
    for (const d of ['2026-01-01', '2026-01-02', '2026-01-03']) day(d);
    // Taken as a day, dt=2026-13-45 sorted after every real one: the watermark went there and every
    // later real day counted as already seen, never trained, with no word said.
    const notDays = [`${l.logs}dt=2026-13-45/part-00000.parquet`, `${l.logs}dt=2026-1-4/part-00000.parquet`, `${l.logs}part-00000.parquet`];
    for (const uri of notDays) put(uri, parquet);
    const warnings: string[] = [];
    const r = (await createIngestHandler(
      { bucketUri: BUCKET },
      { info: () => {}, warn: (m) => warnings.push(m), error: () => {} },
    )({ executionName: 'exec-1' })) as IngestResult;
    assert.ok(r.hasNewData);
    assert.deepEqual(r.trainPartitions, ['2026-01-01', '2026-01-02']);
    assert.deepEqual(r.holdoutPartitions, ['2026-01-03']);
    const manifest = JSON.parse(s3.text(r.manifestUri)!);
    assert.equal(manifest.watermarkAfter.through, '2026-01-03');
    assert.deepEqual(Object.keys(manifest.watermarkAfter.files), ['2026-01-01', '2026-01-02', '2026-01-03']);
    assert.deepEqual(
      r.skippedFiles?.map((f) => f.uri),
      [...notDays].sort(),
    );
    const reason = (uri: string) => r.skippedFiles?.find((f) => f.uri === uri)?.reason ?? '';
    assert.match(reason(notDays[0]!), /"dt=2026-13-45" is not a day.*dt=YYYY-MM-DD.*rename/);
    assert.match(reason(notDays[1]!), /"dt=2026-1-4" is not a day/);
    assert.match(reason(notDays[2]!), /not in a dt=YYYY-MM-DD folder/);
    assert.deepEqual(manifest.skippedFiles, r.skippedFiles);
    for (const uri of notDays)
      assert.ok(
        warnings.some((w) => w.includes(JSON.stringify(uri))),
        warnings.join('\n'),
      );
  });

  it('a watermark an older wdp wrote with unsafe file keys loads: kept as history, never read, warned once; Promote/Reject keep them', async () => {
    for (const d of ['2026-01-01', '2026-01-02', '2026-01-03']) day(d);
    const legacy = [
      { uri: `${l.logs}dt=2026-01-01/odd\\name.parquet`, sizeBytes: 10, etag: '"e1"' },
      { uri: `${l.logs}dt=2026-01-01/esc\u001b]0;pwned\u0007.parquet`, sizeBytes: 11 },
      // S3 keys are literal: a ".." segment names an object of this bucket, never read either.
      { uri: `${l.logs}dt=2026-01-01/../up.parquet`, sizeBytes: 12 },
    ];
    // As an older Ingest recorded them: 2026-01-01 trained, 2026-01-02 its holdout.
    const stored = {
      through: '2026-01-02',
      untrained: ['2026-01-02'],
      files: { '2026-01-01': [{ uri: `${l.logs}dt=2026-01-01/part-00000.parquet`, sizeBytes: parquet.length }, ...legacy] },
      runId: 'r0',
      updatedAt: '2026-01-03T00:00:00Z',
    };
    put(l.watermark, JSON.stringify(stored));
    // The hostile name's object itself is there, and would be found late if it were compared by name.
    put(legacy[0]!.uri, parquet);
    const warnings: string[] = [];
    const r = (await createIngestHandler(
      { bucketUri: BUCKET },
      { info: () => {}, warn: (m) => warnings.push(m), error: () => {} },
    )({
      executionName: 'exec-1',
    })) as IngestResult;
    assert.ok(r.hasNewData, JSON.stringify(r));
    assert.deepEqual(r.trainPartitions, ['2026-01-02']);
    assert.deepEqual(r.lateFiles, []);
    const named = warnings.filter((w) => w.includes('kept there as history'));
    assert.equal(named.length, 1, warnings.join('\n'));
    for (const f of legacy) assert.ok(named[0]!.includes(JSON.stringify(f.uri)), named[0]);
    assert.ok(!named[0]!.includes('\u001b') && !named[0]!.includes('\u0007'), 'no raw control character in the warning');
    // In the result too (skipped and history alike), so the summary and the run record name them.
    assert.deepEqual(
      r.skippedFiles?.map((f) => f.uri),
      [legacy[0]!.uri, ...legacy.map((f) => f.uri)],
    );
    assert.match(r.skippedFiles?.[0]?.reason ?? '', /backslash.*rename it to train on it/);
    assert.match(r.skippedFiles?.[1]?.reason ?? '', /older wdp: kept there as history, never read \(it contains a backslash/);
    const manifest = JSON.parse(s3.text(r.manifestUri)!);
    assert.deepEqual(manifest.skippedFiles, r.skippedFiles);
    assert.ok(!JSON.stringify(manifest.data).includes('name.parquet') && !manifest.data.some((u: string) => u.includes('..')));
    assert.deepEqual(manifest.watermarkAfter.files['2026-01-01'], stored.files['2026-01-01']);

    // Promote stores watermarkAfter, Reject its rejection variant: both keep the entries as recorded.
    const run = runManifestSchema.parse(manifest);
    await advanceWatermark(l, run.watermarkAfter);
    assert.deepEqual(JSON.parse(s3.text(l.watermark)!).files['2026-01-01'], stored.files['2026-01-01']);
    put(l.watermark, JSON.stringify(stored));
    await advanceWatermark(l, watermarkAfterRejection(run, rejectedReport(run)));
    const rejected = JSON.parse(s3.text(l.watermark)!);
    assert.deepEqual(rejected.files['2026-01-01'], stored.files['2026-01-01']);
    assert.ok(rejected.held.length > 0);
    assert.deepEqual((await readWatermark(l)).files['2026-01-01'], stored.files['2026-01-01']);
  });

  it('a watermark naming another bucket is still refused', async () => {
    day('2026-01-01');
    put(
      l.watermark,
      JSON.stringify({
        through: '2026-01-01',
        files: { '2026-01-01': [{ uri: 's3://other/logs/x\\y.parquet', sizeBytes: 1 }] },
        runId: 'r0',
        updatedAt: 'x',
      }),
    );
    await assert.rejects(ingest(), /not under the bucket s3:\/\/wdp-test/);
  });

  it('fails clearly without a config, and rejects a malformed event', async () => {
    s3.objects.clear();
    day('2026-01-01');
    day('2026-01-02');
    await assert.rejects(ingest(), /no config at s3:\/\/wdp-test\/config\/wdp.config.json/);
    await assert.rejects(ingest({ executionName: 42 }), /Ingest: invalid event: executionName/);
  });
});

describe('Ingest of a local bucket given by a relative path', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'wdp-ingest-rel-'));
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  it('records absolute bucket, config, log and candidate locations, so the manifest reads the same from any directory', async () => {
    const bucket = join(tmp, 'b');
    await addDays(bucket, 3, { rowsPerDay: 50 });
    await writeFile(join(tmp, 'c.json'), JSON.stringify(smallConfig()));
    // As `wdp pipeline --bucket ./b --config ./c.json` spells them from its working directory.
    const rel = (p: string) => `./${relative(process.cwd(), p)}`;
    const r = await ingest({ executionName: 'rel' }, { bucketUri: rel(bucket), configUri: rel(join(tmp, 'c.json')) });
    assert.ok(r.hasNewData);
    const manifest = await readRunManifest(r.manifestUri);
    assert.equal(manifest.bucketUri, bucket);
    assert.equal(manifest.configUri, join(tmp, 'c.json'));
    assert.equal(manifest.candidateUri, layout(bucket).candidate(manifest.runId));
    const recorded = [
      ...manifest.data,
      ...manifest.holdout,
      ...Object.values(manifest.watermarkAfter.files)
        .flat()
        .map((f) => f.uri),
    ];
    assert.equal(recorded.length, 6);
    for (const uri of recorded) assert.ok(isAbsolute(uri) && uri.startsWith(`${bucket}/logs/`), uri);
  });

  it('a copy of the bucket (cp -a, a restored backup: new inodes, the same files) finds no late files: trained days are not trained again', async () => {
    const bucket = join(tmp, 'orig');
    const days = await addDays(bucket, 3, { rowsPerDay: 50 });
    // Whole seconds: fs.cp sets times through a float, which may move a sub-millisecond mtime
    // across a millisecond (cp -a and rsync -a copy nanoseconds exactly).
    const second = new Date(Math.floor(Date.now() / 1000) * 1000);
    for (const d of days) await utimes(join(layout(bucket).logs, `dt=${d}`, 'part-00000.parquet'), second, second);
    const configUri = join(tmp, 'c.json');
    await writeFile(configUri, JSON.stringify(smallConfig()));
    const first = await ingest({ executionName: 'first' }, { bucketUri: bucket, configUri });
    assert.ok(first.hasNewData);
    // As Promote records it: 2026-01-01 and -02 trained, 2026-01-03 their holdout.
    await advanceWatermark(layout(bucket), (await readRunManifest(first.manifestUri)).watermarkAfter);
    const copy = join(tmp, 'copy');
    await cp(bucket, copy, { recursive: true, preserveTimestamps: true });
    await addDays(copy, 1, { rowsPerDay: 50 });
    const r = await ingest({ executionName: 'next' }, { bucketUri: copy, configUri });
    assert.ok(r.hasNewData, JSON.stringify(r));
    assert.deepEqual(r.lateFiles, []);
    assert.deepEqual(r.trainPartitions, ['2026-01-03']);
    assert.deepEqual(r.holdoutPartitions, ['2026-01-04']);
  });

  it('leaves s3:// and file:// locations as given', () => {
    assert.equal(absoluteUri('s3://b/prefix'), 's3://b/prefix');
    assert.equal(absoluteUri('file:///tmp/b'), 'file:///tmp/b');
    assert.equal(absoluteUri('b/x'), join(process.cwd(), 'b', 'x'));
  });
});
