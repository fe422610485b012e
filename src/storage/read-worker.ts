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
 * from tsx, with no second file to ship. It gets them with process.getBuiltinModule, which works
 * whether the string is evaluated as CommonJS or as a module (a worker inherits the process's
 * flags, and `--input-type=module` makes it a module, where `require` does not exist).
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

/** The largest safetensors header a `leaveUnread` read parses (as model/safetensors.ts decodes). */
export const MAX_SAFETENSORS_HEADER_BYTES = 64 << 20;

/** A tensor of a safetensors file that a `leaveUnread` read hashed but did not keep in memory. */
export interface UnreadTensor {
  readonly name: string;
  /** Its bytes in the file: [start, end), from the file's first byte. */
  readonly start: number;
  readonly end: number;
}

/** The file that was read, as fstat saw it through the read's own descriptor. */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

/** What the worker posts back: the bytes (transferred) and their digest, or the error. */
type WorkerReply =
  | {
      readonly ok: true;
      readonly data: ArrayBuffer;
      readonly sha256: string;
      readonly unread: UnreadTensor[];
      readonly identity: FileIdentity;
    }
  | { readonly ok: false; readonly message: string; readonly code?: string };

/**
 * The worker: open, stat, read pieces into one ArrayBuffer with `inFlight` reads outstanding while
 * the pieces that have landed are hashed in file order, refuse a file that ends early or grew since stat, post the
 * buffer (transferred) and the hex digest. One open file descriptor, so one version of the file.
 *
 * With `leave` ({ prefix, minBytes }), the file is a safetensors file and its tensors whose names
 * start with `prefix` and hold at least `minBytes` are hashed like every byte but read through
 * small scratch buffers instead of into the buffer: their part of it is never written, so its
 * pages are never touched (calloc'd memory costs nothing until touched). The reply lists them.
 * A header that does not parse, or tensors that overlap or leave the file, leave nothing out.
 */
export const READ_WORKER_SOURCE = `
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const { open } = process.getBuiltinModule('node:fs/promises');
const { createHash } = process.getBuiltinModule('node:crypto');
const unreadTensors = (data, size, leave) => {
  if (!leave || size < 8) return [];
  const headerLen = Number(new DataView(data.buffer, 0, 8).getBigUint64(0, true));
  if (headerLen > leave.maxHeaderBytes || 8 + headerLen > size) return [];
  let header;
  try { header = JSON.parse(Buffer.from(data.subarray(8, 8 + headerLen)).toString('utf8')); } catch { return []; }
  if (!header || typeof header !== 'object') return [];
  const dataStart = 8 + headerLen;
  const out = [];
  for (const [name, h] of Object.entries(header)) {
    if (!name.startsWith(leave.prefix) || !h || !Array.isArray(h.data_offsets)) continue;
    const [a, b] = h.data_offsets;
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || a < 0 || b < a || dataStart + b > size) return [];
    if (b - a >= leave.minBytes) out.push({ name, start: dataStart + a, end: dataStart + b });
  }
  out.sort((x, y) => x.start - y.start);
  for (let i = 1; i < out.length; i++) if (out[i].start < out[i - 1].end) return [];
  return out;
};
(async () => {
  const { path, piece, inFlight, leave } = workerData;
  const handle = await open(path, 'r');
  try {
    const st = await handle.stat();
    const size = Number(st.size);
    const identity = { dev: Number(st.dev), ino: Number(st.ino), size, mtimeMs: st.mtimeMs };
    const buffer = new ArrayBuffer(size);
    const data = new Uint8Array(buffer);
    let unread = [];
    if (leave && size >= 8) {
      // The header first (its 8-byte length, then the JSON), to know what to leave out.
      const lead = await handle.read(data, 0, 8, 0);
      if (lead.bytesRead === 8) {
        const headerLen = Number(new DataView(buffer, 0, 8).getBigUint64(0, true));
        if (headerLen <= leave.maxHeaderBytes && 8 + headerLen <= size) {
          await handle.read(data, 8, headerLen, 8);
          unread = unreadTensors(data, size, leave);
        }
      }
    }
    // Pieces of at most piece bytes that never straddle a kept/unread boundary.
    const pieces = [];
    let at = 0;
    const cut = (end, into) => {
      while (at < end) {
        const length = Math.min(piece, end - at);
        pieces.push({ start: at, length, scratch: !into });
        at += length;
      }
    };
    for (const t of unread) {
      cut(t.start, true);
      cut(t.end, false);
    }
    cut(size, true);
    const scratchFree = [];
    const hash = createHash('sha256');
    const reads = [];
    let next = 0;
    const issue = () => {
      const p = pieces[next++];
      const target = p.scratch ? (scratchFree.pop() || new Uint8Array(piece)) : data;
      const offset = p.scratch ? 0 : p.start;
      const read = handle.read(target, offset, p.length, p.start).then(({ bytesRead }) => ({ p, target, offset, bytesRead }));
      // A later piece may fail while an earlier one is awaited: the failure still surfaces when
      // its turn comes (or the first one ends the read), never as an unhandled rejection.
      read.catch(() => {});
      reads.push(read);
    };
    while (next < pieces.length && reads.length < inFlight) issue();
    while (reads.length > 0) {
      const { p, target, offset, bytesRead } = await reads.shift();
      if (bytesRead !== p.length) throw Object.assign(new Error('the file ended at ' + (p.start + bytesRead) + ' of ' + size + ' bytes'), { code: 'WDP_SHORT' });
      hash.update(target.subarray(offset, offset + p.length));
      if (p.scratch) scratchFree.push(target);
      if (next < pieces.length) issue();
    }
    const extra = await handle.read(new Uint8Array(1), 0, 1, size);
    if (extra.bytesRead > 0) throw Object.assign(new Error('the file grew while it was being read'), { code: 'WDP_GREW' });
    parentPort.postMessage({ ok: true, data: buffer, sha256: hash.digest('hex'), unread, identity }, [buffer]);
  } finally {
    await handle.close();
  }
})().catch((e) => parentPort.postMessage({ ok: false, message: String(e && e.message || e), code: e && e.code }));
`;

