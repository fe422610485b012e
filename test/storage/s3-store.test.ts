import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { StorageError, StorageNotFoundError } from '../../src/storage/errors.ts';
import { S3Store, parseS3Uri } from '../../src/storage/s3-store.ts';
import { clearStoreCache, storeFor } from '../../src/storage/index.ts';
import { mockS3Memory } from '../helpers/s3-memory.ts';
import { type RunningS3rver, setS3Env, startS3rver } from '../helpers/s3rver.ts';
import { blobStoreContract, conditionalWriteContract } from './contract.ts';

let s3: RunningS3rver;
let restoreEnv: () => void;
before(async () => {
  s3 = await startS3rver({ buckets: ['wdp-test'] });
  restoreEnv = setS3Env(s3.endpoint);
});
after(async () => {
  restoreEnv();
  clearStoreCache();
  await s3.stop();
});

// A fresh key prefix per test keeps tests independent in the one bucket; pageSize 3 makes
// every listing of more than 3 objects cross pages.
blobStoreContract('S3Store on s3rver', async () => ({
  store: new S3Store({ pageSize: 3 }),
  root: `s3://wdp-test/t-${randomBytes(4).toString('hex')}`,
}));

describe('S3Store', () => {
  it('parses s3 URIs', () => {
    assert.deepEqual(parseS3Uri('s3://b/a/k.txt'), { bucket: 'b', key: 'a/k.txt' });
    assert.deepEqual(parseS3Uri('s3://b'), { bucket: 'b', key: '' });
    assert.throws(() => parseS3Uri('/tmp/x'), StorageError);
  });

  it('is what storeFor returns for s3:// URIs, and that store works against the endpoint', async () => {
    const uri = 's3://wdp-test/storefor/x.txt';
    const store = storeFor(uri);
    await store.write(uri, 'hi');

    assert.ok(store instanceof S3Store);
    assert.equal(storeFor('s3://wdp-test/other'), store);
    assert.equal(new TextDecoder().decode(await store.read(uri)), 'hi');
  });

  it('names the URI when the bucket does not exist', async () => {
    const uri = 's3://no-such-bucket/k.txt';
    await assert.rejects(new S3Store().read(uri), (err: unknown) => err instanceof StorageNotFoundError && err.message.includes(uri));
  });
});

describe('S3Store.read in parallel byte ranges', () => {
  it('reassembles an object from many ranges (s3rver), and reads empty and one-part objects', async () => {
    const store = new S3Store({ partBytes: 1000, readConcurrency: 3 });
    const root = `s3://wdp-test/parts-${randomBytes(4).toString('hex')}`;
    for (const size of [0, 1, 999, 1000, 1001, 10_007]) {
      const bytes = new Uint8Array(randomBytes(size));
      await store.write(`${root}/${size}.bin`, bytes);
      assert.deepEqual(await store.read(`${root}/${size}.bin`), bytes, `size ${size}`);
    }
  });

  it('fails, naming the URI, when the object is replaced mid-read', async () => {
    const bucket = mockS3Memory();
    try {
      const uri = 's3://b/model/serving.safetensors';
      bucket.objects.set('b/model/serving.safetensors', new Uint8Array(3000).fill(1));
      // Replace the object right after the first part has been served.
      const store = new S3Store({
        partBytes: 1000,
        readConcurrency: 1,
        client: new Proxy(new S3Client({}), {
          get(target, prop, receiver) {
            if (prop !== 'send') return Reflect.get(target, prop, receiver);
            return async (cmd: unknown) => {
              const res = await target.send(cmd as GetObjectCommand);
              bucket.objects.set('b/model/serving.safetensors', new Uint8Array(3000).fill(2));
              return res;
            };
          },
        }),
      });
      await assert.rejects(
        store.read(uri),
        (e: unknown) => e instanceof StorageError && e.message.includes(uri) && /replaced while it was being read/.test(e.message),
      );
    } finally {
      bucket.restore();
    }
  });
});

describe('S3Store conditional writes (the in-memory SDK mock answers as S3; s3rver ignores the headers)', () => {
  let bucket: ReturnType<typeof mockS3Memory>;
  before(() => {
    bucket = mockS3Memory();
  });
  after(() => bucket.restore());
  conditionalWriteContract('S3Store', async () => ({ store: new S3Store(), root: `s3://b/c-${randomBytes(4).toString('hex')}` }));

  it('sends If-None-Match: * and If-Match: <etag> on PutObject, nothing on a plain write', async () => {
    const store = new S3Store();
    const uri = `s3://b/shape-${randomBytes(4).toString('hex')}/state.json`;
    await store.write(uri, 'a', { ifNoneMatch: '*' });
    const { etag } = await store.write(uri, 'b', { ifMatch: (await store.readVersioned(uri))!.etag });
    await store.write(uri, 'c');
    const puts = bucket.puts().filter((p) => uri.endsWith(p.Key ?? '\0'));
    assert.deepEqual(
      puts.map((p) => [p.IfNoneMatch, p.IfMatch]),
      [
        ['*', undefined],
        [undefined, `"${createHash('md5').update('a').digest('hex')}"`],
        [undefined, undefined],
      ],
    );
    assert.equal(etag, `"${createHash('md5').update('b').digest('hex')}"`);
  });
});
