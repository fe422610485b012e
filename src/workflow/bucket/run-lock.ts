/**
 * The run lock: one retraining run at a time per bucket. A lease in `state/run.lock`, taken by a
 * create-only write (S3 If-None-Match: *, an exclusive create on the folder store), so of two runs
 * starting together exactly one wins. It is released by a compare-and-swap to `released` rather
 * than a delete, so a release can never remove a lock that another run took meanwhile.
 *
 * The lease bounds how long a crashed or aborted run (no Catch ran, nothing released) keeps the
 * others out: after `expiresAt` the next run takes it over, again by compare-and-swap on the
 * expired lock's etag, so two runs cannot both take over the same expired lease. The lease must
 * outlast any legitimate run (on AWS: the state machine's own timeout, see cdk/).
 */
import { hostname } from 'node:os';
import { ownerRuns, thisProcessStart } from '../../util/process-owner.ts';
import { z } from 'zod';
import { StoragePreconditionError, storeFor } from '../../storage/index.ts';
import { WorkflowError } from '../errors.ts';
import { readJsonVersioned, writeJson } from './json-store.ts';
import type { BucketLayout } from './layout.ts';

/**
 * Longer than a whole default run on AWS (3 training attempts × 6 h plus the other steps, which is
 * also the state machine's timeout); the stack passes its own machine timeout instead.
 */
export const DEFAULT_LOCK_LEASE_MS = 24 * 3600_000;

/** The Lock function's lease in seconds (the stack sets it from the state machine's timeout). */
export const RUN_LOCK_LEASE_ENV = 'WDP_RUN_LOCK_LEASE_SECONDS';

export const runLockSchema = z
  .object({
    formatVersion: z.literal(1),
    state: z.enum(['held', 'released']),
    /** The execution that holds (or last held) the lock; run ids embed it. */
    owner: z.string().min(1),
    /** Where it runs: a host and process, or the Lambda. */
    holder: z.string(),
    acquiredAt: z.string(),
    expiresAt: z.string(),
    releasedAt: z.string().nullable(),
    /** Why it was released: the exit path, or `broken by …`. */
    releaseReason: z.string().nullable(),
  })
  .strict();
export type RunLock = z.output<typeof runLockSchema>;

export interface AcquireOptions {
  /** The execution name: unique per run, and known on every exit path of the state machine. */
  readonly owner: string;
  readonly holder: string;
  /** @default DEFAULT_LOCK_LEASE_MS */
  readonly leaseMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * Whether a held, unexpired lock's run is known to be gone, so its lease need not be waited out.
   * Only a runner whose whole run lives in one process may say so (the local runner: its holder
   * names this host and a pid that no longer runs, see isHolderGone); on AWS the Lock function's
   * process ends as soon as the run starts, so there a lock is freed only by its lease or release.
   * @default never
   */
  readonly holderGone?: (lock: RunLock) => boolean;
}

export type AcquireResult =
  | { readonly acquired: true; readonly lock: RunLock; readonly tookOver: RunLock | null }
  | { readonly acquired: false; readonly lock: RunLock; readonly message: string };

/** Whether `lock` keeps others out at `nowMs`. */
export function isLockHeld(lock: RunLock, nowMs: number): boolean {
  return lock.state === 'held' && Date.parse(lock.expiresAt) > nowMs;
}

export function describeHeldLock(lock: RunLock): string {
  return `ANOTHER RUN IS IN PROGRESS: run ${lock.owner} (${lock.holder}) since ${lock.acquiredAt}, lease until ${lock.expiresAt}; if it is dead, \`wdp lock break\``;
}

/**
 * The lock object exists but cannot be read (truncated, edited by hand). No run may assume it is
 * free, so this fails closed, naming the repair: `wdp lock break` replaces it.
 */
export class UnreadableRunLockError extends WorkflowError {}

export async function readRunLock(l: BucketLayout): Promise<{ readonly lock: RunLock; readonly etag: string } | undefined> {
  let read: Awaited<ReturnType<typeof readJsonVersioned<typeof runLockSchema>>>;
  try {
    read = await readJsonVersioned(l.runLock, runLockSchema);
  } catch (e) {
    if (!(e instanceof WorkflowError)) throw e;
    throw new UnreadableRunLockError(
      `the run lock is unreadable (${e.message}); no run can start until it is repaired: if no run is in progress, \`wdp lock break\` replaces it`,
      { cause: e },
    );
  }
  return read ? { lock: read.value, etag: read.etag } : undefined;
}

