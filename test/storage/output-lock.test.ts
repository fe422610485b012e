/**
 * The writer lock of a local output (output-lock.ts): one holder at a time, the loser told who
 * holds it; a lock a killed writer left is taken over (at once when its pid is gone from this
 * host, after STALE_WRITER_LOCK_MS for another host's), by one taker only. S3 outputs:
 * s3-output-lock.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { OutputLockedError } from '../../src/storage/errors.ts';
import { lockOutput, outputLockPath, STALE_WRITER_LOCK_MS } from '../../src/storage/output-lock.ts';
import { thisHost } from '../../src/util/process-owner.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-output-lock-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** The pid of a process that has exited (a child that ran and was reaped). */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

test('a second writer is refused, told the holder and its command; the lock is free again once released', async () => {
  const out = join(dir, 'scores.parquet');
  const held = await lockOutput(out, 'the scores file');
  await assert.rejects(lockOutput(out, 'the scores file'), (e: unknown) => {
    assert.ok(e instanceof OutputLockedError);
    assert.equal(e.holder?.pid, process.pid);
    assert.equal(e.holder?.host, thisHost());
    assert.match(
      e.message,
      /the scores file is being written by another wdp process \(pid \d+ on .*, since \d{4}-.*\); nothing was changed/,
    );
    assert.ok(e.message.includes(outputLockPath(out)), 'says which file to remove if the holder is gone');
    return true;
  });
  await held?.release();
  await held?.release();
  const again = await lockOutput(out, 'the scores file');
  await again?.release();
  assert.deepEqual(await readdir(dir), []);
});

test("a killed writer's lock (its pid gone from this host) is taken over at once", async () => {
  const out = join(dir, 'model');
  await writeFile(outputLockPath(out), `${deadPid()}@${thisHost()}\n2026-01-01T00:00:00.000Z\ntrain\nabc\n`);
  const held = await lockOutput(out, 'the model folder');
  assert.match(await readFile(outputLockPath(out), 'utf8'), new RegExp(`^${process.pid}@`));
  await held?.release();
});

test('a lock of this host whose pid now names another process (started later: a restarted container) is taken over at once', {
  skip: process.platform !== 'linux',
}, async () => {
  const out = join(dir, 'reused');
  // Our own pid, as a restarted container's command gets, but a start that is not ours.
  await writeFile(outputLockPath(out), `${process.pid}@${thisHost()}\n2026-01-01T00:00:00.000Z\ntrain\nabc\n0123abcd:5\n`);
  const held = await lockOutput(out, 'the model folder');
  assert.match(await readFile(outputLockPath(out), 'utf8'), new RegExp(`^${process.pid}@.*\\n[0-9a-f]{8}:\\d+\\n$`, 's'));
  await held?.release();
});

test("another host's lock is honoured until it has gone STALE_WRITER_LOCK_MS without a heartbeat", async () => {
  const out = join(dir, 'config.json');
  const lock = outputLockPath(out);
  await writeFile(lock, '4242@some-other-host\n2026-01-01T00:00:00.000Z\ntune\nabc\n');
  await assert.rejects(lockOutput(out, 'the config'), /pid 4242 on some-other-host/);
  const old = new Date(Date.now() - STALE_WRITER_LOCK_MS - 60_000);
  await utimes(lock, old, old);
  const held = await lockOutput(out, 'the config');
  await held?.release();
  assert.deepEqual(await readdir(dir), []);
});

test('of two writers taking over one dead lock at once, exactly one gets it', async () => {
  const dead = deadPid();
  for (let round = 0; round < 20; round++) {
    const out = join(dir, `race-${round}`);
    await writeFile(outputLockPath(out), `${dead}@${thisHost()}\nx\ny\nz\n`);
    const results = await Promise.allSettled([lockOutput(out, 'it'), lockOutput(out, 'it')]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}`);
    for (const r of results) if (r.status === 'fulfilled') await r.value?.release();
  }
  assert.deepEqual(await readdir(dir), []);
});

test('release leaves alone a lock that is no longer its own', async () => {
  const out = join(dir, 'taken');
  const held = await lockOutput(out, 'it');
  await writeFile(outputLockPath(out), `${process.pid}@${thisHost()}\nlater\nsomeone else\nother-token\n`);
  await held?.release();
  assert.match(await readFile(outputLockPath(out), 'utf8'), /other-token/);
  await rm(outputLockPath(out));
});

test('the folders a lock created are removed on release while empty; a folder that was there, or holds the output, stays', async () => {
  const base = join(dir, 'folders');
  await mkdir(join(base, 'was-there'), { recursive: true });
  // Three new levels: all go.
  const deep = await lockOutput(join(base, 'new', 'a', 'b', 'model'), 'it');
  assert.ok((await stat(join(base, 'new', 'a', 'b'))).isDirectory(), 'created for the lock file');
  await deep?.release();
  // Inside a folder that existed before: it stays, empty as it was.
  const inside = await lockOutput(join(base, 'was-there', 'model'), 'it');
  await inside?.release();
  // The output was written: its folder is not empty and stays.
  const written = await lockOutput(join(base, 'kept', 'scores.parquet'), 'it');
  await writeFile(join(base, 'kept', 'scores.parquet'), 'scores');
  await written?.release();
  // Another writer's lock sits in the folder this one created: it stays for that writer.
  const first = await lockOutput(join(base, 'shared', 'x'), 'it');
  const second = await lockOutput(join(base, 'shared', 'y'), 'it');
  await first?.release();
  assert.deepEqual(await readdir(join(base, 'shared')), ['.y.wdp-tmp-writer-lock']);
  await second?.release();
  assert.deepEqual((await readdir(base)).sort(), ['kept', 'shared', 'was-there']);
  assert.deepEqual(await readdir(join(base, 'was-there')), []);
  await rm(base, { recursive: true });
});

test('a lock its creator has not yet written (empty) is read again, so the loser still names the holder', async () => {
  const out = join(dir, 'being-written.parquet');
  const held = await lockOutput(out, 'the scores file');
  const lock = outputLockPath(out);
  const content = await readFile(lock, 'utf8');
  // The state between the creator's exclusive create and its write: an empty file, filled 30 ms later.
  await writeFile(lock, '');
  const filled = new Promise((r) => setTimeout(r, 30)).then(() => writeFile(lock, content));
  await assert.rejects(lockOutput(out, 'the scores file'), (e: unknown) => {
    assert.ok(e instanceof OutputLockedError);
    assert.equal(e.holder?.pid, process.pid, e.message);
    return true;
  });
  await filled;
  await held?.release();
  assert.deepEqual(
    (await readdir(dir)).filter((n) => n.startsWith('.being-written')),
    [],
  );
});
