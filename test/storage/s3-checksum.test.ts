/**
 * S3's own SHA-256 checksums in place of a second full hash (issue 10, cold start).
 *
 * s3rver ignores checksums: it accepts a PutObject with ChecksumAlgorithm and answers HeadObject
 * with ChecksumMode ENABLED without any ChecksumSHA256 (checked in the contract run on s3rver,
 * where readWithSha256 hashes). So the skip, and every fallback, is shown here on an
 * aws-sdk-client-mock bucket that keeps checksums as S3 does.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { readModelFiles } from '../../src/model/artifact.ts';
import { ModelLoadError } from '../../src/model/errors.ts';
import { clearStoreCache } from '../../src/storage/index.ts';
import { fullObjectSha256, S3Store } from '../../src/storage/s3-store.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';

interface Obj {
  bytes: Uint8Array;
  etag: string;
  /** What HeadObject answers with ChecksumMode ENABLED (base64), and its type. */
  checksum?: string;
  type?: 'FULL_OBJECT' | 'COMPOSITE';
}

const b64 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('base64');
const hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function mockBucket() {
  const objects = new Map<string, Obj>();
  const s3 = mockClient(S3Client);
  let etags = 0;
  let headFails = false;
  s3.on(PutObjectCommand).callsFake(async (i: { Key: string; Body: Uint8Array | string; ChecksumAlgorithm?: string }) => {
    const bytes = typeof i.Body === 'string' ? new TextEncoder().encode(i.Body) : i.Body;
    const o: Obj = { bytes, etag: `"e${++etags}"` };
    // As S3: a single PutObject with ChecksumAlgorithm SHA256 keeps a full-object SHA-256.
    if (i.ChecksumAlgorithm === 'SHA256') Object.assign(o, { checksum: b64(bytes), type: 'FULL_OBJECT' });
    objects.set(i.Key, o);
    return { ETag: o.etag };
  });
  s3.on(HeadObjectCommand).callsFake((i: { Key: string; ChecksumMode?: string }) => {
    if (headFails) throw Object.assign(new Error('AccessDenied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    const o = objects.get(i.Key);
    if (!o) throw Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
    return {
      ContentLength: o.bytes.length,
      ETag: o.etag,
      ...(i.ChecksumMode === 'ENABLED' && o.checksum ? { ChecksumSHA256: o.checksum, ChecksumType: o.type } : {}),
    };
  });
  s3.on(GetObjectCommand).callsFake((i: { Key: string; Range?: string }) => {
    const o = objects.get(i.Key);
    if (!o) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    const m = i.Range ? /bytes=(\d+)-(\d+)/.exec(i.Range) : null;
    const end = m ? Math.min(Number(m[2]) + 1, o.bytes.length) : o.bytes.length;
    const bytes = m ? o.bytes.subarray(Number(m[1]), end) : o.bytes;
    return {
      ETag: o.etag,
      ...(m ? { ContentRange: `bytes ${m[1]}-${end - 1}/${o.bytes.length}` } : {}),
      Body: {
        transformToByteArray: async () => bytes,
        async *[Symbol.asyncIterator]() {
          yield bytes;
        },
      },
    };
  });
  return {
    objects,
    s3,
    failHead: () => {
      headFails = true;
    },
  };
}

let bucket: ReturnType<typeof mockBucket>;
const saved = { region: process.env.AWS_REGION, key: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
beforeEach(() => {
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  clearStoreCache();
  bucket = mockBucket();
});
afterEach(() => {
  bucket.s3.restore();
  clearStoreCache();
  for (const [k, v] of [
    ['AWS_REGION', saved.region],
    ['AWS_ACCESS_KEY_ID', saved.key],
    ['AWS_SECRET_ACCESS_KEY', saved.secret],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const DATA = new Uint8Array(100_000).map((_, i) => (i * 31) % 256);
const store = () => new S3Store({ partBytes: 16_384, retry: { attempts: 1 } });

describe('S3Store.readWithSha256 and S3 checksums', () => {
  it('writes every object with ChecksumAlgorithm SHA256 (a single PutObject: a full-object checksum)', async () => {
    await store().write('s3://b/k', DATA);
    const put = bucket.s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    assert.equal(put.ChecksumAlgorithm, 'SHA256');
    assert.equal(bucket.objects.get('k')!.type, 'FULL_OBJECT');
  });

  it("uses the store's SHA-256 of the version read and hashes nothing: the answer is the store's even where the bytes differ", async () => {
    await store().write('s3://b/k', DATA);
    const r = await store().readWithSha256('s3://b/k');
    assert.equal(r.by, 'store');
    assert.equal(r.sha256, hex(DATA));
    // Proof of the skip: bytes changed behind S3's checksum (same version) are not hashed here.
    const o = bucket.objects.get('k')!;
    o.bytes = DATA.map((v) => v ^ 1);
    const skipped = await store().readWithSha256('s3://b/k');
    assert.equal(skipped.by, 'store');
    assert.equal(skipped.sha256, hex(DATA));
    assert.notEqual(hex(skipped.data), skipped.sha256);
  });

  it('hashes the bytes when S3 keeps no checksum, a composite one, or the HEAD fails', async () => {
    for (const setup of [
      (o: Obj) => {
        delete o.checksum;
        delete o.type;
      },
      (o: Obj) => {
        o.checksum = `${b64(DATA)}-3`;
        o.type = 'COMPOSITE';
      },
      () => bucket.failHead(),
    ]) {
      await store().write('s3://b/k', DATA);
      setup(bucket.objects.get('k')!);
      const r = await store().readWithSha256('s3://b/k');
      assert.equal(r.by, 'read');
      assert.equal(r.sha256, hex(DATA));
      assert.ok(Buffer.from(r.data).equals(Buffer.from(DATA)));
    }
  });

  it('hashes the bytes when the checksum names another version than the one read', async () => {
    await store().write('s3://b/k', DATA);
    const o = bucket.objects.get('k')!;
    bucket.s3.on(HeadObjectCommand).resolves({ ETag: '"another"', ChecksumSHA256: o.checksum!, ChecksumType: 'FULL_OBJECT' });
    const r = await store().readWithSha256('s3://b/k');
    assert.equal(r.by, 'read');
    assert.equal(r.sha256, hex(DATA));
  });

  it('fullObjectSha256: base64 of 32 bytes → hex; composite, malformed or absent → undefined', () => {
    assert.equal(fullObjectSha256(b64(DATA), 'FULL_OBJECT'), hex(DATA));
    assert.equal(fullObjectSha256(b64(DATA), undefined), hex(DATA));
    assert.equal(fullObjectSha256(`${b64(DATA)}-4`, undefined), undefined);
    assert.equal(fullObjectSha256(b64(DATA), 'COMPOSITE'), undefined);
    assert.equal(fullObjectSha256('abcd', 'FULL_OBJECT'), undefined);
    assert.equal(fullObjectSha256(undefined, undefined), undefined);
  });

  it('a cancelled read asks for no more parts and rejects as cancelled (a dropped prefetch stops downloading)', async () => {
    await store().write('s3://b/k', DATA);
    const stop = new AbortController();
    let gets = 0;
    // One part at a time: the second GET (the first after the head part) cancels the read.
    const original = bucket.objects.get('k')!;
    bucket.s3.on(GetObjectCommand).callsFake((i: { Range?: string }) => {
      gets++;
      if (gets === 2) stop.abort();
      const m = /bytes=(\d+)-(\d+)/.exec(i.Range ?? '')!;
      const end = Math.min(Number(m[2]) + 1, original.bytes.length);
      const bytes = original.bytes.subarray(Number(m[1]), end);
      return {
        ETag: original.etag,
        ContentRange: `bytes ${m[1]}-${end - 1}/${original.bytes.length}`,
        Body: {
          transformToByteArray: async () => bytes,
          async *[Symbol.asyncIterator]() {
            yield bytes;
          },
        },
      };
    });
    const s = new S3Store({ partBytes: 16_384, readConcurrency: 1, retry: { attempts: 3 } });
    await assert.rejects(s.readWithSha256('s3://b/k', { signal: stop.signal }), /^StorageError: s3:\/\/b\/k: read cancelled$/);
    assert.equal(gets, 2, 'of 7 parts, none requested after the cancel');
    // Already cancelled: nothing is requested at all.
    gets = 0;
    await assert.rejects(s.readWithSha256('s3://b/k', { signal: AbortSignal.abort() }), /read cancelled/);
    assert.equal(gets, 0);
  });
});

describe('a model on S3: the store checksum is checked against the manifest', () => {
  let dir: string;
  let local: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wdp-s3-checksum-'));
    local = await saveTinyModel(dir, 'm');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Puts the model's files into the mock bucket under `m/` through S3Store (so with checksums). */
  async function upload(): Promise<string> {
    const s = store();
    for (const name of await readdir(local)) await s.write(`s3://b/m/${name}`, new Uint8Array(await readFile(join(local, name))));
    return 's3://b/m';
  }
  const checksumHeads = () => bucket.s3.commandCalls(HeadObjectCommand).filter((c) => c.args[0].input.ChecksumMode === 'ENABLED').length;

  it('matching: loads without hashing serving.safetensors (the store vouched for it)', async () => {
    const uri = await upload();
    const { state } = await readModelFiles(uri, { weightsOnly: true });
    assert.ok(state.tower);
    assert.ok(checksumHeads() >= 1);
  });

  it("a store checksum that does not match the manifest's fails the load, naming the file", async () => {
    const uri = await upload();
    bucket.objects.get('m/serving.safetensors')!.checksum = b64(new Uint8Array([1, 2, 3]));
    await assert.rejects(
      readModelFiles(uri, { weightsOnly: true }),
      (e: Error) =>
        e instanceof ModelLoadError && /serving\.safetensors is corrupted: its sha256 does not match the manifest/.test(e.message),
    );
  });

  it('no store checksum: the bytes are hashed, so a flipped byte still fails the load', async () => {
    const uri = await upload();
    const o = bucket.objects.get('m/serving.safetensors')!;
    delete o.checksum;
    delete o.type;
    await readModelFiles(uri, { weightsOnly: true });
    o.bytes = o.bytes.slice();
    o.bytes[o.bytes.length - 1]! ^= 0xff;
    await assert.rejects(readModelFiles(uri, { weightsOnly: true }), /serving\.safetensors is corrupted/);
  });
});
