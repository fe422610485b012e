/**
 * An output file written whole under its writer lock (output-file.ts), and kept when it exists
 * unless replacing was asked for: refused up front, and again at the commit if a writer that
 * ignores the lock (not wdp) put a file there meanwhile.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { OutputExistsError } from '../../src/storage/errors.ts';
import { startOutputFile } from '../../src/storage/output-file.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-output-file-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test("'refuse' refuses an existing file before any work, naming it; 'replace' replaces it whole", async () => {
  const out = join(dir, 'a.json');
  await writeFile(out, 'old');
  await assert.rejects(startOutputFile(out, 'this config file', { existing: 'refuse', hint: ' (it is the --config file)' }), (e) => {
    assert.ok(e instanceof OutputExistsError);
    assert.equal(
      e.message,
      `${out}: this config file already exists (it is the --config file); choose a new file, or give --force to replace it (swapped in only once the new one is complete)`,
    );
    return true;
  });
  const o = await startOutputFile(out, 'this config file', { existing: 'replace' });
  await writeFile(o.tmp, 'new');
  await o.commit();
  assert.equal(await readFile(out, 'utf8'), 'new');
  assert.deepEqual(await readdir(dir), ['a.json'], 'the lock was released, no temp file left');
});

test("'refuse' keeps a file that appeared during the write (another program's): the commit fails, the new bytes are dropped", async () => {
  const out = join(dir, 'b.parquet');
  const o = await startOutputFile(out, 'this scores file', { existing: 'refuse' });
  await writeFile(o.tmp, 'ours');
  await writeFile(out, 'theirs');
  await assert.rejects(o.commit(), OutputExistsError);
  await o.abandon();
  assert.equal(await readFile(out, 'utf8'), 'theirs');
  assert.deepEqual(
    (await readdir(dir)).filter((n) => n.includes('b.parquet')),
    ['b.parquet'],
  );
});

test("'refuse' writes a new file whole and leaves only it", async () => {
  const out = join(dir, 'c', 'scores.parquet');
  const o = await startOutputFile(out, 'this scores file', { existing: 'refuse' });
  await writeFile(o.tmp, 'scores');
  await o.commit();
  await o.abandon();
  assert.equal(await readFile(out, 'utf8'), 'scores');
  assert.deepEqual(await readdir(join(dir, 'c')), ['scores.parquet']);
});
