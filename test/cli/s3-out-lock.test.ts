/**
 * `wdp score --out s3://…` and `wdp tune --out s3://…` take the S3 output's writer lock
 * (storage/s3-output-lock.ts) before loading anything, so a second writer to the same object
 * fails at once naming the first; the lock is released however the command ends. Run in this
 * process on the in-memory bucket that honours If-None-Match (s3rver does not).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildCli } from '../../cli/main.ts';
import { OutputLockedError } from '../../src/storage/errors.ts';
import { lockOutput } from '../../src/storage/output-lock.ts';
import { s3OutputLockUri } from '../../src/storage/s3-output-lock.ts';
import { type MemoryBucket, mockS3Memory } from '../helpers/s3-memory.ts';

let bucket: MemoryBucket;
before(() => {
  bucket = mockS3Memory();
});
after(() => bucket.restore());

const wdp = (args: readonly string[]) => buildCli().parseAsync(['node', 'wdp', ...args]);

const commands = [
  {
    what: 'this scores file',
    out: 's3://b/scores/out.parquet',
    args: ['score', '--model', 's3://b/models/none', '--in', 's3://b/logs/in.parquet'],
  },
  {
    what: 'this config file',
    out: 's3://b/configs/tuned.json',
    args: ['tune', '--config', 's3://b/configs/none.json', '--data', 's3://b/logs/'],
  },
];

for (const { what, out, args } of commands) {
  test(`wdp ${args[0]} --out s3://…: refused while another writer holds it, naming it; the lock is released after a failed run`, async () => {
    const held = await lockOutput(out, 'it');
    await assert.rejects(wdp([...args, '--out', out]), (e: unknown) => {
      assert.ok(e instanceof OutputLockedError, String(e));
      assert.ok(e.message.startsWith(`${out}: ${what} is being written by another wdp process (pid ${process.pid} on `), e.message);
      return true;
    });
    await held?.release();
    // Free again: the command gets past the lock and fails on its missing input, releasing it.
    await assert.rejects(wdp([...args, '--out', out]), (e: unknown) => !(e instanceof OutputLockedError));
    assert.equal(bucket.text(s3OutputLockUri(out)), undefined);
    assert.equal(bucket.text(out), undefined);
  });
}
