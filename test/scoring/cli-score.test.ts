import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { listLogFiles, readLogChunks } from '../../src/data/logs.ts';
import { tinyChunk } from '../helpers/tiny-data.ts';
import { writeTinyParquet } from '../helpers/tiny-files.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';

let dir: string;
let model: string;
const wdp = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/wdp.mjs', ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' } });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-cli-score-'));
  model = await saveTinyModel(dir, 'm', { overrides: { data: { idColumns: ['user', 'item'] } } });
  await writeTinyParquet(join(dir, 'in.parquet'), tinyChunk({ rows: 2500, seed: 3 }));
});
after(() => rm(dir, { recursive: true, force: true }));

test('wdp score --model --in --out writes id columns, score and model_version', async () => {
  const out = join(dir, 'out.parquet');
  const r = wdp('score', '--model', model, '--in', join(dir, 'in.parquet'), '--out', out, '--chunk-rows', '1000', '--json');
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { rows: number; modelVersion: string };
  assert.equal(res.rows, 2500);
  assert.equal(res.modelVersion, 'm-m');
  let rows = 0;
  const input = tinyChunk({ rows: 2500, seed: 3 }).columns.get('item') as string[];
  for await (const c of readLogChunks(await listLogFiles([out]), {
    columns: [
      { name: 'user', kind: 'string' },
      { name: 'item', kind: 'string' },
      { name: 'score', kind: 'numeric' },
      { name: 'model_version', kind: 'string' },
    ],
  })) {
    const items = c.columns.get('item') as string[];
    const scores = c.columns.get('score') as Float64Array;
    for (let i = 0; i < c.numRows; i++) {
      assert.equal(items[i], input[c.rowOffset + i]);
      assert.ok(scores[i]! > 0 && scores[i]! < 1);
    }
    rows += c.numRows;
  }
  assert.equal(rows, 2500);
});

test('wdp score with a missing model exits 1 with a clear message', () => {
  const r = wdp('score', '--model', join(dir, 'nope'), '--in', join(dir, 'in.parquet'), '--out', join(dir, 'x.parquet'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot load model .*nope: no manifest\.json/);
});

test('wdp score refuses an existing --out without --force, naming it, before loading the model; --force replaces it', async () => {
  const out = join(dir, 'taken.parquet');
  await writeFile(out, 'not scores');
  // A missing model: the refusal comes first, so no load error is seen.
  const refused = wdp('score', '--model', join(dir, 'nope'), '--in', join(dir, 'in.parquet'), '--out', out);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /taken\.parquet: this scores file already exists; choose a new file, or give --force to replace it/);
  assert.equal(await readFile(out, 'utf8'), 'not scores');
  const forced = wdp('score', '--model', model, '--in', join(dir, 'in.parquet'), '--out', out, '--force', '--json');
  assert.equal(forced.status, 0, forced.stderr);
  assert.equal((JSON.parse(forced.stdout) as { rows: number }).rows, 2500);
  assert.deepEqual(
    (await readdir(dir)).filter((n) => n.startsWith('.taken')),
    [],
    'no temp or lock file left',
  );
});
