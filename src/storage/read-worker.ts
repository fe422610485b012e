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

/**
 * Pieces read at once. The first touch of the buffer's fresh pages is the read's cost on a VM, and
 * two reads fault in two of libuv's threads side by side: on this project's 2-vCPU VM a bare read
 * of the 246 MB paper file took 490–520 ms with two in flight against 820–840 ms with one, and
 * the cold start's read + sha256 (beside module loading) 980–1,012 ms against 1,073–1,106 ms.
 * More than two gained nothing there.
 */
export const READS_IN_FLIGHT = 2;

/** What the worker posts back: the bytes (transferred) and their digest, or the error. */
type WorkerReply =
  | { readonly ok: true; readonly data: ArrayBuffer; readonly sha256: string }
  | { readonly ok: false; readonly message: string; readonly code?: string };

/**
 * The worker: open, stat, read pieces into one ArrayBuffer with `inFlight` reads outstanding while
 * the pieces that have landed are hashed in file order, refuse a file that ends early or grew since stat, post the
 * buffer (transferred) and the hex digest. One open file descriptor, so one version of the file.
 */
export const READ_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { open } = require('node:fs/promises');
const { createHash } = require('node:crypto');
(async () => {
  const { path, piece, inFlight } = workerData;
  const handle = await open(path, 'r');
  try {
    const size = Number((await handle.stat()).size);
    const buffer = new ArrayBuffer(size);
    const data = new Uint8Array(buffer);
    const hash = createHash('sha256');
    const reads = [];
    let issued = 0;
    const issue = () => {
      const start = issued;
      const length = Math.min(piece, size - start);
      issued += length;
      const read = handle.read(data, start, length, start).then(({ bytesRead }) => ({ start, length, bytesRead }));
      // A later piece may fail while an earlier one is awaited: the failure still surfaces when
      // its turn comes (or the first one ends the read), never as an unhandled rejection.
      read.catch(() => {});
      reads.push(read);
    };
    while (issued < size && reads.length < inFlight) issue();
    while (reads.length > 0) {
      const { start, length, bytesRead } = await reads.shift();
      if (bytesRead !== length) throw Object.assign(new Error('the file ended at ' + (start + bytesRead) + ' of ' + size + ' bytes'), { code: 'WDP_SHORT' });
      if (issued < size) issue();
      hash.update(data.subarray(start, start + length));
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
  /** Pieces being read at once (hashing stays in file order). @default READS_IN_FLIGHT */
  readonly readsInFlight?: number;
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
        workerData: {
          path,
          piece: options.pieceBytes ?? READ_PIECE_BYTES,
          inFlight: options.readsInFlight ?? READS_IN_FLIGHT,
        },
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
