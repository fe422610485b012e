/**
 * Starts reading a model's serving weights at the very start of a process, before the code that
 * will use them has even loaded: at the paper shape the 246 MB serving file takes ~0.8 s to land
 * in memory on this project's VM (first touch of fresh pages, see README "Scoring speed"), as long
 * as loading modules, reading the manifest and opening ONNX Runtime together.
 *
 *   prefetchServingWeights(uri);            // first thing in the entry point
 *   const { Scorer } = await import('…');   // the heavy modules load meanwhile
 *   const scorer = await Scorer.load(uri);  // readModelFiles takes the prefetched read
 *
 * Nothing is trusted early: the prefetch only reads the bytes and computes their sha256 (local
 * files on a worker thread, read-worker.ts; S3 through the store, which may vouch with its own
 * SHA-256). The model loader (artifact.ts readCheckedFile) takes the prefetched read once it has
 * the checked manifest and uses the bytes only if their size and sha256 are the manifest's, as
 * for any read. A prefetched read that does not match (the folder was re-pointed meanwhile), or
 * failed, is dropped and the file read again, so a mismatch fails the load exactly as before.
 *
 * This module imports only Node built-ins and the worker reader, so an entry point can run it
 * before its heavy imports (zod schemas, the AWS SDK, ONNX Runtime) are evaluated.
 */
import { toPath } from '../storage/file-store.ts';
import { type FileIdentity, type UnreadTensor, readWithSha256InWorker, type WorkerReadOptions } from '../storage/read-worker.ts';
import { MAPPED_TABLE_MIN_BYTES, MAPPED_TABLE_PREFIX, mapsTablesByDefault } from './mapped-tables.ts';

/** Weights only (bias, wide, embedding/<f>, W0, b0, …): what scoring reads. Optional (older models lack it). */
export const SERVING_FILE = 'serving.safetensors';

/** performance marks: a prefetch started, and its bytes and sha256 are in (not yet checked). */
export const PREFETCH_START_MARK = 'wdp:prefetch-start';
export const PREFETCH_READ_MARK = 'wdp:prefetch-read';

/** A read's bytes and their sha256 (hex), as BlobStore.readWithSha256 gives them. */
export interface PrefetchedRead {
  readonly data: Uint8Array;
  readonly sha256: string;
  /**
   * Tensors hashed but left out of `data` (a local read for mapped tables, mapped-tables.ts):
   * their bytes in `data` are zeros. Only a load that maps exactly these may use the read.
   */
  readonly unread?: readonly UnreadTensor[];
  /** The local file read (device, inode, size, mtime). */
  readonly identity?: FileIdentity;
}

/**
 * An unclaimed prefetch is dropped after this long, so a process that prefetched and then loaded
 * another model (or none) does not hold the bytes forever.
 */
const UNCLAIMED_MS = 120_000;

const pending = new Map<string, { read: Promise<PrefetchedRead>; timer: NodeJS.Timeout; stop: AbortController }>();

function key(modelUri: string, name: string): string {
  return `${modelUri.replace(/\/+$/, '')}/${name}`;
}

/**
 * Starts reading `name` (default the serving weights) of the model folder `modelUri` with its
 * sha256, for the next readModelFiles of that folder to claim. Returns at once; a second call for
 * the same file while one is pending does nothing. Errors are kept for the claimer, which then
 * reads the file again (and reports that read's error). `workerOptions` apply to local files.
 */
export function prefetchModelFile(modelUri: string, name: string = SERVING_FILE, workerOptions: WorkerReadOptions = {}): void {
  const k = key(modelUri, name);
  if (!modelUri || pending.has(k)) return;
  const stop = new AbortController();
  const read = modelUri.startsWith('s3://')
    ? // The S3 store (and the AWS SDK) load only when asked for: a local prefetch never pays for them.
      import('../storage/index.ts').then(({ storeFor }) => storeFor(k).readWithSha256(k, { signal: stop.signal }))
    : readWithSha256InWorker(toPath(k), k, { signal: stop.signal, ...workerOptions });
  // Marks (once per prefetch) let a cold start report when the read began and ended
  // (`cold_start_detail`), since it overlaps everything else.
  performance.mark(PREFETCH_START_MARK, { detail: k });
  // Kept for the claimer; no unhandled rejection if nobody claims it.
  read.then(
    () => performance.mark(PREFETCH_READ_MARK, { detail: k }),
    () => undefined,
  );
  const timer = setTimeout(() => {
    if (pending.get(k)?.read === read) dropPrefetched(modelUri, name);
  }, UNCLAIMED_MS);
  // The timer must not keep a process alive that has nothing else to do.
  timer.unref();
  pending.set(k, { read, timer, stop });
}

/** What a local read of the serving file leaves in the file when its tables are to be mapped. */
export const SERVING_TABLES_UNREAD = { prefix: MAPPED_TABLE_PREFIX, minBytes: MAPPED_TABLE_MIN_BYTES } as const;

/**
 * Starts reading the serving weights of `modelUri` (see prefetchModelFile). A local model's
 * large tables are hashed but left in the file, as the scorer will map them
 * (mapsTablesByDefault; `mapTables` overrides it, and must match the scorer's option).
 */
export function prefetchServingWeights(modelUri: string, options: { mapTables?: boolean } = {}): void {
  const map = options.mapTables ?? mapsTablesByDefault(modelUri);
  prefetchModelFile(modelUri, SERVING_FILE, map ? { leaveUnread: SERVING_TABLES_UNREAD } : {});
}

/**
 * The prefetched read of `name` in `modelUri`, if one was started and not yet claimed; claiming
 * removes it (each prefetch serves one load). Resolves to undefined when the prefetch failed.
 */
export function claimPrefetched(modelUri: string, name: string): Promise<PrefetchedRead | undefined> | undefined {
  const k = key(modelUri, name);
  const entry = pending.get(k);
  if (!entry) return undefined;
  pending.delete(k);
  clearTimeout(entry.timer);
  return entry.read.catch(() => undefined);
}

/**
 * Drops the prefetch of `name` in `modelUri`, if any, and stops its read (a local one: the thread
 * ends and its buffer is freed; on S3: the ranged GETs in flight are aborted and no more are
 * sent), for a load that has refused the file without reading it.
 */
export function dropPrefetched(modelUri: string, name: string): void {
  const k = key(modelUri, name);
  const entry = pending.get(k);
  if (!entry) return;
  pending.delete(k);
  clearTimeout(entry.timer);
  entry.stop.abort();
}

/** Drops every unclaimed prefetch (tests). */
export function clearPrefetched(): void {
  for (const { timer, stop } of pending.values()) {
    clearTimeout(timer);
    stop.abort();
  }
  pending.clear();
}
