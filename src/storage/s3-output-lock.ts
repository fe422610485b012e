/**
 * The writer lock of an S3 output (why outputs are locked: output-lock.ts). On S3 the lock matters
 * more than locally: a model folder there is written in place, file by file (no rename), so two
 * `wdp train --out s3://b/models/m --force` at once left the files of two models mixed under one
 * prefix, each run reporting success.
 *
 * The lock is the object `.<name>.wdp-tmp-writer-lock` beside the output's key (the local lock
 * file's name), holding the local lock's text plus a heartbeat line (writer-lock.ts). Beside, not
 * inside: a model folder's listing (`<key>/`) never sees it, and a scores file has no inside.
 * Listings of the parent ignore it as they ignore any dot-name (log listings, batch items) or
 * match only their own names (`v<N>/manifest.json`, `<run>/manifest.json`).
 *
 * S3's conditional writes do what the local lock does with exclusive creates and a guard file:
 *   acquire   a create-only PUT (If-None-Match: *): of two writers exactly one creates it.
 *   takeover  a lock whose holder is dead (its pid gone from this host, or no heartbeat for
 *             STALE_WRITER_LOCK_MS) is replaced by a PUT If-Match on the ETag it was judged by:
 *             of two takers of one dead lock the second's PUT fails (the ETag changed), so
 *             exactly one wins, and a holder that heartbeat meanwhile is not taken over.
 *   heartbeat a live holder rewrites the object (If-Match its last ETag) every HEARTBEAT_MS.
 *             An S3 object has no mtime to touch, so the heartbeat time is in the text, written
 *             by the holder's clock and judged by the taker's: hosts whose clocks differ by
 *             minutes could misjudge a lock, far from the 30 s beat against the 10 min limit.
 *             A failed condition means the lock was taken over (this holder looked dead to
 *             someone): the beat stops, and release leaves the object to its new holder.
 *   release   read, compare the token, delete (see there for the race this leaves).
 * Errors that are not a failed condition (403, a missing bucket, throttling past the retries)
 * propagate with S3Store's messages, from the acquire: a writer that cannot take its lock stops.
 */
import { randomBytes } from 'node:crypto';
import type { BlobStore, VersionedBlob } from './blob-store.ts';
import { OutputLockedError, StorageNotFoundError, StoragePreconditionError } from './errors.ts';
import { parseS3Uri, storeFor } from './index.ts';
import {
  HEARTBEAT_MS,
  type JudgedLock,
  judgeWriterLock,
  type LockOwnerId,
  lockHeartbeatMs,
  lockToken,
  type OutputLock,
  STALE_WRITER_LOCK_MS,
  writerLockText,
} from './writer-lock.ts';

/** Rounds of create, read, take over: each lost round lost a race to a live or dying writer, so more means a bug. */
const TAKE_ATTEMPTS = 5;

/** The lock object of S3 output `uri`: `.<name>.wdp-tmp-writer-lock` beside its key (a bucket root's beside nothing: in it, named for the bucket). */
export function s3OutputLockUri(uri: string): string {
  const { bucket, key } = parseS3Uri(uri.replace(/\/+$/, ''));
  const slash = key.lastIndexOf('/');
  return `s3://${bucket}/${key.slice(0, slash + 1)}.${key.slice(slash + 1) || bucket}.wdp-tmp-writer-lock`;
}

export interface S3LockOptions {
  /** How often the holder rewrites its heartbeat (tests shorten it). @default HEARTBEAT_MS */
  readonly heartbeatMs?: number;
}

/**
 * Takes the writer lock of S3 output `uri`, or fails.
 * @param what the output in a few words, for the loser's error ("this model folder")
 * @throws OutputLockedError when another live writer holds it, naming that writer
 * @throws StorageError when S3 refuses the lock's requests for another reason (403, no bucket)
 */
