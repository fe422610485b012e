/**
 * Reads a local file and its sha256 on a worker thread: the bytes land in an ArrayBuffer that is
 * then transferred (moved, not copied) to the caller's thread.
 *
 * Why a thread: on a VM the cost of loading model weights is the first touch of every fresh
 * page of the buffer (~3.2 ms/MB measured on this project's Firecracker VM, serialized in the
 * hypervisor), plus sha256 (~1 GB/s with SHA-NI). Both would otherwise take the main thread's
 * time or stall behind it: a read pipeline driven from the main thread waits whenever the main
 * thread is busy loading modules or building an ONNX session. Here the kernel copies into the
 * buffer on libuv's pool (the faults happen there) while the worker hashes the previous piece,
 * whatever the main thread is doing. Nothing about the check changes: the sha256 is over exactly
 * the bytes handed back, and the caller compares it with the manifest before using any of them.
 *
 * The worker's code is a string of plain JavaScript using Node's built-in modules only, so it
 * runs unchanged from the esbuild bundles (the scoring Lambda's, the cold-start bench's) and
 * from tsx, with no second file to ship.
 */
import { Worker } from 'node:worker_threads';
import { StorageError, StorageNotFoundError } from './errors.ts';

/** Piece size: large enough for few syscalls, small enough that hashing trails the read closely. */
export const READ_PIECE_BYTES = 8 << 20;

/** What the worker posts back: the bytes (transferred) and their digest, or the error. */
type WorkerReply =
  | { readonly ok: true; readonly data: ArrayBuffer; readonly sha256: string }
  | { readonly ok: false; readonly message: string; readonly code?: string };

/**
 * The worker: open, stat, read piece by piece into one ArrayBuffer with the next read in flight
 * while the last piece is hashed, refuse a file that ends early or grew since stat, post the
 * buffer (transferred) and the hex digest. One open file descriptor, so one version of the file.
 */
export const READ_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { open } = require('node:fs/promises');
const { createHash } = require('node:crypto');
(async () => {
  const { path, piece } = workerData;
  const handle = await open(path, 'r');
  try {
    const size = Number((await handle.stat()).size);
    const buffer = new ArrayBuffer(size);
    const data = new Uint8Array(buffer);
    const hash = createHash('sha256');
    let at = 0;
    let next = size > 0 ? handle.read(data, 0, Math.min(piece, size), 0) : undefined;
    while (next) {
      const { bytesRead } = await next;
      if (bytesRead === 0) throw Object.assign(new Error('the file ended at ' + at + ' of ' + size + ' bytes'), { code: 'WDP_SHORT' });
      const start = at;
      at += bytesRead;
      next = at < size ? handle.read(data, at, Math.min(piece, size - at), at) : undefined;
      hash.update(data.subarray(start, at));
    }
    const extra = await handle.read(new Uint8Array(1), 0, 1, size);
    if (extra.bytesRead > 0) throw Object.assign(new Error('the file grew while it was being read'), { code: 'WDP_GREW' });
    parentPort.postMessage({ ok: true, data: buffer, sha256: hash.digest('hex') }, [buffer]);
  } finally {
    await handle.close();
  }
})().catch((e) => parentPort.postMessage({ ok: false, message: String(e && e.message || e), code: e && e.code }));
`;

export interface WorkerReadOptions {
  /** @default READ_PIECE_BYTES */
  readonly pieceBytes?: number;
  /** The worker's code (tests substitute a failing one). @default READ_WORKER_SOURCE */
  readonly source?: string;
  /** Stops the read: the thread is terminated (its buffer freed) and the promise rejects. */
  readonly signal?: AbortSignal;
}

/**
 * The file at `path` and its sha256 (lowercase hex), read and hashed on a worker thread.
 * @param uri how errors name the file (the caller's URI for it)
 * @throws StorageNotFoundError when the file does not exist; StorageError naming `uri` when it
 *   cannot be read, ends early, grows while read, or the worker fails or exits without answering
 */
export function readWithSha256InWorker(
  path: string,
  uri: string,
  options: WorkerReadOptions = {},
): Promise<{ data: Uint8Array; sha256: string }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    let worker: Worker;
    try {
      worker = new Worker(options.source ?? READ_WORKER_SOURCE, {
        eval: true,
        workerData: { path, piece: options.pieceBytes ?? READ_PIECE_BYTES },
        // The worker needs no stdin; its own stdout/stderr stay the process's.
        stdin: false,
      });
    } catch (cause) {
      reject(new StorageError(uri, `read failed: could not start the reading thread: ${(cause as Error).message}`, { cause }));
      return;
    }
    worker.on('message', (reply: WorkerReply) =>
      settle(() => {
        if (reply.ok) resolve({ data: new Uint8Array(reply.data), sha256: reply.sha256 });
        else if (reply.code === 'ENOENT' || reply.code === 'ENOTDIR') reject(new StorageNotFoundError(uri));
        else reject(new StorageError(uri, `read failed: ${reply.message}`));
      }),
    );
    worker.on('error', (cause) =>
      settle(() => reject(new StorageError(uri, `read failed: the reading thread failed: ${cause.message}`, { cause }))),
    );
    worker.on('exit', (code) =>
      settle(() => reject(new StorageError(uri, `read failed: the reading thread exited (code ${code}) before answering`))),
    );
    const { signal } = options;
    if (signal) {
      const stop = () => {
        settle(() => reject(new StorageError(uri, 'read cancelled')));
        void worker.terminate();
      };
      if (signal.aborted) stop();
      else signal.addEventListener('abort', stop, { once: true });
    }
  });
}
