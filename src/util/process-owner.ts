/**
 * Who owns a leftover (a lock file, a save's temp folder): this process's pid and host, so that
 * a later process can tell a leftover of a killed process on this host (safe to remove at once)
 * from one of a live process or of another host sharing the folder (left to an age limit).
 */
import { createHash } from 'node:crypto';
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
