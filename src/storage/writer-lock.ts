/**
 * What a writer lock (output-lock.ts: a local lock file; s3-output-lock.ts: an S3 lock object)
 * says about its holder, and how a holder is judged dead: one text format and one judgement for
 * both, so a lock reads the same (and its loser's error names its holder the same) wherever the
 * output lives.
 *
 * The text is lines: `<pid>@<host>`, when it took the lock (ISO), its command line, a random
 * token (which holder this is, for release and takeover), the process's start as the kernel
 * records it (processStart; empty where unknown), and, on S3 only, the last heartbeat (ISO): an
 * S3 object has no mtime a holder can touch, so its heartbeat is a rewrite of this text.
 */
import { ownerRuns, thisHost, thisProcessStart } from '../util/process-owner.ts';
import type { LockHolder } from './errors.ts';

/** A holder that cannot be checked (another host) is taken to be dead once its lock is this old without a heartbeat. */
export const STALE_WRITER_LOCK_MS = 10 * 60 * 1000;
/** How often a holder refreshes its lock: far below STALE_WRITER_LOCK_MS, so a busy event loop does not lose it. */
export const HEARTBEAT_MS = 30_000;

/** A held lock: `release` removes it, once, and only if it is still this holder's. */
export interface OutputLock {
  /** The lock file's path, or the lock object's s3:// URI. */
  readonly path: string;
  release(): Promise<void>;
}

/** This process as a lock's holder: its token and when it took the lock. */
export interface LockOwnerId {
  readonly token: string;
  /** ISO time the lock was taken. */
  readonly since: string;
}

/** The lock text naming this process as holder; with `heartbeat` (ISO), the S3 form. */
export function writerLockText(owner: LockOwnerId, heartbeat?: string): string {
  const lines = [`${process.pid}@${thisHost()}`, owner.since, commandLine(), owner.token, thisProcessStart() ?? ''];
  if (heartbeat !== undefined) lines.push(heartbeat);
  return `${lines.join('\n')}\n`;
}

/** The command line of this process, short, for the loser's message. */
function commandLine(): string {
  const args = process.argv.slice(2).join(' ');
  return (args.length > 300 ? `${args.slice(0, 300)}…` : args).replace(/[\r\n]/g, ' ');
}

/** The holder's token (line 4) of a lock text; undefined when it has none. */
export function lockToken(text: string): string | undefined {
  return text.split('\n')[3] || undefined;
}

/** The heartbeat (line 6, S3 locks) of a lock text in epoch ms; undefined when absent or unreadable. */
export function lockHeartbeatMs(text: string): number | undefined {
  const line = text.split('\n')[5];
  const ms = line ? Date.parse(line) : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

/** What a lock says, and whether its holder is certainly gone. */
export interface JudgedLock {
  readonly holder?: LockHolder;
  readonly dead: boolean;
  readonly text: string;
}

/**
 * Reads lock `text` whose holder last showed life at `lastSignMs` (a file's mtime, an S3 lock's
 * heartbeat). Dead: its holder names this host and a process that no longer runs (or a pid now
 * reused by a later process), or no sign of life for STALE_WRITER_LOCK_MS. A text naming no one
 * (being written, or not ours) can be condemned only by its age. This very process is a live
 * holder (ownerRuns says so): two writers in one process conflict like two processes.
 */
export function judgeWriterLock(text: string, lastSignMs: number, nowMs: number = Date.now()): JudgedLock {
  const lines = text.split('\n');
  const owner = /^(\d+)@(.+)$/.exec(lines[0] ?? '');
  const holder = owner ? { pid: Number(owner[1]), host: owner[2]!, since: lines[1] ?? '', command: lines[2] ?? '' } : undefined;
  const stale = nowMs - lastSignMs > STALE_WRITER_LOCK_MS;
  const start = lines[4] || undefined;
  const goneHere = holder !== undefined && holder.host === thisHost() && !ownerRuns(holder.pid, start);
  return { ...(holder ? { holder } : {}), dead: goneHere || stale, text };
}