/**
 * Which tensors of a safetensors file a read may leave out of memory (hashed all the same):
 * names starting with `prefix`, of at least `minBytes`.
 */
export interface LeaveUnread {
  readonly prefix: string;
  readonly minBytes: number;
}

export interface WorkerReadOptions {
  /** @default READ_PIECE_BYTES */
  readonly pieceBytes?: number;
  /** Pieces being read at once (hashing stays in file order). @default READS_IN_FLIGHT */
  readonly readsInFlight?: number;
  /** The worker's code (tests substitute a failing one). @default READ_WORKER_SOURCE */
  readonly source?: string;
  /** Stops the read: the thread is terminated (its buffer freed) and the promise rejects. */
  readonly signal?: AbortSignal;
  /**
   * Leave these tensors of a safetensors file out of the returned bytes (their range stays zero
   * and untouched), still hashing them: for tables that will be memory-mapped instead
   * (model/mapped-tables.ts). @default nothing left out
   */
  readonly leaveUnread?: LeaveUnread;
}

/** A worker read's result: the bytes, their sha256, what was left unread, and the file's identity. */
export interface WorkerRead {
  readonly data: Uint8Array;
  readonly sha256: string;
  /** Tensors hashed but left out of `data` (empty unless `leaveUnread` was given and matched). */
  readonly unread: readonly UnreadTensor[];
  readonly identity: FileIdentity;
}

/**
 * The file at `path` and its sha256 (lowercase hex), read and hashed on a worker thread.
 * @param uri how errors name the file (the caller's URI for it)
 * @throws StorageNotFoundError when the file does not exist; StorageError naming `uri` when it
 *   cannot be read, ends early, grows while read, or the worker fails or exits without answering
 */
export function readWithSha256InWorker(path: string, uri: string, options: WorkerReadOptions = {}): Promise<WorkerRead> {
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
          leave: options.leaveUnread ? { ...options.leaveUnread, maxHeaderBytes: MAX_SAFETENSORS_HEADER_BYTES } : undefined,
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
        if (reply.ok) resolve({ data: new Uint8Array(reply.data), sha256: reply.sha256, unread: reply.unread, identity: reply.identity });
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
