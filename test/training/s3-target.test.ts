/**
 * `wdp train --out s3://…` finds out that it cannot write there before it reads a byte of data,
 * not after hours of training: a missing bucket (s3rver), a role without PutObject or without
 * DeleteObject (the in-memory mock answering 403).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ModelTargetError } from '../../src/model/errors.ts';
import { clearStoreCache } from '../../src/storage/index.ts';
import { trainModel } from '../../src/training/train.ts';
import type { Logger } from '../../src/util/log.ts';
import { type MemoryBucket, mockS3Memory } from '../helpers/s3-memory.ts';
import { type RunningS3rver, setS3Env, startS3rver } from '../helpers/s3rver.ts';
import { tinyChunk, tinyConfig } from '../helpers/tiny-data.ts';
import { writeTinyParquet } from '../helpers/tiny-files.ts';

let dir: string;
let logs: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-s3-target-'));
  logs = join(dir, 'logs.parquet');
  await writeTinyParquet(logs, tinyChunk({ rows: 500, seed: 7 }));
});
after(() => rm(dir, { recursive: true, force: true }));

/** A logger that keeps its lines, to show training never started. */
function lines(): { log: Logger; seen: string[] } {
  const seen: string[] = [];
  const keep = (m: string) => {
    seen.push(m);
  };
  return { log: { info: keep, warn: keep, error: keep }, seen };
}

const train = (out: string, log: Logger, existing: 'refuse' | 'replace' = 'refuse') =>
  trainModel({ config: tinyConfig(), data: [logs], out, existing, progress: false, backend: 'onnx', logger: log });

describe('an S3 --out that cannot be written (in-memory S3 answering 403)', () => {
  let bucket: MemoryBucket;
  before(() => {
    bucket = mockS3Memory();
  });
  after(() => bucket.restore());

  test('no PutObject: refused before training, naming the target, and nothing is left there', async () => {
    bucket.deny('put', /^b\/models\/denied\//);
    const { log, seen } = lines();
    await assert.rejects(
      train('s3://b/models/denied', log),
      (e: unknown) =>
        e instanceof ModelTargetError &&
        /^cannot save a model to s3:\/\/b\/models\/denied: cannot write under it \(checked before training\): .*access denied \(HTTP 403\)/.test(
          e.message,
        ),
    );
    assert.deepEqual(
      seen.filter((l) => l.startsWith('training')),
      [],
    );
    assert.deepEqual(
      [...bucket.objects.keys()].filter((k) => k.startsWith('b/models/denied')),
      [],
    );
  });

  test('no DeleteObject: --force (which deletes the old manifest first) is refused before training; a new prefix still saves', async () => {
    bucket.deny('delete', /^b\/models\/nodelete\//);
    const { log, seen } = lines();
    await assert.rejects(
      train('s3://b/models/nodelete', log, 'replace'),
      (e: unknown) =>
        e instanceof ModelTargetError &&
        /cannot delete under it \(checked before training; .*\): .*access denied .*; the probe object s3:\/\/b\/models\/nodelete\/\.wdp-write-probe-[0-9a-f]+ was left there/.test(
          e.message,
        ),
    );
    assert.equal(seen.filter((l) => l.startsWith('training')).length, 0);
    // Saving to a new prefix deletes nothing: the left-over probe is not taken for a model file.
    const r = await train('s3://b/models/nodelete', lines().log);
    assert.equal(r.manifest.trainedOn.rows, 500);
  });

  test('a writable prefix: the probe leaves nothing behind and the model is saved', async () => {
    const r = await train('s3://b/models/ok', lines().log);
    assert.equal(r.manifest.trainedOn.rows, 500);
    const keys = [...bucket.objects.keys()].filter((k) => k.startsWith('b/models/ok/'));
    assert.ok(keys.includes('b/models/ok/manifest.json'));
    assert.deepEqual(
      keys.filter((k) => k.includes('probe')),
      [],
    );
  });
});

describe('an S3 --out in a bucket that does not exist (s3rver)', () => {
  let s3: RunningS3rver;
  let restoreEnv: () => void;
  before(async () => {
    s3 = await startS3rver({ buckets: ['wdp-models'] });
    restoreEnv = setS3Env(s3.endpoint);
    clearStoreCache();
  });
  after(async () => {
    restoreEnv();
    clearStoreCache();
    await s3.stop();
  });

  test('refused before training, naming the bucket', async () => {
    const { log, seen } = lines();
    await assert.rejects(
      train('s3://no-such-bucket/models/m', log),
      (e: unknown) => e instanceof ModelTargetError && /the bucket no-such-bucket does not exist/.test(e.message),
    );
    assert.equal(seen.filter((l) => l.startsWith('training')).length, 0);
    const r = await train('s3://wdp-models/models/m', lines().log);
    assert.equal(r.uri, 's3://wdp-models/models/m');
  });
});
