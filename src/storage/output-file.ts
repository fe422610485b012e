/**
 * A local output file written piece by piece (the scores Parquet of `wdp score`) that appears
 * under its name whole or not at all, with one writer at a time:
 *   - the writer lock (output-lock.ts) is taken first, so a second writer fails naming the first
 *     instead of both renaming in turn and one silently replacing the other's file;
 *   - the bytes go to a hidden temp file beside it (`.<name>.wdp-tmp-<random>`: FileStore.list
 *     and log listings never show it, and it is on the same file system so the rename is
 *     atomic), fsynced before the rename so a power cut cannot leave the name on empty blocks;
 *   - temp files a killed writer left beside it are removed by the next writer, under the lock:
 *     while it is held no one else writes that name, so any such file is a dead writer's.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { toPath } from './file-store.ts';
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

/**
 * Starts writing local output `uri` (plain path or `file://`).
 * @param what the output in a few words, for another writer's error ("the scores file")
 * @throws OutputLockedError when another writer is writing it
 */
export async function startOutputFile(uri: string, what: string): Promise<OutputFile> {
  const path = toPath(uri);
  const lock = await lockOutput(uri, what);
  const tmp = join(dirname(path), `.${basename(path)}.wdp-tmp-${randomBytes(6).toString('hex')}`);
  try {
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
      await rename(tmp, path);
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

/** Removes `.<name>.wdp-tmp-<hex>` files beside `path`: called under its writer lock, so they are killed writers'. */
async function removeDeadTemps(path: string): Promise<void> {
  const prefix = `.${basename(path)}.wdp-tmp-`;
  for (const name of await readdir(dirname(path)).catch(() => [] as string[]))
    if (name.startsWith(prefix) && /^[0-9a-f]+$/.test(name.slice(prefix.length)))
      await rm(join(dirname(path), name), { force: true }).catch(() => undefined);
}