/**
 * Takes the lock for `owner`, or reports who holds it. Idempotent per owner (a retried Lock step
 * gets its own lock back). A lost conditional write means another run moved first: read again and
 * decide again, a bounded number of times.
 */
export async function acquireRunLock(l: BucketLayout, options: AcquireOptions): Promise<AcquireResult> {
  const now = options.now ?? Date.now;
  const leaseMs = options.leaseMs ?? DEFAULT_LOCK_LEASE_MS;
  if (!(leaseMs > 0)) throw new WorkflowError(`run lock lease must be positive, got ${leaseMs} ms`);
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await readRunLock(l);
    const t = now();
    if (current && current.lock.state === 'held' && current.lock.owner === options.owner)
      return { acquired: true, lock: current.lock, tookOver: null };
    if (current && isLockHeld(current.lock, t) && !options.holderGone?.(current.lock))
      return { acquired: false, lock: current.lock, message: describeHeldLock(current.lock) };
    const lock: RunLock = {
      formatVersion: 1,
      state: 'held',
      owner: options.owner,
      holder: options.holder,
      acquiredAt: new Date(t).toISOString(),
      expiresAt: new Date(t + leaseMs).toISOString(),
      releasedAt: null,
      releaseReason: null,
    };
    try {
      await writeJson(l.runLock, lock, current ? { ifMatch: current.etag } : { ifNoneMatch: '*' });
      // A held lock here had expired, or its process is gone: its run died without releasing it.
      return { acquired: true, lock, tookOver: current?.lock.state === 'held' ? current.lock : null };
    } catch (e) {
      if (!(e instanceof StoragePreconditionError)) throw e;
    }
  }
  throw new WorkflowError(`could not take the run lock ${l.runLock}: it kept changing under 5 attempts`);
}

export type ReleaseResult = { readonly released: boolean; readonly note: string };

/**
 * Releases the lock if `owner` holds it; otherwise changes nothing (a run that never got the lock,
 * or whose expired lease another run took over, must not free someone else's lock).
 */
export async function releaseRunLock(l: BucketLayout, owner: string, reason: string, now: () => number = Date.now): Promise<ReleaseResult> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await readRunLock(l);
    if (!current) return { released: false, note: `no run lock at ${l.runLock}` };
    if (current.lock.owner !== owner) return { released: false, note: `the run lock belongs to ${current.lock.owner}, not ${owner}` };
    if (current.lock.state === 'released') return { released: false, note: `already released (${current.lock.releaseReason ?? ''})` };
    try {
      await writeJson(l.runLock, releasedLock(current.lock, reason, now()), { ifMatch: current.etag });
      return { released: true, note: `released (${reason})` };
    } catch (e) {
      if (!(e instanceof StoragePreconditionError)) throw e;
    }
  }
  throw new WorkflowError(`could not release the run lock ${l.runLock}: it kept changing under 5 attempts`);
}

/**
 * `wdp lock break` found the lock held by a run that is still running, or may be: its holder is
 * not a process of this host (the Lock Lambda, another machine) and its lease has not ended (and
 * it was not forced).
 */
export class LiveRunLockError extends WorkflowError {}

/**
 * The holder the local runner and the Lock function write by default: host and process, and the
 * process's start where the kernel tells it (`… pid 7 started 3f2a9c1e:81234`), so that a later
 * process given the same pid (a restarted container) does not look like the holder.
 */
export function localHolder(): string {
  const start = thisProcessStart();
  return `${hostname()} pid ${process.pid}${start ? ` started ${start}` : ''}`;
}

/**
 * Whether the lock's holder is a process that still runs on this host: true or false when the
 * holder names this host and a pid (localHolder()), undefined when that cannot be told here (a
 * Lambda, another host).
 */
export function isHolderAlive(lock: RunLock, host: string = hostname()): boolean | undefined {
  const m = /^(.+) pid (\d+)(?: started (\S+))?$/.exec(lock.holder);
  if (!m || m[1] !== host) return undefined;
  return ownerRuns(Number(m[2]), m[3]);
}

/**
 * Whether the lock's run is known to have died: its holder is a process of this host
 * (localHolder()) that no longer runs. A Ctrl-C, a kill or a crash of a local run leaves the lock
 * held for its whole lease otherwise. False whenever that cannot be told (a Lambda, another host).
 */
export function isHolderGone(lock: RunLock, host: string = hostname()): boolean {
  return isHolderAlive(lock, host) === false;
}

