/**
 * What the bucket's state documents record for its objects: bucket-relative keys for a folder
 * bucket (whatever the working directory or the bucket's spelling), full URIs on S3, and older
 * documents' cwd-relative paths still read when they resolve inside the bucket. Anything outside
 * the bucket is refused when read.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ingest } from '../../../src/workflow/steps/ingest.ts';
import { BucketPathError, historyOnlyFiles, recordUri, resolveRecordedUri } from '../../../src/workflow/bucket/keys.ts';
import { layout } from '../../../src/workflow/bucket/layout.ts';
import { readQuarantine } from '../../../src/workflow/bucket/quarantine.ts';
import { advanceWatermark, readRegistry, readRegistryVersioned, readWatermark, writeRegistry } from '../../../src/workflow/bucket/state.ts';
import type { Registry, Watermark } from '../../../src/workflow/schemas.ts';
import { promotedEntry } from '../../helpers/registry-fixture.ts';
import { addDays, writeConfig } from '../../helpers/workflow-fixture.ts';

const MARKED = { keys: 'bucket-relative' } as const;

describe('bucket keys: recording and resolving locations', () => {
  let dir: string;
  let abs: string;
  before(async () => {
    // Its relative spelling climbs out of the working directory ("../../tmp/…"): still a spelling of the bucket.
    dir = await mkdtemp(join(tmpdir(), 'wdp-keys-test-'));
    abs = join(dir, 'bucket');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('records the same key for every spelling of a folder bucket, and resolves it under the spelling in use', () => {
    const rel = relative(process.cwd(), abs);
    const spellings = [abs, `${abs}/`, rel, `./${rel}`, pathToFileURL(abs).href];
    for (const b of spellings) {
      const l = layout(b);
      assert.equal(recordUri(l, l.registryModel(2), 'doc'), 'models/registry/v2', b);
      assert.equal(resolveRecordedUri(l, 'models/registry/v2', MARKED, 'doc'), l.registryModel(2), b);
    }
  });

  it('refuses to record a location outside a folder bucket', () => {
    assert.throws(() => recordUri(layout(abs), join(dir, 'elsewhere', 'v1'), 'the registry'), BucketPathError);
  });

  it('refuses keys and paths that leave the bucket, naming the document and the path', () => {
    const l = layout(abs);
    for (const bad of ['models/../../../etc', '../x', '/etc/passwd', 'file:///etc', 'a\\..\\b', 'models/\0x']) {
      assert.throws(
        () => resolveRecordedUri(l, bad, MARKED, '/b/serving/live.json'),
        (e: Error) => e instanceof BucketPathError && e.message.includes('/b/serving/live.json') && e.message.includes(JSON.stringify(bad)),
        bad,
      );
    }
    // Older documents: a path outside the bucket (absolute, or relative to the cwd) is refused too.
    for (const bad of ['/etc', `${abs}/../../../../etc`, relative(process.cwd(), join(dir, 'other', 'v1'))]) {
      assert.throws(() => resolveRecordedUri(l, bad, {}, 'doc'), BucketPathError, bad);
    }
  });

  it('reads older documents: cwd-relative or absolute paths inside the bucket', () => {
    const l = layout(abs);
    assert.equal(resolveRecordedUri(l, relative(process.cwd(), join(abs, 'models/registry/v1')), {}, 'doc'), l.registryModel(1));
    assert.equal(resolveRecordedUri(l, join(abs, 'models/registry/v1'), {}, 'doc'), l.registryModel(1));
    assert.equal(resolveRecordedUri(l, pathToFileURL(join(abs, 'models/registry/v1')).href, {}, 'doc'), l.registryModel(1));
  });

  it('keeps full s3:// URIs on S3, refusing another bucket or a ".." key', () => {
    const l = layout('s3://b');
    assert.equal(recordUri(l, 's3://b/models/registry/v3', 'doc'), 's3://b/models/registry/v3');
    assert.equal(resolveRecordedUri(l, 's3://b/models/registry/v3', {}, 'doc'), 's3://b/models/registry/v3');
    for (const bad of ['s3://other/models/registry/v3', 's3://b/models/../../x', 's3://bb/x', 'models/registry/v3'])
      assert.throws(() => resolveRecordedUri(l, bad, {}, 'doc'), BucketPathError, bad);
  });
});

describe('state documents in a folder bucket do not depend on the working directory or the spelling', () => {
  let dir: string;
  let abs: string;
  let rel: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wdp-keys-state-'));
    abs = join(dir, 'bucket');
    rel = relative(process.cwd(), abs);
    await writeConfig(abs);
    await addDays(abs, 2, { rowsPerDay: 50 });
    await mkdir(join(abs, 'registry'), { recursive: true });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('a watermark written with a relative spelling finds no late files through the absolute one (and the reverse)', async () => {
    for (const [first, second] of [
      [rel, abs],
      [abs, `./${rel}`],
    ] as const) {
      await rm(layout(abs).watermark, { force: true });
      // What Ingest would record after a run on both days, through the first spelling…
      const r1 = await ingest({ executionName: 'a' }, { bucketUri: first });
      assert.ok(r1.hasNewData);
      const manifest = JSON.parse(await readFile(r1.manifestUri, 'utf8')) as { watermarkAfter: Watermark };
      await advanceWatermark(layout(first), manifest.watermarkAfter);
      const stored = JSON.parse(await readFile(layout(abs).watermark, 'utf8')) as Watermark;
      assert.equal(stored.keys, 'bucket-relative');
      assert.deepEqual(
        Object.values(stored.files).flatMap((refs) => refs.map((f) => f.uri)),
        ['logs/dt=2026-01-01/part-00000.parquet', 'logs/dt=2026-01-02/part-00000.parquet'],
      );
      // …then read through the second: the same files, nothing late.
      const r2 = await ingest({ executionName: 'b' }, { bucketUri: second });
      assert.equal(r2.hasNewData, false, JSON.stringify(r2));
      assert.deepEqual(r2.lateFiles ?? [], []);
      const w = await readWatermark(layout(second));
      assert.equal(w.files['2026-01-01']?.[0]?.uri, `${layout(second).logs}dt=2026-01-01/part-00000.parquet`);
      assert.equal(w.keys, undefined, 'the marker stays in the document');
    }
  });

  it('reads an old-format bucket (cwd-relative paths) and rewrites it with keys on the next write', async () => {
    const l = layout(abs);
    const old = (p: string) => relative(process.cwd(), join(abs, p));
    const oldWatermark = {
      through: '2026-01-02',
      untrained: ['2026-01-02'],
      files: {
        '2026-01-01': [{ uri: old('logs/dt=2026-01-01/part-00000.parquet'), sizeBytes: 1 }],
      },
      runId: 'old',
      updatedAt: '2026-01-01T00:00:00.000Z',
    };
    await writeFile(l.watermark, JSON.stringify(oldWatermark));
    const oldRegistry: Registry = {
      formatVersion: 1,
      champion: { version: 1, uri: old('models/registry/v1'), modelId: 'm1' },
      history: [promotedEntry(old('models/registry/v1'), 1)],
    };
    await writeFile(l.registry, JSON.stringify(oldRegistry));

    const la = layout(abs);
    assert.equal((await readWatermark(la)).files['2026-01-01']?.[0]?.uri, `${la.logs}dt=2026-01-01/part-00000.parquet`);
    const registry = await readRegistry(la);
    assert.equal(registry.champion?.uri, la.registryModel(1));
    assert.equal(registry.history[0]?.reportUri, la.registryModel(1));

    // The next write (a Promote, a rollback) records keys.
    const read = await readRegistryVersioned(la);
    await writeRegistry(la, read.registry, read.etag);
    const stored = JSON.parse(await readFile(l.registry, 'utf8')) as Registry;
    assert.equal(stored.keys, 'bucket-relative');
    assert.deepEqual([stored.champion?.uri, stored.history[0]?.uri], ['models/registry/v1', 'models/registry/v1']);
    assert.equal((await readRegistry(layout(`./${rel}`))).champion?.uri, layout(`./${rel}`).registryModel(1));
  });

  it('a watermark an older wdp wrote with unsafe file names loads, and a run that retrains the day keeps them as recorded', async () => {
    const l = layout(abs);
    const part = {
      uri: 'logs/dt=2026-01-01/part-00000.parquet',
      sizeBytes: (await readFile(join(abs, 'logs/dt=2026-01-01/part-00000.parquet'))).length,
    };
    const legacy = [
      { uri: 'logs/dt=2026-01-01/odd\\name.parquet', sizeBytes: 10 },
      { uri: 'logs/dt=2026-01-01/esc\u001b]0;pwned\u0007.parquet', sizeBytes: 11, modifiedMs: 5 },
    ];
    const stored = {
      through: '2026-01-01',
      untrained: ['2026-01-01'],
      files: { '2026-01-01': [part, ...legacy] },
      runId: 'r0',
      updatedAt: '2026-01-02T00:00:00.000Z',
      keys: 'bucket-relative',
    };
    await writeFile(l.watermark, JSON.stringify(stored));
    for (const b of [abs, `./${rel}`]) {
      const w = await readWatermark(layout(b));
      assert.deepEqual(
        w.files['2026-01-01']?.map((f) => f.uri),
        [part, ...legacy].map((f) => `${layout(b).logs}${f.uri.slice('logs/'.length)}`),
      );
      assert.deepEqual(
        historyOnlyFiles(layout(b), w).map((h) => [h.uri.slice(layout(b).logs.length), h.reason]),
        [
          ['dt=2026-01-01/odd\\name.parquet', 'it contains a backslash (keys use "/")'],
          ['dt=2026-01-01/esc\u001b]0;pwned\u0007.parquet', 'it contains a control character (U+001B)'],
        ],
      );
    }
    const warnings: string[] = [];
    const r = await ingest(
      { executionName: 'a' },
      { bucketUri: abs, logger: { info: () => {}, warn: (m) => warnings.push(m), error: () => {} } },
    );
    assert.ok(r.hasNewData, JSON.stringify(r));
    assert.deepEqual([r.trainPartitions, r.holdoutPartitions], [['2026-01-01'], ['2026-01-02']]);
    assert.equal(warnings.filter((m) => m.includes('kept there as history')).length, 1, warnings.join('\n'));
    const manifest = JSON.parse(await readFile(r.manifestUri, 'utf8')) as { watermarkAfter: Watermark; data: string[] };
    assert.deepEqual(manifest.data, [join(abs, 'logs/dt=2026-01-01/part-00000.parquet')]);
    await advanceWatermark(l, manifest.watermarkAfter);
    const after = JSON.parse(await readFile(l.watermark, 'utf8')) as Watermark;
    // The retrained day records its file anew (as listed now) and keeps the history as it was.
    assert.deepEqual(
      after.files['2026-01-01']?.map((f) => f.uri),
      [part, ...legacy].map((f) => f.uri),
    );
    assert.deepEqual(after.files['2026-01-01']?.slice(1), legacy);

    // An older document (paths as its writer spelled them) with such a name: read, rewritten as a key.
    await writeFile(
      l.watermark,
      JSON.stringify({ ...stored, keys: undefined, files: { '2026-01-01': [{ ...legacy[0]!, uri: join(abs, legacy[0]!.uri) }] } }),
    );
    const old = await readWatermark(l);
    assert.equal(old.files['2026-01-01']?.[0]?.uri, `${l.bucketUri}/${legacy[0]!.uri}`);
    await advanceWatermark(l, { ...old, runId: 'r1' });
    assert.deepEqual(JSON.parse(await readFile(l.watermark, 'utf8')).files['2026-01-01'], [legacy[0]]);
    await rm(l.watermark, { force: true });
    await rm(join(abs, 'runs'), { recursive: true, force: true });
  });

  it('refuses a registry or watermark naming a path outside the bucket, naming the file', async () => {
    const l = layout(abs);
    const outside: Registry = {
      formatVersion: 1,
      champion: { version: 1, uri: join(dir, 'not-the-bucket', 'v1'), modelId: 'm1' },
      history: [promotedEntry(join(dir, 'not-the-bucket', 'v1'), 1)],
    };
    await writeFile(l.registry, JSON.stringify(outside));
    await assert.rejects(readRegistry(l), (e: Error) => e.message.includes(l.registry) && e.message.includes('not-the-bucket'));
    const watermark = {
      through: '2026-01-01',
      files: { '2026-01-01': [{ uri: 'logs/../../x', sizeBytes: 1 }] },
      runId: 'x',
      updatedAt: '2026-01-01T00:00:00.000Z',
      keys: 'bucket-relative',
    };
    await writeFile(l.watermark, JSON.stringify(watermark));
    await assert.rejects(readWatermark(l), (e: Error) => e.message.includes(l.watermark) && e.message.includes('../x'));
    assert.deepEqual((await readQuarantine(l)).files, []);
  });
});
