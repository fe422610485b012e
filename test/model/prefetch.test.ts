/**
 * The serving weights read ahead on a worker thread (model/prefetch.ts, storage/read-worker.ts):
 * the loader uses prefetched bytes only when their size and sha256 are the manifest's, and a bad
 * file fails the load naming it, exactly as without the prefetch.
 */
import assert from 'node:assert/strict';
import { cp, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { readModelFiles } from '../../src/model/artifact.ts';
import { ModelLoadError } from '../../src/model/errors.ts';
import { claimPrefetched, clearPrefetched, prefetchModelFile, prefetchServingWeights, SERVING_FILE } from '../../src/model/prefetch.ts';
import { Scorer } from '../../src/scoring/scorer.ts';
import { StorageError, StorageNotFoundError } from '../../src/storage/errors.ts';
import { FileStore } from '../../src/storage/file-store.ts';
import { readWithSha256InWorker } from '../../src/storage/read-worker.ts';
import { tinyModelScratch } from '../helpers/tiny-model.ts';
import { createHash } from 'node:crypto';

const scratch = tinyModelScratch('wdp-prefetch-');
afterEach(() => clearPrefetched());

const REQUEST = {
  context: { user: 'u1', x: 0.3 },
  candidates: [
    { item: 'i1', tags: ['t3'] },
    { item: 'i2', tags: ['t1'] },
  ],
};

async function scores(uri: string): Promise<number[]> {
  const s = await Scorer.load(uri, { cache: false });
  try {
    return (await s.score(REQUEST)).scores;
  } finally {
    s.dispose();
  }
}

describe('readWithSha256InWorker', () => {
  test('gives the bytes and sha256 of the file, in pieces smaller than the file', async () => {
    const file = join(scratch.dir, 'pieces.bin');
    const bytes = new Uint8Array(100_003).map((_, i) => (i * 31) & 0xff);
    await writeFile(file, bytes);
    const expected = createHash('sha256').update(bytes).digest('hex');
    // One piece in flight, the default (2), and more than the file has pieces: the bytes land in
    // place and are hashed in file order whichever read finishes first.
    for (const readsInFlight of [1, undefined, 40]) {
      const r = await readWithSha256InWorker(file, file, { pieceBytes: 4096, ...(readsInFlight ? { readsInFlight } : {}) });
      assert.deepEqual(Buffer.from(r.data), Buffer.from(bytes));
      assert.equal(r.sha256, expected);
    }
    const empty = join(scratch.dir, 'empty.bin');
    await writeFile(empty, '');
    assert.equal((await readWithSha256InWorker(empty, empty)).data.length, 0);
  });

  test('a missing file is StorageNotFoundError; a folder, a failing or a silent worker are StorageErrors naming the file', async () => {
    await assert.rejects(readWithSha256InWorker(join(scratch.dir, 'nope.bin'), 'x://nope.bin'), StorageNotFoundError);
    await assert.rejects(readWithSha256InWorker(scratch.dir, 'x://a-folder'), (e: unknown) => {
      assert.ok(e instanceof StorageError && !(e instanceof StorageNotFoundError));
      assert.match(e.message, /^x:\/\/a-folder: read failed: .*EISDIR/);
      return true;
    });
    await assert.rejects(
      readWithSha256InWorker(join(scratch.dir, 'pieces.bin'), 'x://w.bin', { source: "throw new Error('boom')" }),
      /^StorageError: x:\/\/w\.bin: read failed: the reading thread failed: boom$/,
    );
    await assert.rejects(
      readWithSha256InWorker(join(scratch.dir, 'pieces.bin'), 'x://w.bin', { source: 'process.exit(3)' }),
      /x:\/\/w\.bin: read failed: the reading thread exited \(code 3\) before answering/,
    );
  });

  test('FileStore reads large files on the worker with the same result', async () => {
    const file = join(scratch.dir, 'pieces.bin');
    const inThread = await new FileStore({ workerReadMinBytes: Number.POSITIVE_INFINITY }).readWithSha256(file);
    const onWorker = await new FileStore({ workerReadMinBytes: 0 }).readWithSha256(file);
    assert.deepEqual(Buffer.from(onWorker.data), Buffer.from(inThread.data));
    assert.equal(onWorker.sha256, inThread.sha256);
    await assert.rejects(new FileStore({ workerReadMinBytes: 0 }).readWithSha256(join(scratch.dir, 'nope.bin')), StorageNotFoundError);
    // A cancelled read rejects as cancelled, on the worker and in this thread.
    for (const workerReadMinBytes of [0, Number.POSITIVE_INFINITY]) {
      await assert.rejects(
        new FileStore({ workerReadMinBytes }).readWithSha256(file, { signal: AbortSignal.abort() }),
        /read cancelled/,
        `workerReadMinBytes ${workerReadMinBytes}`,
      );
    }
  });
});

describe('prefetchServingWeights', () => {
  test('the load claims the prefetched read and scores as a load without it', async () => {
    const expected = await scores(scratch.good);
    prefetchServingWeights(scratch.good);
    assert.deepEqual(await scores(scratch.good), expected);
    // Claimed by that load: nothing is left pending.
    assert.equal(claimPrefetched(scratch.good, SERVING_FILE), undefined);
  });

  test('a corrupted serving file fails the load naming it, prefetched or not', async () => {
    const m = await scratch.copyOf(scratch.good);
    const file = join(m, SERVING_FILE);
    const bytes = await readFile(file);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
    await writeFile(file, bytes);
    prefetchServingWeights(m);
    await assert.rejects(
      Scorer.load(m, { cache: false }),
      (e: unknown) =>
        e instanceof ModelLoadError && /serving\.safetensors is corrupted: its sha256 does not match the manifest/.test(e.message),
    );
  });

  test('a truncated serving file fails the load naming it and both sizes', async () => {
    const m = await scratch.copyOf(scratch.good);
    const file = join(m, SERVING_FILE);
    const size = (await readFile(file)).length;
    await truncate(file, size - 100);
    prefetchServingWeights(m);
    await assert.rejects(
      readModelFiles(m, { weightsOnly: true }),
      (e: unknown) =>
        e instanceof ModelLoadError &&
        new RegExp(`serving\\.safetensors is ${size - 100} bytes, the manifest says ${size}`).test(e.message),
    );
  });

  test('a worker that fails leaves the load to read the file itself', async () => {
    const expected = await scores(scratch.good);
    prefetchModelFile(scratch.good, SERVING_FILE, { source: "throw new Error('boom')" });
    assert.deepEqual(await scores(scratch.good), expected);
    const m = await scratch.copyOf(scratch.good);
    await truncate(join(m, SERVING_FILE), 10);
    prefetchModelFile(m, SERVING_FILE, { source: 'process.exit(1)' });
    await assert.rejects(readModelFiles(m, { weightsOnly: true }), /serving\.safetensors is 10 bytes, the manifest says/);
  });

  test('bytes prefetched from another version of the folder are read again, not used and not fatal', async () => {
    const m = await scratch.copyOf(scratch.good);
    // The prefetch reads a stale serving file (as if the folder was re-pointed after it started)…
    const file = join(m, SERVING_FILE);
    const original = await readFile(file);
    await writeFile(file, original.subarray(0, 50));
    prefetchServingWeights(m);
    const stale = await claimPrefetched(m, SERVING_FILE);
    assert.equal(stale?.data.length, 50);
    prefetchServingWeights(m);
    await new Promise((r) => setTimeout(r, 50));
    // …and the folder is whole again by the time the manifest is read.
    await writeFile(file, original);
    assert.deepEqual(await scores(m), await scores(scratch.good));
  });

  test('a serving file far bigger than listed is refused by its size, without waiting for its prefetched read', async () => {
    const m = await scratch.copyOf(scratch.good);
    // 3 GiB, sparse: reading it whole (as the load did before the size check) takes seconds and GBs.
    await truncate(join(m, SERVING_FILE), 3 * 2 ** 30);
    prefetchServingWeights(m);
    await assert.rejects(readModelFiles(m, { weightsOnly: true }), (e: unknown) => {
      assert.ok(e instanceof ModelLoadError);
      assert.match(e.message, /serving\.safetensors is 3221225472 bytes, the manifest says \d+/);
      return true;
    });
    // Dropped by the refusal, its read stopped: nothing is left for a later load to pick up.
    assert.equal(claimPrefetched(m, SERVING_FILE), undefined);
  });

  test('a worker read stops when its signal aborts', async () => {
    const m = await scratch.copyOf(scratch.good);
    await truncate(join(m, SERVING_FILE), 2 ** 30);
    const stop = new AbortController();
    const read = readWithSha256InWorker(join(m, SERVING_FILE), 'x://big', { signal: stop.signal });
    stop.abort();
    await assert.rejects(read, (e: unknown) => e instanceof StorageError && /read cancelled/.test(e.message));
    const already = new AbortController();
    already.abort();
    await assert.rejects(readWithSha256InWorker(join(m, SERVING_FILE), 'x://big', { signal: already.signal }), /read cancelled/);
  });

  test('a prefetch of a folder that does not exist yet is dropped by the load', async () => {
    const m = join(scratch.dir, 'later');
    prefetchServingWeights(m);
    await new Promise((r) => setTimeout(r, 50));
    await cp(scratch.good, m, { recursive: true });
    assert.deepEqual(await scores(m), await scores(scratch.good));
  });
});
