import { createHash, randomBytes } from 'node:crypto';
import type { BigIntStats, Dirent } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { link, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BlobInfo, BlobStore, ChecksummedBlob, RangeOptions, ReadOptions, VersionedBlob, WriteCondition } from './blob-store.ts';
import { StorageError, StorageNotFoundError, StoragePreconditionError, replacedSinceListed } from './errors.ts';
import { ownerRuns, thisHost, thisProcessStart } from '../util/process-owner.ts';
import { READ_PIECE_BYTES, readWithSha256InWorker } from './read-worker.ts';

const FILE_SCHEME = 'file://';
/** Marks our in-flight temp files so that list() can hide a concurrent writer's partial file. */
const TEMP_MARKER = '.wdp-tmp-';
/** An ifMatch write's lock file older than this was left by a crashed writer (the hold is one stat + rename). */
const STALE_LOCK_MS = 30_000;
/**
 * How long an ifMatch write waits for another writer's lock before giving up: longer than
 * STALE_LOCK_MS, so a lock a dead writer left (whose pid cannot be checked: another host, or a
 * lock file from before pids were written) is taken over within the wait instead of failing it.
 */
const LOCK_WAIT_MS = STALE_LOCK_MS + 5_000;

/**
 * BlobStore over the local file system, for `file://` URIs and plain paths. URIs come back in
 * the style they were given: plain path in, plain paths out; `file://` in, `file://` out.
 *
 * @example
 * const store = new FileStore();
 * await store.write('/tmp/run/model.json', '{}');
 * await store.list('/tmp/run/'); // [{ uri: '/tmp/run/model.json', ... }]
 */
/**
 * Files at least this large are read and hashed on a worker thread (read-worker.ts): starting one
 * costs a few tens of milliseconds of another core, small beside the ~0.8 s a 246 MB weights file
 * takes here, and it keeps the main thread free (and the read going while the main thread is busy).
 */
export const WORKER_READ_MIN_BYTES = 64 << 20;

export interface FileStoreOptions {
  /** readWithSha256 reads files of at least this many bytes on a worker thread. @default WORKER_READ_MIN_BYTES */
  readonly workerReadMinBytes?: number;
}

export class FileStore implements BlobStore {
  readonly #workerReadMinBytes: number;

