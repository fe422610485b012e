import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { layout } from '../../../src/workflow/bucket/layout.ts';
import {
  acquireRunLock,
  breakRunLock,
  isHolderGone,
  LiveRunLockError,
  localHolder,
  readRunLock,
  releaseRunLock,
  UnreadableRunLockError,
} from '../../../src/workflow/bucket/run-lock.ts';
import { dirname } from 'node:path';
import { mockS3Memory } from '../../helpers/s3-memory.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
const bucket = async () => {
  const d = await mkdtemp(join(tmpdir(), 'wdp-lock-'));
  dirs.push(d);
  return layout(d);
};
const HOUR = 3600_000;
const T0 = Date.parse('2026-01-10T02:00:00Z');

describe('run lock (folder store: exclusive create, compare-and-swap)', () => {
  it('holderGone: a held lock whose holder is a gone process of this host is taken over by compare-and-swap; otherwise not', async () => {
    const l = await bucket();
    const gone = `${hostname()} pid 2147483646`;
    await acquireRunLock(l, { owner: 'dead', holder: gone, leaseMs: HOUR, now: () => T0 });
    assert.equal(isHolderGone((await readRunLock(l))!.lock), true);
    assert.equal(isHolderGone({ ...(await readRunLock(l))!.lock, holder: localHolder() }), false);
    assert.equal(isHolderGone({ ...(await readRunLock(l))!.lock, holder: 'lambda wdp-RunLock' }), false);
    assert.equal(isHolderGone({ ...(await readRunLock(l))!.lock, holder: 'other-host pid 2147483646' }), false);
    // The holder's pid now names another process (a restarted container's command): gone too.
    if (process.platform === 'linux') {
      assert.match(localHolder(), / pid \d+ started [0-9a-f]{8}:\d+$/);
      assert.equal(isHolderGone({ ...(await readRunLock(l))!.lock, holder: `${hostname()} pid ${process.pid} started 0123abcd:5` }), true);
      assert.equal(isHolderGone({ ...(await readRunLock(l))!.lock, holder: `${hostname()} pid ${process.pid}` }), false);
    }
    // Without holderGone (the Lock function on AWS) the lease is waited out.
    assert.equal((await acquireRunLock(l, { owner: 'x', holder: 't', now: () => T0 + 1 })).acquired, false);
    const taken = await Promise.all(
      ['x', 'y'].map((owner) => acquireRunLock(l, { owner, holder: localHolder(), now: () => T0 + 1, holderGone: isHolderGone })),
    );
    assert.deepEqual(taken.map((r) => r.acquired).sort(), [false, true], 'exactly one of two takes it over');
    const winner = taken.find((r) => r.acquired)!;
    assert.equal(winner.acquired && winner.tookOver?.owner, 'dead');
  });

  it('of ten runs taking it at once, exactly one gets it; the others are told who holds it', async () => {
    const l = await bucket();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => acquireRunLock(l, { owner: `run-${i}`, holder: 'test', leaseMs: HOUR, now: () => T0 })),
    );
    const winners = results.filter((r) => r.acquired);
    assert.equal(winners.length, 1);
    const owner = winners[0]!.lock.owner;
    for (const r of results.filter((r) => !r.acquired))
      assert.equal(
        r.acquired === false && r.message,
        `ANOTHER RUN IS IN PROGRESS: run ${owner} (test) since 2026-01-10T02:00:00.000Z, lease until 2026-01-10T03:00:00.000Z; if it is dead, \`wdp lock break\``,
      );
    assert.equal((await readRunLock(l))?.lock.owner, owner);
  });

  it('is re-entrant for its owner, released only by its owner, and free again after release', async () => {
    const l = await bucket();
    assert.equal((await acquireRunLock(l, { owner: 'a', holder: 't', now: () => T0 })).acquired, true);
    assert.equal((await acquireRunLock(l, { owner: 'a', holder: 't', now: () => T0 })).acquired, true, 'a retried Lock step');
    assert.deepEqual(await releaseRunLock(l, 'b', 'failed'), { released: false, note: 'the run lock belongs to a, not b' });
    assert.equal((await readRunLock(l))?.lock.state, 'held');
    assert.equal((await releaseRunLock(l, 'a', 'promoted')).released, true);
    const released = await readRunLock(l);
    assert.equal(released?.lock.state, 'released');
    assert.equal(released?.lock.releaseReason, 'promoted');
    assert.equal((await releaseRunLock(l, 'a', 'again')).released, false, 'a second release changes nothing');
    assert.equal((await acquireRunLock(l, { owner: 'b', holder: 't', now: () => T0 })).acquired, true);
  });

  it('an expired lease is taken over (once, by one of two racers); a live one is not', async () => {
    const l = await bucket();
    await acquireRunLock(l, { owner: 'dead', holder: 't', leaseMs: HOUR, now: () => T0 });
    const early = await acquireRunLock(l, { owner: 'x', holder: 't', now: () => T0 + HOUR - 1 });
    assert.equal(early.acquired, false);
    const late = await Promise.all(['x', 'y'].map((owner) => acquireRunLock(l, { owner, holder: 't', now: () => T0 + HOUR + 1 })));
    assert.equal(late.filter((r) => r.acquired).length, 1);
    const won = late.find((r) => r.acquired);
    assert.equal(won?.acquired && won.tookOver?.owner, 'dead');
    // The dead run, should it wake up, cannot release the new owner's lock.
    assert.equal((await releaseRunLock(l, 'dead', 'failed')).released, false);
  });

  it('break releases a stale lock (past its lease) so the next run can take it', async () => {
    const l = await bucket();
    await acquireRunLock(l, { owner: 'crashed', holder: 't', leaseMs: HOUR, now: () => T0 });
    const broken = await breakRunLock(l, 'operator', () => T0 + HOUR + 1000);
    assert.equal(broken?.owner, 'crashed');
    assert.equal((await readRunLock(l))?.lock.releaseReason, 'broken by operator');
    assert.equal(await breakRunLock(l, 'operator'), undefined, 'nothing to break');
    assert.equal((await acquireRunLock(l, { owner: 'next', holder: 't', now: () => T0 + 2000 })).acquired, true);
  });

  it('break refuses a lock whose holder still runs on this host, unless forced', async () => {
    const l = await bucket();
    // This test process is the live holder (what the local runner writes: host and pid).
    await acquireRunLock(l, { owner: 'running', holder: localHolder(), now: () => T0 });
    await assert.rejects(
      breakRunLock(l, 'operator', { now: () => T0 + 1000 }),
      (e: unknown) => e instanceof LiveRunLockError && /run running .* still holds the run lock .*--force/.test(String(e)),
    );
    assert.equal((await readRunLock(l))?.lock.state, 'held', 'not broken');
    const broken = await breakRunLock(l, 'operator', { now: () => T0 + 2000, force: true });
    assert.equal(broken?.owner, 'running');
    assert.equal((await readRunLock(l))?.lock.releaseReason, 'broken by operator (forced)');
  });

  it('break releases the lock of a dead process of this host without --force', async () => {
    const l = await bucket();
    // Above any pid_max: no such process.
    await acquireRunLock(l, { owner: 'killed', holder: `${hostname()} pid ${2 ** 22 + 1}`, now: () => T0 });
    assert.equal((await breakRunLock(l, 'operator'))?.owner, 'killed');
    assert.equal((await readRunLock(l))?.lock.state, 'released');
  });

  it('a folder where the lock file belongs fails naming it, not as a lock that kept changing', async () => {
    const l = await bucket();
    await mkdir(l.runLock, { recursive: true });
    await assert.rejects(
      acquireRunLock(l, { owner: 'run-a', holder: 'h', now: () => T0 }),
      (e: Error) => e.message.includes(l.runLock) && /a folder is at this path/.test(e.message) && !/kept changing/.test(e.message),
    );
  });

  it('an unreadable lock fails closed, naming `wdp lock break`, which replaces it', async () => {
    const l = await bucket();
    await mkdir(dirname(l.runLock), { recursive: true });
    await writeFile(l.runLock, '{truncated');
    await assert.rejects(
      acquireRunLock(l, { owner: 'r1', holder: 't' }),
      (e: unknown) => e instanceof UnreadableRunLockError && /wdp lock break/.test(String(e)),
    );
    const broken = await breakRunLock(l, 'operator', () => T0);
    assert.equal(broken?.owner, 'unknown (unreadable lock)');
    assert.equal((await readRunLock(l))?.lock.state, 'released');
    assert.equal((await acquireRunLock(l, { owner: 'r1', holder: 't' })).acquired, true);
  });
});

