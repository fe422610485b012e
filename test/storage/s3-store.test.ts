import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { StorageError, StorageNotFoundError } from '../../src/storage/errors.ts';
import { S3Store, parseS3Uri } from '../../src/storage/s3-store.ts';
import { clearStoreCache, storeFor } from '../../src/storage/index.ts';
import { type RunningS3rver, setS3Env, startS3rver } from '../helpers/s3rver.ts';
import { blobStoreContract } from './contract.ts';

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