  constructor(options: FileStoreOptions = {}) {
    this.#workerReadMinBytes = options.workerReadMinBytes ?? WORKER_READ_MIN_BYTES;
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    const isFolder = prefix.endsWith('/') || prefix.endsWith(sep);
    const base = stripSep(toPath(prefix));
    // A prefix may end mid-name ("logs/dt=2024-"), so walk its folder and filter by string;
    // a trailing slash means "inside this folder", not "logsX/…".
    const prefixPath = isFolder ? base + sep : base;
    const root = isFolder ? base : dirname(base);
    const out: BlobInfo[] = [];
    // The file (device and inode) behind each symlink listed, and behind each regular file: a
    // link to a file this listing also holds is that file again, and is left out (logs linked
    // to a sibling were trained twice).
    const links = new Map<BlobInfo, string>();
    const files = new Set<string>();
    const walk = async (dir: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return;
        throw new StorageError(prefix, `list failed: ${errMessage(err)}`, { cause: err });
      }
      for (const entry of entries) {
        const p = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (isUnder(p, prefixPath) || isUnder(prefixPath, p)) await walk(p);
        } else if ((entry.isFile() || entry.isSymbolicLink()) && p.startsWith(prefixPath) && !entry.name.includes(TEMP_MARKER)) {
          // A symlink to a file (git-annex, DVC, ln -s) is that file, as read() and stat() take it:
          // skipped, a log delivered that way was never trained and nothing said so. stat follows
          // it; a dangling one, or one to a folder (not walked: links can loop), is left out.
          const s = await stat(p, { bigint: true }).catch(() => undefined);
          if (!s?.isFile()) continue;
          const info = { uri: fromPath(p, prefix), sizeBytes: Number(s.size), lastModifiedEpochMs: Number(s.mtimeMs), etag: etagOf(s) };
          out.push(info);
          const file = `${s.dev}:${s.ino}`;
          if (entry.isSymbolicLink()) links.set(info, file);
          else files.add(file);
        }
      }
    };
    await walk(root);
    const sorted = out.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
    if (links.size === 0) return sorted;
    const linked = new Set<string>();
    return sorted.filter((info) => {
      const file = links.get(info);
      if (file === undefined) return true;
      if (files.has(file) || linked.has(file)) return false;
      linked.add(file);
      return true;
    });
  }

  async stat(uri: string): Promise<BlobInfo | undefined> {
    try {
      const s = await stat(toPath(uri), { bigint: true });
      return s.isFile() ? { uri, sizeBytes: Number(s.size), lastModifiedEpochMs: Number(s.mtimeMs), etag: etagOf(s) } : undefined;
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
      throw wrap(uri, 'stat', err);
    }
  }

  async read(uri: string): Promise<Uint8Array> {
    try {
      const buf = await readFile(toPath(uri));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      throw wrap(uri, 'read', err);
    }
  }

  /**
   * Reads into one buffer of the file's size, 8 MiB at a time, hashing each piece while the next
   * one is read (the read runs on libuv's pool, the hash here): the hash costs about nothing on
   * top of a read from disk. One open file, so one version, as readVersioned. Large files go to a
   * worker thread instead (same pipeline, same checks, see WORKER_READ_MIN_BYTES).
   */
  async readWithSha256(uri: string, options: ReadOptions = {}): Promise<ChecksummedBlob> {
    const { signal } = options;
    const size = (await this.stat(uri))?.sizeBytes;
    if (size !== undefined && size >= this.#workerReadMinBytes) {
      const { data, sha256 } = await readWithSha256InWorker(toPath(uri), uri, signal ? { signal } : {});
      return { data, sha256, by: 'read' };
    }
    let handle: FileHandle;
    try {
      handle = await open(toPath(uri), 'r');
    } catch (err) {
      throw wrap(uri, 'read', err);
    }
    try {
      const size = Number((await handle.stat()).size);
      const data = new Uint8Array(size);
      const hash = createHash('sha256');
      const piece = READ_PIECE_BYTES;
      let at = 0;
      let next = size > 0 ? handle.read(data, 0, Math.min(piece, size), 0) : undefined;
      while (next) {
        const { bytesRead } = await next;
        if (signal?.aborted) throw new StorageError(uri, 'read cancelled');
        if (bytesRead === 0) throw new StorageError(uri, `read failed: the file ended at ${at} of ${size} bytes`);
        const start = at;
        at += bytesRead;
        next = at < size ? handle.read(data, at, Math.min(piece, size - at), at) : undefined;
        hash.update(data.subarray(start, at));
      }
      // A file grown since stat: the bytes read are not the whole object.
      const extra = await handle.read(new Uint8Array(1), 0, 1, size);
      if (extra.bytesRead > 0) throw new StorageError(uri, 'read failed: the file grew while it was being read');
      return { data, sha256: hash.digest('hex'), by: 'read' };
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw wrap(uri, 'read', err);
    } finally {
      await handle.close();
    }
  }

  async readVersioned(uri: string): Promise<VersionedBlob | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(toPath(uri), 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
      throw wrap(uri, 'read', err);
    }
    try {
      // Writers always rename a new file into place, so the open file is one version and its
      // fstat names that version, whatever happens to the path meanwhile.
      const s = await handle.stat({ bigint: true });
      const buf = await handle.readFile();
      return { data: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), etag: etagOf(s) };
    } catch (err) {
      throw wrap(uri, 'read', err);
    } finally {
      await handle.close();
    }
  }

  async readRange(uri: string, start: number, end: number, options: RangeOptions = {}): Promise<Uint8Array> {
    checkRange(uri, start, end);
    let handle: FileHandle | undefined;
    try {
      handle = await open(toPath(uri), 'r');
      // The open file is one version whatever happens to the path next (writers rename a new
      // file into place): its fstat says whether it is the version asked for.
      if (options.ifMatch !== undefined && etagOf(await handle.stat({ bigint: true })) !== options.ifMatch) throw replacedSinceListed(uri);
      const out = new Uint8Array(end - start);
      let filled = 0;
      // read() may return short counts; stop at EOF and return what exists (same as S3).
      while (filled < out.length) {
        const { bytesRead } = await handle.read(out, filled, out.length - filled, start + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return filled === out.length ? out : out.subarray(0, filled);
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw wrap(uri, 'readRange', err);
    } finally {
      await handle?.close();
    }
  }

  async *readStream(uri: string, options: RangeOptions = {}): AsyncIterable<Uint8Array> {
    let handle: FileHandle;
    try {
      handle = await open(toPath(uri), 'r');
    } catch (err) {
      throw wrap(uri, 'readStream', err);
    }
    // As readRange: the open file is one version, and its fstat says whether it is the one asked for.
    if (options.ifMatch !== undefined && etagOf(await handle.stat({ bigint: true })) !== options.ifMatch) {
      await handle.close();
      throw replacedSinceListed(uri);
    }
    const stream = handle.createReadStream({ highWaterMark: 1 << 20 });
    try {
      for await (const chunk of stream) {
        const b = chunk as Buffer;
        yield new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      }
    } catch (err) {
      throw wrap(uri, 'readStream', err);
    } finally {
      stream.destroy();
    }
  }

  async write(uri: string, data: Uint8Array | string, condition: WriteCondition = {}): Promise<{ readonly etag: string }> {
    if (condition.ifNoneMatch !== undefined && condition.ifMatch !== undefined) {
      throw new StorageError(uri, 'write: give ifNoneMatch or ifMatch, not both');
    }
    const path = toPath(uri);
    const dir = dirname(path);
    const tmp = join(dir, `.${basename(path)}${TEMP_MARKER}${randomBytes(6).toString('hex')}`);
    let etag: string;
    try {
      await mkdir(dir, { recursive: true });
      const handle = await open(tmp, 'wx');
      try {
        await handle.writeFile(data);
        // fsync before rename: otherwise a crash can leave the new name pointing at empty blocks.
        await handle.sync();
        // rename and link keep the inode and mtime, so this is the etag of the file once in place.
        etag = etagOf(await handle.stat({ bigint: true }));
      } finally {
        await handle.close();
      }
      if (condition.ifNoneMatch === '*') {
        // link() fails when the name exists: an atomic create-if-absent, as If-None-Match on S3.
        try {
          await link(tmp, path);
        } catch (err) {
          if (isErrno(err, 'EEXIST')) {
            await refuseFolderAt(uri, path);
            throw new StoragePreconditionError(uri, 'it already exists', { cause: err });
          }
          throw err;
        } finally {
          await rm(tmp, { force: true });
        }
      } else if (condition.ifMatch !== undefined) {
        const expected = condition.ifMatch;
        await withLockFile(uri, path, async () => {
          const current = await this.stat(uri);
          if (!current) await refuseFolderAt(uri, path);
          if (current?.etag !== expected) {
            throw new StoragePreconditionError(uri, current ? 'it changed since it was read' : 'it no longer exists');
          }
          await rename(tmp, path);
        });
      } else {
        await rename(tmp, path);
      }
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      if (err instanceof StorageError) throw err;
      throw wrap(uri, 'write', err);
    }
    // Persist the rename itself; best effort, as some file systems refuse fsync on folders.
    const dirHandle = await open(dir, 'r').catch(() => undefined);
    await dirHandle?.sync().catch(() => undefined);
    await dirHandle?.close();
    // A conditional write is a state document's (registry, watermark, pointer): clear the temp
    // files a writer killed mid-write left beside it, so they do not pile up across crashes.
    if (condition.ifMatch !== undefined || condition.ifNoneMatch !== undefined) await removeStaleTemps(path);
    return { etag };
  }

  async delete(uri: string): Promise<void> {
    try {
      await rm(toPath(uri), { force: true });
    } catch (err) {
      throw wrap(uri, 'delete', err);
    }
  }
}

/**
 * A folder where a conditional write's file belongs (stat() calls it no object, as S3 would) is
 * neither a version nor a lost race: every write there fails the same way, and a caller retrying
 * a compare-and-swap would report contention. Named as what it is instead.
 */
async function refuseFolderAt(uri: string, path: string): Promise<void> {
  if ((await stat(path).catch(() => undefined))?.isDirectory())
    throw new StorageError(uri, 'write failed: a folder is at this path, where a file belongs; remove or rename it');
}

function etagOf(s: BigIntStats): string {
  return `${s.ino.toString(16)}-${s.size.toString(16)}-${s.mtimeNs.toString(16)}`;
}

/**
 * Runs `fn` holding `.<name>.wdp-tmp-lock` beside the file, created exclusively, so that the
 * compare and the rename of an ifMatch write are one step for every conditional writer on this
 * machine. The lock file names its writer (`<pid>@<host>` and the process's start): one left by a process of this host
 * that no longer exists (killed between its create and its remove) is taken over at once; any
 * other lock older than STALE_LOCK_MS is a crashed writer's and is taken over too.
 */
async function withLockFile(uri: string, path: string, fn: () => Promise<void>): Promise<void> {
  const lock = join(dirname(path), `.${basename(path)}${TEMP_MARKER}lock`);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(lock, 'wx');
      try {
        await handle.writeFile(`${process.pid}@${thisHost()}\n${thisProcessStart() ?? ''}`);
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      const held = await stat(lock).catch(() => undefined);
      if (held && (Date.now() - held.mtimeMs > STALE_LOCK_MS || (await lockWriterIsDead(lock)))) {
        await rm(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new StorageError(uri, `write: another writer has held ${lock} for over ${LOCK_WAIT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 2 + Math.random() * 10));
    }
  }
  try {
    await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

/**
 * Removes `.<name>.wdp-tmp-<hex>` files beside `path` older than STALE_LOCK_MS: a live writer's
 * temp file exists for one write and fsync, so an old one is a killed writer's. Best effort.
 */
async function removeStaleTemps(path: string): Promise<void> {
  const prefix = `.${basename(path)}${TEMP_MARKER}`;
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix) || name === `${prefix}lock`) continue;
    const p = join(dirname(path), name);
    const s = await stat(p).catch(() => undefined);
    if (s && Date.now() - s.mtimeMs > STALE_LOCK_MS) await rm(p, { force: true }).catch(() => undefined);
  }
}

/** Whether the lock file names a process of this host that is gone (false when unknown: empty, another host). */
async function lockWriterIsDead(lock: string): Promise<boolean> {
  const text = await readFile(lock, 'utf8').catch(() => '');
  // `<pid>@<host>`, then the process's start (processStart) on a second line when it was known.
  const [owner = '', start] = text.split('\n');
  const m = /^(\d+)@(.+)$/.exec(owner);
  // ownerRuns is true for this very process: its own lock is never a dead writer's.
  if (!m || m[2] !== thisHost()) return false;
  return !ownerRuns(Number(m[1]), start || undefined);
}

/** Local path of a `file://` URI or plain path (relative paths resolve against the cwd). */
export function toPath(uri: string): string {
  return uri.startsWith(FILE_SCHEME) ? fileURLToPath(uri) : resolve(uri);
}

/** Formats `path` in the style of `like`: `file://` URI, absolute or relative plain path. */
function fromPath(path: string, like: string): string {
  if (like.startsWith(FILE_SCHEME)) return pathToFileURL(path).href;
  const abs = resolve(like);
  if (like === abs || like === abs + sep) return path;
  // Relative prefix in → relative paths out, built from the prefix text the caller used.
  const rel = path.slice(abs.length);
  const base = like.endsWith(sep) ? like.slice(0, -1) : like;
  return base + rel;
}

function stripSep(path: string): string {
  return path.length > 1 && path.endsWith(sep) ? path.slice(0, -1) : path;
}

function isUnder(path: string, prefix: string): boolean {
  return path.startsWith(prefix) || path + sep === prefix;
}

function checkRange(uri: string, start: number, end: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
    throw new StorageError(uri, `bad byte range [${start}, ${end})`);
  }
}

function wrap(uri: string, op: string, err: unknown): StorageError {
  if (isErrno(err, 'ENOENT')) return new StorageNotFoundError(uri, { cause: err });
  return new StorageError(uri, `${op} failed: ${errMessage(err)}`, { cause: err });
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

export function errMessage(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
