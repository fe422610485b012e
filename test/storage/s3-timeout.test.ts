/**
 * A stalled S3 endpoint: a TCP server that accepts connections and never answers must not hang
 * the store. Each try is cut by the connection's idle timeout, retried per the RetryPolicy, and
 * the last failure names the URI. A slow body that keeps moving is NOT cut: the limit is on
 * idleness, not on a transfer's total duration (large ranged GETs of model files).
 * Timeouts are injected small through S3StoreOptions.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { StorageError } from '../../src/storage/errors.ts';
import { S3Store } from '../../src/storage/s3-store.ts';
import { setS3Env } from '../helpers/s3rver.ts';

const FAST = { baseDelayMs: 1, maxDelayMs: 5 };

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

describe('an S3 endpoint that accepts and never answers', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  let connections = 0;
  let restoreEnv: () => void;

  before(async () => {
    server = createServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      // Read the request and say nothing.
      socket.resume();
    });
    restoreEnv = setS3Env(await listen(server));
  });
  after(async () => {
    restoreEnv();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('times each try out, retries per the policy, then fails naming the URI', async () => {
    connections = 0;
    const store = new S3Store({ socketIdleTimeoutMs: 200, connectionTimeoutMs: 200, retry: { ...FAST, attempts: 3 } });
    const started = performance.now();
    await assert.rejects(store.list('s3://b/logs/'), (e: unknown) => {
      assert.ok(e instanceof StorageError, String(e));
      assert.match(e.message, /^s3:\/\/b\/logs\/: list failed: TimeoutError: .*timed out after 200 ms of inactivity.*\(3 tries\)/);
      assert.match(e.message, /the S3 endpoint http:\/\/127\.0\.0\.1:\d+ did not answer/);
      return true;
    });
    const seconds = (performance.now() - started) / 1000;
    assert.equal(connections, 3, 'one connection per try');
    // 3 × 200 ms idle plus backoff; generous for a loaded machine, far below "forever".
    assert.ok(seconds < 20, `took ${seconds.toFixed(1)} s`);
  });

  it('a write and a whole-object read fail the same way instead of hanging', async () => {
    const store = new S3Store({ socketIdleTimeoutMs: 150, retry: { ...FAST, attempts: 2 } });
    await assert.rejects(store.write('s3://b/models/m/wide.safetensors', new Uint8Array(10)), /write failed: TimeoutError.*\(2 tries\)/);
    await assert.rejects(store.read('s3://b/models/m/manifest.json'), /manifest\.json: read failed: TimeoutError/);
  });

  it('refuses a non-positive timeout', () => {
    assert.throws(() => new S3Store({ socketIdleTimeoutMs: 0 }), /socketIdleTimeoutMs must be a positive number/);
    assert.throws(() => new S3Store({ connectionTimeoutMs: Number.NaN }), /connectionTimeoutMs must be a positive number/);
  });
});

describe('a slow S3 body that keeps moving', () => {
  let restoreEnv: () => void;
  const http = createHttpServer((req, res) => {
    // 20 pieces of 5 bytes, one every 40 ms: ~0.8 s in all, never idle for 40 ms.
    const body = Buffer.from('0123456789'.repeat(10));
    res.writeHead(206, {
      'content-type': 'application/octet-stream',
      'content-length': String(body.length),
      'content-range': `bytes 0-${body.length - 1}/${body.length}`,
      etag: '"e"',
    });
    let at = 0;
    const timer = setInterval(() => {
      res.write(body.subarray(at, at + 5));
      at += 5;
      if (at >= body.length) {
        clearInterval(timer);
        res.end();
      }
    }, 40);
    req.on('close', () => clearInterval(timer));
  });

  before(async () => {
    restoreEnv = setS3Env(await listen(http));
  });
  after(async () => {
    restoreEnv();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });

  it('is read whole though it takes longer than the idle timeout', async () => {
    const store = new S3Store({ socketIdleTimeoutMs: 400, retry: { ...FAST, attempts: 1 } });
    const started = performance.now();
    const bytes = await store.readRange('s3://b/models/m/serving.safetensors', 0, 100);
    assert.equal(Buffer.from(bytes).toString(), '0123456789'.repeat(10));
    assert.ok(performance.now() - started > 400, 'the transfer outlasted the idle timeout');
  });
});
