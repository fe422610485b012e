/**
 * One writer at a time per output (a model folder, a scores file, a tuned config, a batch output
 * prefix): a lock `.<name>.wdp-tmp-writer-lock` beside the output, created exclusively before the
 * writer does anything that depends on what is there, held until its output is in place.
 *
 * Why: each of these writes is atomic alone (temp then rename), but two of them to one name are
 * not: both pass the "what is there" check, both rename in turn, and one silently undoes the
 * other (two `wdp train --out M --force`: the second moved the first's new model aside and
 * deleted it, and both reported success). With the lock the second fails at once, naming the first.
 *
 * The file records its holder (`<pid>@<host>`, when it started, the command line, the process's
 * start as the kernel records it; writer-lock.ts) as FileStore's lock files do, so a lock left by a killed writer is taken over: at once when its pid is gone
 * from this host, after STALE_WRITER_LOCK_MS without a heartbeat when its holder cannot be
 * checked (another host sharing the folder, an unreadable file). A live holder refreshes the
 * file's mtime every HEARTBEAT_MS so a long training keeps its lock.
 *
 * The folders the lock needed (`--out new/dir/model`) are created with it, and removed again on
 * release if still empty: a run that failed left no trace but an empty folder the user never made.
 * Only folders this lock created, and only empty ones (rmdir refuses others), are removed.
 *
 * The name holds `.wdp-tmp-` so that folder listings (FileStore.list) never show it. An S3 output
 * gets the same lock as an object beside its key, taken and taken over with S3's conditional
 * writes (s3-output-lock.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm, rmdir, stat, utimes } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutputLockedError } from './errors.ts';
import { lockS3Output } from './s3-output-lock.ts';
import { HEARTBEAT_MS, type JudgedLock, judgeWriterLock, lockToken, type OutputLock, writerLockText } from './writer-lock.ts';

export { STALE_WRITER_LOCK_MS, type OutputLock } from './writer-lock.ts';
/** Re-reads (10 ms apart) of a lock file that is still empty, before the loser reports it unnamed. */
const EMPTY_LOCK_WAITS = 20;
/** A takeover guard (held for one stat and one unlink) older than this was left by a writer killed during its takeover. */
const STALE_GUARD_MS = 10_000;

/** The lock file guarding local output `path` (a plain path; see outputLockPathOf for URIs). */
export function outputLockPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.wdp-tmp-writer-lock`);
}

/**
 * Takes the writer lock of output `uri` (a local path, `file://` or `s3://` URI), or fails.
 * @param what the output in a few words, for the loser's error ("the model folder")
 * @returns the held lock (never undefined now; the type stays optional for callers written when S3 was not locked)
 * @throws OutputLockedError when another live writer holds it, naming that writer
 * @throws StorageError when S3 refuses the lock object's requests (403, a missing bucket)
 */
export async function lockOutput(uri: string, what: string): Promise<OutputLock | undefined> {
  if (uri.startsWith('s3://')) return lockS3Output(uri, what);
  const path = resolve(uri.startsWith('file://') ? fileURLToPath(uri) : uri);
  const lock = outputLockPath(path);
  // The topmost folder this call created (undefined when the folder was there already).
  let created = await mkdir(dirname(path), { recursive: true });
  const token = randomBytes(8).toString('hex');
  // Line 5, the process's start (processStart), tells a reused pid from the holder; older files lack it.
  const content = writerLockText({ token, since: new Date().toISOString() });
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lock, 'wx');
      try {
        await handle.writeFile(content);
      } finally {
        await handle.close();
      }
      return heldLock(lock, token, created);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // The folder went between our mkdir and open: an empty folder another writer created was
      // removed by its release (see the file comment). Make it again, as ours now.
      if (code === 'ENOENT' && attempt < 5) {
        created = (await mkdir(dirname(path), { recursive: true })) ?? created;
        continue;
      }
      if (code !== 'EEXIST') throw err;
    }
    let seen = await readHolder(lock);
    // Its creator writes the file right after creating it, so a lock read in between is empty and
    // names no one: give it a few moments, so that the loser's error can name the writer.
    for (let wait = 0; seen !== undefined && !seen.holder && !seen.dead && wait < EMPTY_LOCK_WAITS; wait++) {
      await new Promise((r) => setTimeout(r, 10));
      seen = await readHolder(lock);
    }
    // Gone between our create and this read: try again. A few rounds at most (each one lost a
    // race to a live writer or removed a dead one's lock), so a loop here means a bug.
    if (seen !== undefined && !seen.dead) throw new OutputLockedError(uri, what, lock, seen.holder);
    if (attempt >= 5) throw new OutputLockedError(uri, what, lock, seen?.holder);
    if (seen) await takeOver(lock, seen.text);
  }
}

function heldLock(lock: string, token: string, created: string | undefined): OutputLock {
  const timer = setInterval(() => {
    const now = new Date();
    utimes(lock, now, now).catch(() => undefined);
  }, HEARTBEAT_MS);
  timer.unref();
  let released = false;
  return {
    path: lock,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      // Only our own file: one taken over meanwhile (we looked dead to someone) is theirs now.
      const text = await readFile(lock, 'utf8').catch(() => '');
      if (lockToken(text) === token) await rm(lock, { force: true });
      if (created !== undefined) await removeEmptyFolders(dirname(lock), created);
    },
  };
}

/**
 * Removes `from` and its parents up to `top` (inclusive) while they are empty: the folders a
 * lock created for an output that was never written. rmdir fails on a folder holding anything
 * (the output, another writer's lock), which ends the walk: never a folder with content.
 */
async function removeEmptyFolders(from: string, top: string): Promise<void> {
  if (from !== top && !from.startsWith(`${top}${sep}`)) return;
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    if (dir === top || dirname(dir) === dir) return;
  }
}

/** What the lock file says, and whether its holder is certainly gone (judged by its mtime); undefined when there is no file. */
async function readHolder(lock: string): Promise<JudgedLock | undefined> {
  const [text, s] = await Promise.all([readFile(lock, 'utf8').catch(() => undefined), stat(lock).catch(() => undefined)]);
  if (text === undefined || s === undefined) return undefined;
  return judgeWriterLock(text, s.mtimeMs);
}

/**
 * Removes a dead holder's lock, unless it changed since it was judged: under a guard file, so
 * that of two processes taking over the same dead lock, the second cannot remove the lock the
 * first has just created. Judged again by content (each holder's has its own token), not inode:
 * a file created after an unlink may get the freed inode number back.
 */
async function takeOver(lock: string, judged: string): Promise<void> {
  const guard = `${lock}-takeover`;
  try {
    await (await open(guard, 'wx')).close();
  } catch {
    const g = await stat(guard).catch(() => undefined);
    if (g && Date.now() - g.mtimeMs > STALE_GUARD_MS) await rm(guard, { force: true });
    else await new Promise((r) => setTimeout(r, 20 + Math.random() * 30));
    return;
  }
  try {
    const now = await readHolder(lock);
    if (now?.dead && now.text === judged) await rm(lock, { force: true });
  } finally {
    await rm(guard, { force: true });
  }
}
