/**
 * The scores file of `wdp score` under concurrency and kills (storage/output-file.ts): it appears
 * whole or not at all, a second scorer of the same file fails at once naming the first (before,
 * both wrote and the later rename silently replaced the other's file), and the temp file a killed
 * scorer left is removed by the next one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { scoreParquet } from '../../src/scoring/batch.ts';
import { Scorer } from '../../src/scoring/scorer.ts';
import { OutputLockedError } from '../../src/storage/errors.ts';
import { outputLockPath } from '../../src/storage/output-lock.ts';
import { thisHost } from '../../src/util/process-owner.ts';
import { tinyChunk } from '../helpers/tiny-data.ts';
import { writeTinyParquet } from '../helpers/tiny-files.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';

let dir: string;
let model: string;
let input: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-batch-output-'));
  model = await saveTinyModel(dir, 'model', { overrides: { data: { idColumns: ['rid'] } } });
  input = join(dir, 'in.parquet');
  await writeTinyParquet(input, tinyChunk({ rows: 50, seed: 6 }), (cols) => [
    { name: 'rid', type: 'INT64', data: Array.from({ length: 50 }, (_, i) => BigInt(i)) },
    ...cols,
  ]);
});
after(async () => {
  Scorer.clearCache();
  await rm(dir, { recursive: true, force: true });
});

test('two scorers of one output file at once: one writes it, the other fails naming it and leaves nothing', async () => {
  const out = join(dir, 'two', 'scores.parquet');
  const score = () => scoreParquet({ model, input, output: out, scorerOptions: { backend: 'js' } });
  const results = await Promise.allSettled([score(), score()]);
  // Which one wins is the file system's race (both lock creates wait in libuv's thread pool).
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  const lost = (results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason;
  assert.ok(lost instanceof OutputLockedError, String(lost));
  assert.match(
    lost.message,
    new RegExp(`scores\\.parquet: this scores file is being written by another wdp process \\(pid ${process.pid} `),
  );
  assert.deepEqual(await readdir(join(dir, 'two')), ['scores.parquet']);
});

test("a killed scorer's temp file and lock are cleared by the next scorer; a failed scorer leaves the old file as it was", async () => {
  const folder = join(dir, 'killed');
  await mkdir(folder);
  const out = join(folder, 'scores.parquet');
  await writeFile(out, 'the previous scores');
  // What `kill -9` mid-write leaves: a partial hidden temp file and the writer's lock.
  await writeFile(join(folder, '.scores.parquet.wdp-tmp-0123456789ab'), 'PAR1 partial');
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  await writeFile(outputLockPath(out), `${dead}@${thisHost()}\n2026-01-01T00:00:00.000Z\nscore\nabc\n`);
  await assert.rejects(scoreParquet({ model: join(dir, 'no-such-model'), input, output: out }));
  assert.equal(await readFile(out, 'utf8'), 'the previous scores');
  assert.deepEqual(await readdir(folder), ['scores.parquet']);
  const r = await scoreParquet({ model, input, output: out, scorerOptions: { backend: 'js' } });
  assert.equal(r.rows, 50);
  assert.deepEqual(await readdir(folder), ['scores.parquet']);
  assert.equal((await readFile(out)).subarray(0, 4).toString(), 'PAR1');
});