describe('run lock on S3 (request shapes, conditions answered as S3 does)', () => {
  it('creates with If-None-Match: *, takes over and releases with If-Match of the etag read', async () => {
    const s3 = mockS3Memory();
    try {
      const l = layout('s3://wdp-lock');
      const a = await Promise.all(['a', 'b'].map((owner) => acquireRunLock(l, { owner, holder: 't', leaseMs: HOUR, now: () => T0 })));
      assert.equal(a.filter((r) => r.acquired).length, 1);
      const owner = a.find((r) => r.acquired)!.lock.owner;
      const lockPuts = () => s3.puts().filter((p) => p.Key === 'state/run.lock');
      // One or two creates (the second runner may read the first's lock before writing): all create-only.
      const creates = lockPuts();
      assert.ok(creates.length >= 1 && creates.length <= 2, `${creates.length} creates`);
      for (const p of creates) assert.equal(p.IfNoneMatch, '*');
      const before = lockPuts().length;
      assert.equal((await releaseRunLock(l, owner, 'promoted')).released, true);
      const release = lockPuts()[before]!;
      assert.equal(release.IfNoneMatch, undefined);
      assert.match(String(release.IfMatch), /.+/);
    } finally {
      s3.restore();
    }
  });

  it('break refuses a lock whose holder cannot be probed (the Lock function) within its lease, unless forced', async () => {
    const s3 = mockS3Memory();
    try {
      const l = layout('s3://wdp-lock-break');
      // What the deployed Lock function writes; an operator's machine cannot tell whether it runs.
      await acquireRunLock(l, { owner: 'exec-42', holder: 'lambda wdp-RunLock', leaseMs: 6 * HOUR, now: () => T0 });
      await assert.rejects(
        breakRunLock(l, 'operator', { now: () => T0 + 90 * 60_000 }),
        (e: unknown) =>
          e instanceof LiveRunLockError &&
          String(e).includes(
            'run exec-42 (lambda wdp-RunLock) holds the run lock since 2026-01-10T02:00:00.000Z (90 min ago), lease until 2026-01-10T08:00:00.000Z',
          ) &&
          /--force/.test(String(e)),
      );
      assert.equal((await readRunLock(l))?.lock.state, 'held', 'not broken');
      // Past its lease it is stale: broken without --force.
      assert.equal((await breakRunLock(l, 'operator', { now: () => T0 + 6 * HOUR + 1 }))?.owner, 'exec-42');
      assert.equal((await readRunLock(l))?.lock.releaseReason, 'broken by operator');

      await acquireRunLock(l, { owner: 'exec-43', holder: 'lambda wdp-RunLock', leaseMs: 6 * HOUR, now: () => T0 + 7 * HOUR });
      assert.equal((await breakRunLock(l, 'operator', { now: () => T0 + 7 * HOUR + 1000, force: true }))?.owner, 'exec-43');
      assert.equal((await readRunLock(l))?.lock.releaseReason, 'broken by operator (forced)');
    } finally {
      s3.restore();
    }
  });
});
