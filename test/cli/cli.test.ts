import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TINY_CONFIG, tinyChunk } from '../helpers/tiny-data.ts';
import { writeTinyParquet } from '../helpers/tiny-files.ts';

let dir: string;
const wdp = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/wdp.mjs', ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' } });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-cli-'));
  await writeTinyParquet(join(dir, 'logs', 'dt=2026-01-01', 'part-0.parquet'), tinyChunk({ rows: 1500, seed: 1 }));
  await writeTinyParquet(join(dir, 'logs', 'dt=2026-01-02', 'part-0.parquet'), tinyChunk({ rows: 800, seed: 2 }));
  await writeFile(join(dir, 'wdp.config.json'), JSON.stringify(TINY_CONFIG));
});
after(() => rm(dir, { recursive: true, force: true }));

test('wdp train then wdp evaluate --json through the real binary', () => {
  const t = wdp(
    'train',
    '--config',
    join(dir, 'wdp.config.json'),
    '--data',
    join(dir, 'logs', 'dt=2026-01-01'),
    '--out',
    join(dir, 'model'),
    '--json',
  );
  assert.equal(t.status, 0, t.stderr);
  const trained = JSON.parse(t.stdout);
  assert.equal(trained.kind, 'wide_deep');
  assert.equal(trained.metrics.trainRows, 1500);
  assert.match(t.stderr, /train wide_deep .* ex\/s/, 'plain progress lines when not a terminal');

  const e = wdp('evaluate', '--model', join(dir, 'model'), '--data', join(dir, 'logs', 'dt=2026-01-02'), '--json');
  assert.equal(e.status, 0, e.stderr);
  const m = JSON.parse(e.stdout);
  assert.equal(m.rows, 800);
  assert.ok(m.auc > 0.6 && m.auc <= 1, `auc ${m.auc}`);
  assert.ok(m.logloss > 0 && Number.isFinite(m.calibration));
});

test('a bad config names the field and exits 1', async () => {
  await writeFile(join(dir, 'bad.json'), JSON.stringify({ ...TINY_CONFIG, deep: { ...TINY_CONFIG.deep, numeric: ['user'] } }));
  const r = wdp('train', '--config', join(dir, 'bad.json'), '--data', join(dir, 'logs'), '--out', join(dir, 'm2'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error: .*bad\.json: deep\.numeric\.0: "user" is categorical, not numeric/);
});

test('a missing model folder is a clear error', () => {
  const r = wdp('evaluate', '--model', join(dir, 'nope'), '--data', join(dir, 'logs'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error: cannot load model .*nope: no manifest\.json/);
});

test('wdp --version prints the package version', () => {
  const r = wdp('--version');
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), JSON.parse(readFileSync('package.json', 'utf8')).version);
});
