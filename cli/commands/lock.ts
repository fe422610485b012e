/** `wdp lock status|break`: the retraining run lock (state/run.lock) of a local or deployed bucket. */
import type { Command } from 'commander';
import { DEFAULT_STACK, printJson, say } from '../shared.ts';

interface LockOptions {
  bucket: string;
  remote: boolean;
  stack: string;
  json: boolean;
  force?: boolean;
}

async function bucketOf(o: LockOptions): Promise<string> {
  if (!o.remote) return o.bucket;
  const { remoteBucketUri } = await import('../workflow-remote.ts');
  return remoteBucketUri({ stack: o.stack });
}

function withBucketOptions(c: Command): Command {
  return c
    .option('--bucket <dir|s3://…>', 'workflow bucket', '.wdp/bucket')
    .option('--remote', "the deployed stack's bucket (from its outputs)", false)
    .option('--stack <name>', 'deployed stack name', DEFAULT_STACK)
    .option('--json', 'print the lock as JSON on stdout', false);
}

export function addLockCommand(program: Command): void {
  const lock = program.command('lock').description('the retraining run lock: one run at a time per bucket');
  withBucketOptions(lock.command('status').description('who holds the run lock, since when and until when')).action(
    async (o: LockOptions) => {
      const { layout } = await import('../../src/workflow/bucket/layout.ts');
      const { readRunLock, isLockHeld, isHolderGone } = await import('../../src/workflow/bucket/run-lock.ts');
      const l = layout(await bucketOf(o));
      const r = await readRunLock(l);
      const now = Date.now();
      const status = !r ? 'free' : isLockHeld(r.lock, now) ? 'held' : r.lock.state === 'held' ? 'expired' : 'free';
      if (o.json) printJson({ status, lock: r?.lock ?? null });
      if (!r) say(`free: no run lock at ${l.runLock}`);
      else if (status === 'held')
        say(
          `held by run ${r.lock.owner} (${r.lock.holder}) since ${r.lock.acquiredAt}, lease until ${r.lock.expiresAt}${
            isHolderGone(r.lock) ? '; its process no longer runs (killed or crashed): the next local run takes it over' : ''
          }`,
        );
      else if (status === 'expired')
        say(`expired: run ${r.lock.owner} took it at ${r.lock.acquiredAt}, lease ended ${r.lock.expiresAt}; the next run takes it over`);
      else say(`free: last held by ${r.lock.owner}, released ${r.lock.releasedAt ?? '?'} (${r.lock.releaseReason ?? ''})`);
    },
  );
  withBucketOptions(
    lock.command('break').description('release a stale run lock (a run that died holding it); only do this when no run is in progress'),
  )
    .option(
      '--force',
      'break it even when its holder is a process still running on this host, or one that cannot be probed (--remote: the Lock function) and its lease has not ended',
      false,
    )
    .action(async (o: LockOptions) => {
      const { userInfo, hostname } = await import('node:os');
      const { layout } = await import('../../src/workflow/bucket/layout.ts');
      const { breakRunLock } = await import('../../src/workflow/bucket/run-lock.ts');
      const l = layout(await bucketOf(o));
      const broken = await breakRunLock(l, `${userInfo().username}@${hostname()} (wdp lock break)`, { force: o.force === true });
      if (o.json) printJson({ broken: broken ?? null });
      say(
        broken
          ? `broke the run lock of run ${broken.owner} (${broken.holder}), held since ${broken.acquiredAt}`
          : `nothing to break: no held run lock at ${l.runLock}`,
      );
    });
}
