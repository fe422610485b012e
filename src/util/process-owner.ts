/**
 * Who owns a leftover (a lock file, a save's temp folder): this process's pid and host, so that
 * a later process can tell a leftover of a killed process on this host (safe to remove at once)
 * from one of a live process or of another host sharing the folder (left to an age limit).
 *
 * A pid alone is not an identity: pids are reused, and in a container a restarted command gets
 * the same small pid (often 1) under the same host name (a pod's). Where the kernel says when a
 * process started (Linux's /proc), owners also record that start, so a lock whose pid now names
 * another process is known to be dead instead of looking live until its lease or age runs out.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** This host's name, as owners record it. */
export function thisHost(): string {
  return hostname();
}

/** A short fixed-width tag of a host name, for owners recorded in file names (a host name may hold any character). */
export function hostTag(host: string = thisHost()): string {
  return createHash('sha256').update(host).digest('hex').slice(0, 8);
}

/** Whether a process with this pid exists on this host (EPERM: it exists, owned by someone else). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException | undefined)?.code === 'EPERM';
  }
}

let bootId: string | undefined | null = null;

/** The first 8 hex digits of this boot's id: a start time counts from boot, so it needs the boot it counts from. */
function thisBoot(): string | undefined {
  if (bootId === null) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').replace(/-/g, '').trim().slice(0, 8) || undefined;
    } catch {
      bootId = undefined;
    }
  }
  return bootId;
}

/**
 * When process `pid` started, as `<boot>:<clock ticks since boot>` (a token with no spaces),
 * or undefined where that cannot be read (not Linux, no /proc, the process is gone).
 */
export function processStart(pid: number): string | undefined {
  const boot = thisBoot();
  if (boot === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces or ')': fields after
    // the last ')' are plain. starttime is field 22 overall, the 20th after the name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19];
    return ticks !== undefined && /^\d+$/.test(ticks) ? `${boot}:${ticks}` : undefined;
  } catch {
    return undefined;
  }
}

let ownStart: string | undefined | null = null;

/** This process's start (processStart), read once. */
export function thisProcessStart(): string | undefined {
  if (ownStart === null) ownStart = processStart(process.pid);
  return ownStart;
}

/**
 * Whether the owner a leftover recorded (a pid of this host, and its start when recorded) still
 * runs: false when the pid is gone, or when it now names a process that started at another time
 * (the pid was reused). Without a recorded start (an older file, a system without /proc) only the
 * pid can be checked. True for this very process: a leftover it recorded is its own, live.
 */
export function ownerRuns(pid: number, start?: string): boolean {
  if (!processExists(pid)) return false;
  if (start === undefined) return true;
  const now = processStart(pid);
  return now === undefined || now === start;
}
