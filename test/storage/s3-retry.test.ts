/**
 * S3 faults: transient ones (503 SlowDown, 500, a reset connection) are retried with backoff,
 * 403 and a missing bucket fail at once with a clear message. Injected twice: with the SDK mock
 * (the in-memory bucket behind a client that fails first), and with a fault proxy in front of s3rver,
 * so the real SDK's HTTP path sees the faults.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { StorageError, StorageNotFoundError } from '../../src/storage/errors.ts';
import { S3Store } from '../../src/storage/s3-store.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import { mockS3Memory } from '../helpers/s3-memory.ts';
import { type RunningS3rver, setS3Env, startS3rver } from '../helpers/s3rver.ts';

const FAST = { baseDelayMs: 1, maxDelayMs: 5 };
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

function sdkError(name: string, status: number | undefined, code?: string): Error {
  return Object.assign(new Error(`injected ${name}`), { name, ...(code ? { code } : {}), $metadata: { httpStatusCode: status } });
}

/** A client over the in-memory bucket whose first sends fail with `faults`, in order. */
function faultyClient(faults: Error[]): { client: S3Client; sends: () => number } {
  const real = new S3Client({});
  let sends = 0;
  const client = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return async (cmd: Parameters<S3Client['send']>[0]) => {
        sends++;
        const fault = faults.shift();
        if (fault) throw fault;
        return target.send(cmd);
      };
    },
  });
  return { client, sends: () => sends };
}

describe('S3 faults through the SDK mock', () => {
  let bucket: ReturnType<typeof mockS3Memory>;
  before(() => {
    bucket = mockS3Memory();
    bucket.objects.set('b/state/registry.json', new TextEncoder().encode('{"v":1}'));
  });
  after(() => bucket.restore());

  it('retries 503 SlowDown, 500 and a reset connection, then succeeds', async () => {
    const { client, sends } = faultyClient([
      sdkError('SlowDown', 503),
      sdkError('InternalError', 500),
      sdkError('Error', undefined, 'ECONNRESET'),
    ]);
    const store = new S3Store({ client, retry: FAST });
    assert.equal(text(await store.read('s3://b/state/registry.json')), '{"v":1}');
    assert.equal(sends(), 4);
  });

  it('gives up after the configured attempts, naming the URI and the last error', async () => {
    const faults = Array.from({ length: 6 }, () => sdkError('SlowDown', 503));
    const { client, sends } = faultyClient(faults);
    const store = new S3Store({ client, retry: { ...FAST, attempts: 3 } });
    await assert.rejects(
      store.write('s3://b/x.json', '{}'),
      (e: unknown) => e instanceof StorageError && /x\.json: write failed \(HTTP 503\): SlowDown/.test(e.message),
    );
    assert.equal(sends(), 3);
  });

  it('fails at once on 403, saying what to check', async () => {
    const { client, sends } = faultyClient([sdkError('AccessDenied', 403)]);
    const store = new S3Store({ client, retry: FAST });
    await assert.rejects(
      store.read('s3://b/state/registry.json'),
      (e: unknown) => e instanceof StorageError && /access denied \(HTTP 403\).*IAM role or user and the bucket policy/.test(e.message),
    );
    assert.equal(sends(), 1);
  });

  it('fails at once on a missing bucket, naming it', async () => {
    const { client, sends } = faultyClient([sdkError('NoSuchBucket', 404)]);
    const store = new S3Store({ client, retry: FAST });
    await assert.rejects(
      store.readRange('s3://nobucket/k', 0, 4),
      (e: unknown) => e instanceof StorageNotFoundError && e.message.includes('the bucket nobucket does not exist'),
    );
    assert.equal(sends(), 1);
  });

  it('a conditional create whose answer was lost is not reported as a conflict with itself', async () => {
    // The first PutObject reaches the bucket, but its answer is lost (a reset after the write).
    const real = new S3Client({});
    let puts = 0;
    const client = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return async (cmd: Parameters<S3Client['send']>[0]) => {
          const out = await target.send(cmd);
          if (cmd.constructor.name === 'PutObjectCommand' && puts++ === 0) throw sdkError('Error', undefined, 'ECONNRESET');
          return out;
        };
      },
    });
    const store = new S3Store({ client, retry: FAST });
    const uri = `s3://b/lock-${randomBytes(3).toString('hex')}.json`;
    const { etag } = await store.write(uri, '{"owner":"me"}', { ifNoneMatch: '*' });
    assert.equal((await store.readVersioned(uri))?.etag, etag);
  });
});

describe('S3 faults through a proxy in front of s3rver', () => {
  let s3: RunningS3rver;
  let proxy: FaultProxy;
  let restoreEnv: () => void;
  before(async () => {
    s3 = await startS3rver({ buckets: ['faults'] });
    proxy = await startFaultProxy(s3.endpoint);
    restoreEnv = setS3Env(proxy.endpoint);
  });
  after(async () => {
    restoreEnv();
    await proxy.stop();
    await s3.stop();
  });

  it('writes and reads through 503 SlowDown and a reset connection', async () => {
    const store = new S3Store({ retry: FAST });
    const uri = `s3://faults/r-${randomBytes(3).toString('hex')}/a.json`;
    proxy.inject({ status: 503, code: 'SlowDown' }, { reset: true });
    await store.write(uri, 'hello');
    const before = proxy.seen.length;
    proxy.inject({ status: 503, code: 'SlowDown' });
    assert.equal(text(await store.read(uri)), 'hello');
    assert.ok(proxy.seen.length - before >= 2, 'the read was tried again');
  });

  it('does not retry a 403', async () => {
    const store = new S3Store({ retry: FAST });
    const before = proxy.seen.length;
    proxy.inject({ status: 403, code: 'AccessDenied' });
    await assert.rejects(
      store.read('s3://faults/anything.json'),
      (e: unknown) => e instanceof StorageError && /access denied \(HTTP 403\)/.test(e.message),
    );
    assert.equal(proxy.seen.length - before, 1);
  });
});
