/**
 * The writer lock of an S3 output (s3-output-lock.ts), on the in-memory bucket that honours
 * If-None-Match and If-Match as S3 does (s3rver ignores If-None-Match on PutObject, so it could
 * not show exclusivity): one holder at a time, the loser told who holds it; a dead holder's lock
 * taken over by one taker only; a holder taken over leaves its successor's lock alone.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { ModelTargetError } from '../../src/model/errors.ts';
import { lockModelTarget, saveModelFolder } from '../../src/model/save-target.ts';
import { OutputLockedError, StorageError } from '../../src/storage/errors.ts';
import { joinUri, storeFor } from '../../src/storage/index.ts';
import { lockOutput, type OutputLock, STALE_WRITER_LOCK_MS } from '../../src/storage/output-lock.ts';
import { lockS3Output, s3OutputLockUri } from '../../src/storage/s3-output-lock.ts';
import { thisHost } from '../../src/util/process-owner.ts';
import { type MemoryBucket, mockS3Memory } from '../helpers/s3-memory.ts';

let bucket: MemoryBucket;
before(() => {
  bucket = mockS3Memory();
});
after(() => bucket.restore());

/** The pid of a process that has exited (a child that ran and was reaped). */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;
const iso = (ms: number) => new Date(ms).toISOString();
/** A lock text as another holder writes it (writer-lock.ts), with its heartbeat at `beatMs`. */
const lockText = (owner: string, token: string, beatMs: number) =>
  `${owner}\n2026-01-01T00:00:00.000Z\ntrain --out x\n${token}\n\n${iso(beatMs)}\n`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the lock object sits beside the output key, named as the local lock file', () => {
  assert.equal(s3OutputLockUri('s3://b/models/m'), 's3://b/models/.m.wdp-tmp-writer-lock');
  assert.equal(s3OutputLockUri('s3://b/models/m/'), 's3://b/models/.m.wdp-tmp-writer-lock');
  assert.equal(s3OutputLockUri('s3://b/scores.parquet'), 's3://b/.scores.parquet.wdp-tmp-writer-lock');
  assert.equal(s3OutputLockUri('s3://b'), 's3://b/.b.wdp-tmp-writer-lock');
});

test('lockOutput(s3://…) locks: a second writer is refused naming the holder; released, the lock is free again', async () => {
  const out = 's3://b/models/m';
  const lock = s3OutputLockUri(out);
  const held = await lockOutput(out, 'this model folder');
  assert.ok(held, 'an S3 output is locked');
  assert.equal(held.path, lock);
  const text = bucket.text(lock) ?? '';
  assert.match(text, new RegExp(`^${process.pid}@${thisHost()}\\n\\d{4}-.*\\n.*\\n[0-9a-f]{16}\\n.*\\n\\d{4}-\\d\\d-\\d\\dT.*Z\\n$`));
  await assert.rejects(lockOutput(out, 'this model folder'), (e: unknown) => {
    assert.ok(e instanceof OutputLockedError);
    assert.equal(e.holder?.pid, process.pid);
    assert.equal(e.holder?.host, thisHost());
    assert.match(
      e.message,
      /this model folder is being written by another wdp process \(pid \d+ on .*, since \d{4}-.*\); nothing was changed/,
    );
    assert.ok(e.message.includes(`remove ${lock}`), 'says which object to remove if the holder is gone');
    return true;
  });
  await held.release();
  await held.release();
  assert.equal(bucket.text(lock), undefined, 'released: deleted');
  const again = await lockOutput(out, 'this model folder');
  await again?.release();
  assert.equal(bucket.text(lock), undefined);
});

test("a killed writer's lock (its pid gone from this host) is taken over at once, fresh heartbeat or not", async () => {
  const out = 's3://b/models/dead';
  const lock = s3OutputLockUri(out);
  await storeFor(lock).write(lock, lockText(`${deadPid()}@${thisHost()}`, 'abc', Date.now()));
  const held = await lockS3Output(out, 'it');
  assert.match(bucket.text(lock) ?? '', new RegExp(`^${process.pid}@`));
  await held.release();
  assert.equal(bucket.text(lock), undefined);
});

