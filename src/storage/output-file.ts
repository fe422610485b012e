/**
 * A local output file written piece by piece (the scores Parquet of `wdp score`) that appears
 * under its name whole or not at all, with one writer at a time:
 *   - the writer lock (output-lock.ts) is taken first, so a second writer fails naming the first
 *     instead of both renaming in turn and one silently replacing the other's file;
 *   - the bytes go to a hidden temp file beside it (`.<name>.wdp-tmp-<random>`: FileStore.list
 *     and log listings never show it, and it is on the same file system so the rename is
 *     atomic), fsynced before the rename so a power cut cannot leave the name on empty blocks;
 *   - temp files a killed writer left beside it are removed by the next writer, under the lock:
 *     while it is held no one else writes that name, so any such file is a dead writer's;
 *   - an existing file is kept unless replacing it was asked for (`--force`), as `wdp train`
 *     keeps a model: checked under the lock before any work, and again by the commit itself
 *     (a hard link, which fails on an existing name), since a non-wdp writer ignores the lock.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OutputExistsError } from './errors.ts';
import { toPath } from './file-store.ts';
import { storeFor } from './index.ts';
import { lockOutput } from './output-lock.ts';

/** A local output being written: `tmp` to write to, then `commit` (or `abandon`). */
export interface OutputFile {
  /** The temp file to write the bytes to. */
  readonly tmp: string;
  /** fsyncs the temp file, renames it into place, releases the lock. */
  commit(): Promise<void>;
  /** Removes the temp file and releases the lock (after a failure; harmless after commit). */
  abandon(): Promise<void>;
}

/** What a write does when its output file already exists: refuse (no `--force`) or replace it. */
export type ExistingFilePolicy = 'refuse' | 'replace';

export interface OutputFileOptions {
  readonly existing: ExistingFilePolicy;
  /** Said after "already exists" when refused, e.g. " (it is the --config file)". */
  readonly hint?: string;
}

/**
 * Refuses output `uri` (local or S3) when a file is there: the up-front check of an output that
 * must not be replaced (an S3 one is written with ifNoneMatch as well).
 * @throws OutputExistsError naming the file
 */
export async function refuseExistingOutput(uri: string, what: string, hint = ''): Promise<void> {
  if ((await storeFor(uri).stat(uri)) !== undefined) throw new OutputExistsError(uri, what, hint);
}

/**
 * Starts writing local output `uri` (plain path or `file://`).
 * @param what the output in a few words, for another writer's error ("this scores file")
 * @throws OutputLockedError when another writer is writing it
 * @throws OutputExistsError when the file exists and `options.existing` is 'refuse'
 */
export async function startOutputFile(uri: string, what: string, options: OutputFileOptions): Promise<OutputFile> {
  const path = toPath(uri);
  const lock = await lockOutput(uri, what);
  const tmp = join(dirname(path), `.${basename(path)}.wdp-tmp-${randomBytes(6).toString('hex')}`);
  const refuse = options.existing === 'refuse';
  try {
    // Under the lock, so no other wdp writer can create it between this check and the commit.
    if (refuse) await refuseExistingOutput(uri, what, options.hint);
    await mkdir(dirname(path), { recursive: true });
    await removeDeadTemps(path);
  } catch (e) {
    await lock?.release();
    throw e;
  }
  let done = false;
  return {
    tmp,
    async commit() {
      const handle = await open(tmp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (refuse) await linkIntoPlace(tmp, path, () => new OutputExistsError(uri, what, options.hint));
      else await rename(tmp, path);
      // Persist the rename too; best effort, as some file systems refuse fsync on folders.
      const dir = await open(dirname(path), 'r').catch(() => undefined);
      await dir?.sync().catch(() => undefined);
      await dir?.close();
      done = true;
      await lock?.release();
    },
    async abandon() {
      if (!done) await rm(tmp, { force: true });
      done = true;
      await lock?.release();
    },
  };
}

/**
 * Puts `tmp` at `path` only if nothing is there: link (which fails on an existing name) then
 * unlink the temp name. A file system without hard links falls back to the rename, the up-front
 * check under the lock having been made.
 */
async function linkIntoPlace(tmp: string, path: string, exists: () => Error): Promise<void> {
  try {
    await link(tmp, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw exists();
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
    await rename(tmp, path);
    return;
  }
  await rm(tmp, { force: true });
}

/** Removes `.<name>.wdp-tmp-<hex>` files beside `path`: called under its writer lock, so they are killed writers'. */
async function removeDeadTemps(path: string): Promise<void> {
  const prefix = `.${basename(path)}.wdp-tmp-`;
  for (const name of await readdir(dirname(path)).catch(() => [] as string[]))
    if (name.startsWith(prefix) && /^[0-9a-f]+$/.test(name.slice(prefix.length)))
      await rm(join(dirname(path), name), { force: true }).catch(() => undefined);
}
