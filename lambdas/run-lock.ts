/**
 * Lock / Unlock Lambda: the retraining run lock (src/workflow/bucket/run-lock.ts). The state
 * machine's first state acquires it; every exit path (promoted, no new data, rejected, and the
 * Catch's failure chain) releases it. A run that finds the lock held ends without training.
 */
import { layout } from '../src/workflow/bucket/layout.ts';
import {
  acquireRunLock,
  DEFAULT_LOCK_LEASE_MS,
  isHolderGone,
  localHolder,
  releaseRunLock,
  RUN_LOCK_LEASE_ENV,
  type RunLock,
  runLockEventSchema,
  type RunLockResult,
} from '../src/workflow/bucket/run-lock.ts';
import { parseEvent } from '../src/workflow/schemas.ts';
import { silentLogger, type Logger } from '../src/util/log.ts';
import { observe, once, requireEnv } from './shared/runtime.ts';

export interface RunLockSettings {
  readonly bucketUri: string;
  /** @default DEFAULT_LOCK_LEASE_MS */
  readonly leaseMs?: number;
  /** Shown to whoever finds the lock held. @default host and pid */
  readonly holder?: string;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * Take over a lock whose holder is a process of this host that no longer runs (isHolderGone):
   * for the local runner, whose whole run is this one process. Never on AWS. @default false
   */
  readonly takeOverFromGoneProcess?: boolean;
}

export function createRunLockHandler(settings: RunLockSettings, logger: Logger = silentLogger) {
  const l = layout(settings.bucketUri);
  return async (event: unknown): Promise<RunLockResult> => {
    const e = parseEvent('RunLock', runLockEventSchema, event);
    if (e.action === 'acquire') {
      const r = await acquireRunLock(l, {
        owner: e.executionName,
        holder: settings.holder ?? localHolder(),
        leaseMs: settings.leaseMs ?? DEFAULT_LOCK_LEASE_MS,
        ...(settings.now ? { now: settings.now } : {}),
        ...(settings.takeOverFromGoneProcess ? { holderGone: (lock: RunLock) => isHolderGone(lock) } : {}),
      });
      if (!r.acquired) {
        logger.warn(r.message);
        return { acquired: false, owner: r.lock.owner, message: r.message };
      }
      const t = r.tookOver;
      const message = !t
        ? `run lock taken, lease until ${r.lock.expiresAt}`
        : Date.parse(t.expiresAt) > Date.parse(r.lock.acquiredAt)
          ? `took over the run lock of ${t.owner} (${t.holder}, since ${t.acquiredAt}): that process no longer runs (interrupted or crashed); lease until ${r.lock.expiresAt}`
          : `took over the expired run lock of ${t.owner} (lease ended ${t.expiresAt}); lease until ${r.lock.expiresAt}`;
      if (r.tookOver) logger.warn(message);
      else logger.info(message);
      return { acquired: true, owner: e.executionName, message };
    }
    const r = await releaseRunLock(l, e.executionName, e.reason ?? 'run ended', settings.now);
    logger.info(`run lock: ${r.note}`);
    return { acquired: r.released, owner: e.executionName, message: r.note };
  };
}

const settings = once((): RunLockSettings => {
  const raw = process.env[RUN_LOCK_LEASE_ENV];
  const seconds = raw ? Number(raw) : undefined;
  if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0))
    throw new Error(`${RUN_LOCK_LEASE_ENV} must be a positive number of seconds, got ${raw}`);
  return {
    bucketUri: requireEnv('WDP_BUCKET_URI'),
    holder: `lambda ${process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'run-lock'}`,
    ...(seconds !== undefined ? { leaseMs: seconds * 1000 } : {}),
  };
});

export const handler = observe('RunLock', (event: unknown, logger) => createRunLockHandler(settings(), logger)(event));