test("another host's lock is honoured until its heartbeat is STALE_WRITER_LOCK_MS old; of two takers exactly one wins", async () => {
  const out = 's3://b/scores/other.parquet';
  const lock = s3OutputLockUri(out);
  const store = storeFor(lock);
  await store.write(lock, lockText('4242@some-other-host', 'abc', Date.now() - STALE_WRITER_LOCK_MS + 60_000));
  await assert.rejects(
    lockS3Output(out, 'the scores file'),
    /pid 4242 on some-other-host, since 2026-01-01T00:00:00.000Z: wdp train --out x/,
  );
  for (let round = 0; round < 20; round++) {
    await store.write(lock, lockText('4242@some-other-host', `stale-${round}`, Date.now() - STALE_WRITER_LOCK_MS - 60_000));
    const results = await Promise.allSettled([lockS3Output(out, 'it'), lockS3Output(out, 'it')]);
    const won = results.filter((r): r is PromiseFulfilledResult<OutputLock> => r.status === 'fulfilled');
    assert.equal(won.length, 1, `round ${round}`);
    const lost = results.find((r) => r.status === 'rejected');
    // The loser names the winner (this process), not the dead holder it judged.
    assert.ok(lost?.reason instanceof OutputLockedError && lost.reason.holder?.pid === process.pid, String(lost?.reason));
    await won[0]!.value.release();
    assert.equal(bucket.text(lock), undefined, `round ${round}`);
  }
});

test('a lock object not written by wdp (no holder, no heartbeat) is judged by its LastModified: a new one is honoured', async () => {
  const out = 's3://b/models/odd';
  const lock = s3OutputLockUri(out);
  await storeFor(lock).write(lock, 'something else');
  await assert.rejects(lockS3Output(out, 'it'), (e: unknown) => e instanceof OutputLockedError && e.holder === undefined);
  await storeFor(lock).delete(lock);
});

test("a holder's heartbeat rewrites the lock; once taken over, its beat stops and its release leaves the new holder's lock", async () => {
  const out = 's3://b/models/beat';
  const lock = s3OutputLockUri(out);
  const held = await lockS3Output(out, 'it', { heartbeatMs: 10 });
  const first = bucket.text(lock) ?? '';
  await sleep(60);
  const beaten = bucket.text(lock) ?? '';
  assert.notEqual(beaten, first, 'the heartbeat line moved');
  assert.deepEqual(beaten.split('\n').slice(0, 5), first.split('\n').slice(0, 5), 'same holder, token and start');
  // It looked dead to someone on another host, who took it over.
  const theirs = lockText('77@another-host', 'their-token', Date.now());
  await storeFor(lock).write(lock, theirs);
  await sleep(60);
  assert.equal(bucket.text(lock), theirs, 'the old holder stopped beating (its If-Match failed) instead of writing over it');
  await held.release();
  assert.equal(bucket.text(lock), theirs, 'and its release did not delete it');
  await storeFor(lock).delete(lock);
});

test('a release without heartbeats leaves alone a lock that is no longer its own', async () => {
  const out = 's3://b/models/taken';
  const lock = s3OutputLockUri(out);
  const held = await lockOutput(out, 'it');
  const theirs = lockText(`${process.pid}@${thisHost()}`, 'other-token', Date.now());
  await storeFor(lock).write(lock, theirs);
  await held?.release();
  assert.equal(bucket.text(lock), theirs);
  await storeFor(lock).delete(lock);
});

