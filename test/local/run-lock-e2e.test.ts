/**
 * Trust under faults, end to end through `npm start`'s runner on a folder bucket: the scheduled
 * run and a manual run racing, the run lock released on every exit path, and a lost registry.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { storeFor } from '../../src/storage/index.ts';
import { readJson } from '../../src/workflow/bucket/json-store.ts';
import { rebuildRegistry } from '../../src/workflow/bucket/rebuild.ts';
import { acquireRunLock, readRunLock } from '../../src/workflow/bucket/run-lock.ts';
import { registrySchema, watermarkSchema } from '../../src/workflow/schemas.ts';
import { readServingPointer, servingPointerSchema } from '../../src/workflow/steps/serving-target.ts';
import { localBuckets } from '../helpers/local-buckets.ts';
import { addDays, TEST_THRESHOLDS } from '../helpers/workflow-fixture.ts';

describe('one run at a time, never the wrong model (local runner)', () => {
  const { newBucket, run, cleanup } = localBuckets('wdp-lock-e2e-');
  after(cleanup);

  it('the scheduled run and a manual run at once: exactly one trains and promotes, the other reports the lock', async () => {
    const { dir, l } = await newBucket();
    const [a, b] = await Promise.all([run(dir), run(dir)]);
    const statuses = [a.status, b.status].sort();
    assert.deepEqual(statuses, ['locked', 'promoted'], JSON.stringify([a.error, b.error]));
    const winner = a.status === 'promoted' ? a : b;
    const loser = a.status === 'promoted' ? b : a;
    assert.equal(winner.promotion?.version, 1);
    assert.match(loser.lock?.message ?? '', new RegExp(`^ANOTHER RUN IS IN PROGRESS: run ${winner.executionName} .* since `));
    assert.ok(!loser.states.some((s) => s.name === 'Train' || s.name === 'Ingest'), 'the locked-out run trained nothing');
    const registry = await readJson(l.registry, registrySchema);
    assert.equal(registry?.history.length, 1);
    assert.equal((await readJson(l.servingPointer, servingPointerSchema))?.version, 1);
    const lock = await readRunLock(l);
    assert.equal(lock?.lock.state, 'released');
    assert.equal(lock?.lock.owner, winner.executionName);
    assert.equal(lock?.lock.releaseReason, 'promoted');
    // The next run is not kept out: it finds the day consumed.
    assert.equal((await run(dir)).status, 'no_new_data');
    assert.equal((await readRunLock(l))?.lock.releaseReason, 'no new data');
  });

  it('a run that finds a live lock ends cleanly without training; an expired one is taken over', async () => {
    const { dir, l } = await newBucket();
    await acquireRunLock(l, { owner: 'manual-run-1', holder: 'laptop', leaseMs: 3600_000 });
    const blocked = await run(dir);
    assert.equal(blocked.status, 'locked');
    assert.deepEqual(
      blocked.states.map((s) => s.name),
      ['Lock', 'LockAcquired', 'AnotherRunInProgress'],
    );
    assert.equal(await readJson(l.watermark, watermarkSchema), undefined, 'nothing changed');
    assert.equal((await readRunLock(l))?.lock.owner, 'manual-run-1', 'the holder keeps its lock');

    // The holder dies: its lease runs out with nobody releasing it.
    const { writeJson } = await import('../../src/workflow/bucket/json-store.ts');
    const held = (await readRunLock(l))!;
    await writeJson(l.runLock, { ...held.lock, expiresAt: new Date(Date.now() - 1000).toISOString() }, { ifMatch: held.etag });
    const r = await run(dir);
    assert.equal(r.status, 'promoted', JSON.stringify(r.error));
    assert.match(r.lock?.message ?? '', /took over the expired run lock of manual-run-1/);
  });

  it('a lock left by a local run whose process is gone (Ctrl-C, kill) is taken over at once; a live one on this host is not', async () => {
    const { spawnSync } = await import('node:child_process');
    const { hostname } = await import('node:os');
    const { dir, l } = await newBucket();
    // A pid that ran on this host and has exited.
    const gonePid = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    assert.match(gonePid, /^\d+$/);
    await acquireRunLock(l, { owner: 'interrupted-run', holder: `${hostname()} pid ${gonePid}` });
    const r = await run(dir);
    assert.equal(r.status, 'promoted', JSON.stringify(r.error));
    assert.match(r.lock?.message ?? '', /took over the run lock of interrupted-run \(.* pid \d+, since .*\): that process no longer runs/);
    assert.equal((await readRunLock(l))?.lock.releaseReason, 'promoted');

    // This process is alive: a lock naming it (another run of this process, as far as the lock can
    // tell) keeps the run out; so does a holder on another host, which cannot be probed.
    for (const holder of [`${hostname()} pid ${process.pid}`, `another-host pid ${gonePid}`]) {
      const { dir: d2, l: l2 } = await newBucket();
      await acquireRunLock(l2, { owner: 'other-run', holder });
      assert.equal((await run(d2)).status, 'locked', holder);
      assert.equal((await readRunLock(l2))?.lock.owner, 'other-run', holder);
    }
  });

  it('the lock is released after a rejection and after a failing Train', async () => {
    const { dir, l } = await newBucket();
    const rejected = await run(dir, { thresholds: { ...TEST_THRESHOLDS, minAuc: 0.999 } });
    assert.equal(rejected.status, 'rejected');
    assert.deepEqual(
      rejected.states.slice(-3).map((s) => s.name),
      ['NotifyRejected', 'UnlockRejected', 'Rejected'],
    );
    assert.equal((await readRunLock(l))?.lock.state, 'released');
    assert.equal((await readRunLock(l))?.lock.releaseReason, 'rejected');

    await addDays(dir, 4);
    const crashed = await run(dir, {
      overrides: {
        Train: async () => {
          throw new Error('GPU fell off the bus');
        },
      },
    });
    assert.equal(crashed.status, 'failed');
    assert.deepEqual(
      crashed.states.slice(-6).map((s) => s.name),
      ['TrainFailed', 'UnlockFailed', 'DescribeFailure', 'FailureAsRecorded', 'NotifyFailure', 'Failed'],
    );
    const lock = await readRunLock(l);
    assert.equal(lock?.lock.owner, crashed.executionName);
    assert.equal(lock?.lock.state, 'released');
    assert.equal(lock?.lock.releaseReason, 'failed');
  });

  it('a missing registry while v1 exists fails naming `wdp registry rebuild` (v1 keeps serving); after the rebuild the next run promotes v2 from v1', async () => {
    const { dir, l } = await newBucket();
    assert.equal((await run(dir)).status, 'promoted');
    await addDays(dir, 4);
    await storeFor(l.registry).delete(l.registry);

    const r = await run(dir);
    assert.equal(r.status, 'failed');
    assert.deepEqual(
      [...new Set(r.states.filter((s) => s.type === 'Task').map((s) => s.name))],
      ['Lock', 'Ingest', 'UnlockFailed', 'NotifyFailure'],
      'it stops at Ingest, before any training',
    );
    assert.equal(r.error?.error, 'WorkflowFailed');
    assert.match(JSON.stringify(r.states), /registry\.json is missing .*v1.*wdp registry rebuild/);
    assert.equal((await readJson(l.servingPointer, servingPointerSchema))?.version, 1, 'serving unchanged');
    assert.equal((await readRunLock(l))?.lock.state, 'released');

    const pointer = (await readServingPointer(l))?.value;
    const rebuilt = await rebuildRegistry(l, { servedUri: pointer?.modelUri ?? null });
    assert.equal(rebuilt.championFrom, 'serving');
    assert.deepEqual(rebuilt.registry.champion, { version: 1, uri: l.registryModel(1), modelId: pointer?.modelId });
    assert.equal(rebuilt.registry.history[0]?.rebuilt, true);

    const next = await run(dir);
    assert.equal(next.status, 'promoted', JSON.stringify(next.error ?? next.validation));
    assert.equal(next.promotion?.version, 2);
    assert.equal(next.promotion?.parentVersion, 1, 'the warm start from v1 is back');
    assert.equal((await readJson(l.servingPointer, servingPointerSchema))?.modelId, next.promotion?.modelId);
  });
});