export async function lockS3Output(uri: string, what: string, options: S3LockOptions = {}): Promise<OutputLock> {
  const lock = s3OutputLockUri(uri);
  const store = storeFor(lock);
  const owner: LockOwnerId = { token: randomBytes(8).toString('hex'), since: new Date().toISOString() };
  const text = () => writerLockText(owner, new Date().toISOString());
  let seen: JudgedLock | undefined;
  for (let attempt = 0; attempt < TAKE_ATTEMPTS; attempt++) {
    const created = await unlessChanged(() => store.write(lock, text(), { ifNoneMatch: '*' }), false);
    if (created) return heldS3Lock(store, lock, owner.token, created.etag, text, options.heartbeatMs ?? HEARTBEAT_MS);
    const current = await store.readVersioned(lock);
    // Released between our create and this read: create again.
    if (!current) continue;
    seen = await judge(store, lock, current);
    if (!seen.dead) throw new OutputLockedError(uri, what, lock, seen.holder);
    // Only the version judged dead is replaced: another taker's (or a revived holder's) write changed its ETag.
    const taken = await unlessChanged(() => store.write(lock, text(), { ifMatch: current.etag }), true);
    if (taken) return heldS3Lock(store, lock, owner.token, taken.etag, text, options.heartbeatMs ?? HEARTBEAT_MS);
  }
  throw new OutputLockedError(uri, what, lock, seen?.holder);
}

/**
 * `write`'s result, or undefined when its condition failed: the object changed (or, for an If-Match,
 * is gone: S3 answers 404 there) since it was read, and the caller reads and decides again. For a
 * create-only write a 404 is a missing bucket, and propagates.
 */
async function unlessChanged<T>(write: () => Promise<T>, goneIsChange: boolean): Promise<T | undefined> {
  try {
    return await write();
  } catch (e) {
    if (e instanceof StoragePreconditionError || (goneIsChange && e instanceof StorageNotFoundError)) return undefined;
    throw e;
  }
}

/** The lock as read, judged by its heartbeat; a text without one (not written by wdp) by the object's LastModified. */
async function judge(store: BlobStore, lock: string, current: VersionedBlob): Promise<JudgedLock> {
  const text = new TextDecoder().decode(current.data);
  // A newer version's LastModified is later than the one read: never judges it staler than it is.
  const sign = lockHeartbeatMs(text) ?? (await store.stat(lock))?.lastModifiedEpochMs ?? Date.now();
  return judgeWriterLock(text, sign);
}

function heldS3Lock(store: BlobStore, lock: string, token: string, etag: string, text: () => string, heartbeatMs: number): OutputLock {
  let current = etag;
  let lost = false;
  let beating: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (beating || lost) return;
    beating = store
      .write(lock, text(), { ifMatch: current })
      .then(
        (r) => {
          current = r.etag;
        },
        (e: unknown) => {
          // Taken over (or removed by hand): the lock is no longer ours, so stop claiming it.
          // Anything else (a network failure past the retries) is tried again at the next beat.
          if (e instanceof StoragePreconditionError || e instanceof StorageNotFoundError) {
            lost = true;
            clearInterval(timer);
          }
        },
      )
      .finally(() => {
        beating = undefined;
      });
  }, heartbeatMs);
  timer.unref();
  let released = false;
  return {
    path: lock,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      // A beat in flight settles first, so that `lost` is known and no beat lands after the delete.
      await beating;
      if (lost) return;
      // Only our own object (its token): one taken over meanwhile is its new holder's. Read then
      // delete is not atomic (S3Store has no conditional delete): a takeover landing between the
      // two would lose its lock. The local release has the same shape; it needs this holder to
      // have looked dead (10 min without a beat) at the very moment it ends, a window of one request.
      try {
        const now = await store.readVersioned(lock);
        if (now && lockToken(new TextDecoder().decode(now.data)) === token) await store.delete(lock);
      } catch (e) {
        // A lock left behind (a role without DeleteObject, S3 down past the retries) must not turn
        // a finished write into a reported failure, nor hide the write's own error. What it costs
        // is said: the next writer on this host takes it over at once, elsewhere after the limit.
        process.emitWarning(
          `could not remove the writer lock ${lock} (${(e as Error).message}): a writer on this host takes it over at once, one on another host after ${STALE_WRITER_LOCK_MS / 60_000} min without its heartbeat; or remove it by hand`,
          { code: 'WDP_WRITER_LOCK_LEFT' },
        );
      }
    },
  };
}