test("S3's other refusals propagate as they are (403 on the lock object), as the model target's error from lockModelTarget", async () => {
  bucket.deny('put', /^b\/denied\/\.m\.wdp-tmp-writer-lock$/);
  await assert.rejects(
    lockOutput('s3://b/denied/m', 'it'),
    (e: unknown) =>
      e instanceof StorageError && !(e instanceof OutputLockedError) && /write failed: access denied \(HTTP 403\)/.test(e.message),
  );
  await assert.rejects(
    lockModelTarget('s3://b/denied/m'),
    (e: unknown) =>
      e instanceof ModelTargetError &&
      /^cannot save a model to s3:\/\/b\/denied\/m: cannot write its writer lock beside it: s3:\/\/b\/denied\/\.m\.wdp-tmp-writer-lock: write failed: access denied/.test(
        e.message,
      ),
  );
});

test('two saves to one S3 model prefix at once: one writes its model, the other is refused before writing a byte', async () => {
  const uri = 's3://b/models/race';
  const writes: string[] = [];
  const save = (who: string) =>
    saveModelFolder(uri, 'replace', async (dir) => {
      writes.push(who);
      for (const name of ['wide.safetensors', 'deep.safetensors', 'manifest.json']) {
        await storeFor(dir).write(joinUri(dir, name), who);
        await sleep(5);
      }
      return who;
    });
  const results = await Promise.allSettled([save('first'), save('second')]);
  const won = results.filter((r): r is PromiseFulfilledResult<string> => r.status === 'fulfilled').map((r) => r.value);
  assert.equal(won.length, 1);
  assert.deepEqual(writes, won, 'the loser never started writing');
  const lost = results.find((r) => r.status === 'rejected')?.reason;
  assert.ok(lost instanceof ModelTargetError, String(lost));
  assert.match(lost.message, /this model folder is being written by another wdp process \(pid \d+/);
  for (const name of ['wide.safetensors', 'deep.safetensors', 'manifest.json']) assert.equal(bucket.text(`${uri}/${name}`), won[0]);
  assert.equal(bucket.text(s3OutputLockUri(uri)), undefined, 'the winner released its lock');
  // A caller's lock (train, quantize) holds the save of another writer back until released.
  const held = await lockModelTarget(uri);
  await assert.rejects(save('third'), ModelTargetError);
  await held?.release();
  assert.equal(await save('fourth'), 'fourth');
  assert.equal(bucket.text(`${uri}/manifest.json`), 'fourth');
});

test('a lock that cannot be removed (no DeleteObject) does not fail the finished save: a warning names it, and this host takes it over at once', async () => {
  const uri = 's3://b/nodelete/m';
  const lock = s3OutputLockUri(uri);
  bucket.deny('delete', /^b\/nodelete\/\.m\.wdp-tmp-writer-lock$/);
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    const saved = await saveModelFolder(uri, 'replace', async (dir) => {
      await storeFor(dir).write(joinUri(dir, 'manifest.json'), 'm');
      return 'written';
    });
    assert.equal(saved, 'written');
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    const left = warnings.find((w) => (w as Error & { code?: string }).code === 'WDP_WRITER_LOCK_LEFT');
    assert.ok(left, 'a warning names the lock left behind');
    assert.ok(left.message.includes(lock));
    assert.match(left.message, /access denied.*takes it over at once/);
    assert.ok(bucket.text(lock), 'the lock object is still there');
  } finally {
    process.off('warning', onWarning);
  }
  // This process is its holder's pid: alive, so a second writer here is refused, as before; but a
  // writer in a new process on this host (the holder's pid gone) takes it over at once.
  const dead = deadPid();
  bucket.objects.set(
    `b/nodelete/.m.wdp-tmp-writer-lock`,
    new TextEncoder().encode(lockText(`${dead}@${thisHost()}`, 'aaaaaaaaaaaaaaaa', Date.now())),
  );
  const again = await lockOutput(uri, 'this model folder');
  assert.ok(again);
  assert.equal(bucket.text(lock)?.split('\n')[0], `${process.pid}@${thisHost()}`);
});