export interface BreakOptions {
  /** Break it even when its holder is a live process of this host, or one that cannot be probed within its lease. @default false */
  readonly force?: boolean;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * An operator's explicit release of whatever lock is there (a run that died holding it). Only
 * the version read is replaced, so a lock taken meanwhile by a new run is not broken blindly.
 * A held lock whose holder still runs on this host is refused unless `force`: breaking it would
 * let a second run train and promote beside it. So is one whose holder cannot be probed from here
 * (the deployed Lock function, another host: a remote bucket's lock always) while its lease runs:
 * the lock has no heartbeat, and its lease (acquiredAt → expiresAt) is how long a live run may
 * legitimately hold it, so only a lock past it is known to be stale without asking the operator.
 * @throws LiveRunLockError when the holder is alive, or unknown within its lease, and `force` is not set
 */
export async function breakRunLock(l: BucketLayout, by: string, options: BreakOptions | (() => number) = {}): Promise<RunLock | undefined> {
  const { now = Date.now, force = false } = typeof options === 'function' ? { now: options } : options;
  let current: Awaited<ReturnType<typeof readRunLock>>;
  try {
    current = await readRunLock(l);
  } catch (e) {
    if (!(e instanceof UnreadableRunLockError)) throw e;
    // Replace exactly the unreadable version (as bytes): a lock a new run wrote meanwhile stays.
    const raw = await storeFor(l.runLock).readVersioned(l.runLock);
    if (!raw) return undefined;
    const at = new Date(now()).toISOString();
    const unknown: RunLock = {
      formatVersion: 1,
      state: 'held',
      owner: 'unknown (unreadable lock)',
      holder: 'unknown',
      acquiredAt: at,
      expiresAt: at,
      releasedAt: null,
      releaseReason: null,
    };
    await writeReleased(l, unknown, `broken by ${by} (it was unreadable)`, now(), raw.etag);
    return unknown;
  }
  if (!current || current.lock.state === 'released') return undefined;
  const alive = force ? undefined : isHolderAlive(current.lock);
  if (alive === true)
    throw new LiveRunLockError(
      `run ${current.lock.owner} (${current.lock.holder}) still holds the run lock and its process is running: not breaking it (a second run would train and promote beside it). Wait for it to end, stop it, or pass --force if that process is not the run`,
    );
  if (!force && alive === undefined && isLockHeld(current.lock, now())) throw unprobedHolder(current.lock, now());
  await writeReleased(l, current.lock, `broken by ${by}${force ? ' (forced)' : ''}`, now(), current.etag);
  return current.lock;
}

/** The refusal for a holder nobody here can probe, naming who holds the lock, since when and until when. */
function unprobedHolder(lock: RunLock, nowMs: number): LiveRunLockError {
  const minutes = Math.max(0, Math.round((nowMs - Date.parse(lock.acquiredAt)) / 60_000));
  return new LiveRunLockError(
    `run ${lock.owner} (${lock.holder}) holds the run lock since ${lock.acquiredAt} (${minutes} min ago), lease until ${lock.expiresAt}; whether it still runs cannot be told from here, so not breaking it before its lease ends (a second run would train and promote beside it). Check that run (\`wdp runs --remote\`, or execution ${lock.owner} of the state machine) and pass --force once it is known to be dead; after ${lock.expiresAt} the next run takes the lock over by itself`,
  );
}

async function writeReleased(l: BucketLayout, lock: RunLock, reason: string, nowMs: number, etag: string): Promise<void> {
  try {
    await writeJson(l.runLock, releasedLock(lock, reason, nowMs), { ifMatch: etag });
  } catch (e) {
    if (e instanceof StoragePreconditionError)
      throw new WorkflowError(`the run lock ${l.runLock} changed while breaking it; run \`wdp lock status\` and decide again`, {
        cause: e,
      });
    throw e;
  }
}

function releasedLock(lock: RunLock, reason: string, nowMs: number): RunLock {
  return { ...lock, state: 'released', releasedAt: new Date(nowMs).toISOString(), releaseReason: reason };
}

/** The Lock / Unlock states' event: the execution name is known on every path, even before Ingest. */
export const runLockEventSchema = z
  .object({
    action: z.enum(['acquire', 'release']),
    executionName: z.string().min(1),
    /** Which exit path releases (promoted, rejected, no new data, failed). */
    reason: z.string().optional(),
  })
  .passthrough();
export type RunLockEvent = z.output<typeof runLockEventSchema>;

export const runLockResultSchema = z
  .object({
    /** acquire: this execution holds the lock; release: it was released now. */
    acquired: z.boolean(),
    owner: z.string(),
    message: z.string(),
  })
  .strict();
export type RunLockResult = z.output<typeof runLockResultSchema>;
