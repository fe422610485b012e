import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
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

test('wdp train refuses an --out that holds a model, replaces it with --force, and never overwrites its --warm-start', () => {
  const train = (...extra: string[]) =>
    wdp('train', '--config', join(dir, 'wdp.config.json'), '--data', join(dir, 'logs', 'dt=2026-01-02'), '--json', ...extra);
  const first = train('--out', join(dir, 'm-force'));
  assert.equal(first.status, 0, first.stderr);
  const manifest = () => readFileSync(join(dir, 'm-force', 'manifest.json'), 'utf8');
  const before = manifest();

  const again = train('--out', join(dir, 'm-force'));
  assert.equal(again.status, 1);
  assert.match(again.stderr, /error: cannot save a model to .*m-force: it already holds a model; choose a new folder, or give --force/);
  assert.doesNotMatch(again.stderr, /training wide_deep/, 'refused before any training');
  assert.equal(manifest(), before);

  const self = train('--warm-start', join(dir, 'm-force'), '--out', `${join(dir, 'm-force')}/`, '--force');
  assert.equal(self.status, 1);
  assert.match(self.stderr, /it is the --warm-start model; a model cannot replace its own parent/);
  assert.equal(manifest(), before);

  const forced = train('--out', join(dir, 'm-force'), '--force');
  assert.equal(forced.status, 0, forced.stderr);
  assert.notEqual(JSON.parse(forced.stdout).modelId, JSON.parse(first.stdout).modelId);
  assert.equal(JSON.parse(manifest()).modelId, JSON.parse(forced.stdout).modelId);

  const q = wdp('quantize', join(dir, 'm-force'), '--out', join(dir, 'm-force'));
  assert.equal(q.status, 1);
  assert.match(q.stderr, /error: cannot save a model to .*m-force: it is the model being quantized, which is never modified/);
});

test('--config naming a folder says it is a folder', () => {
  const r = wdp('train', '--config', dir, '--data', join(dir, 'logs'), '--out', join(dir, 'm-dir'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error: .*: is a directory, not a config file/);
});

test('--epochs meets the config schema limit (training.epochs ≤ 1000)', () => {
  const r = wdp(
    'train',
    '--config',
    join(dir, 'wdp.config.json'),
    '--data',
    join(dir, 'logs'),
    '--out',
    join(dir, 'm-e'),
    '--epochs',
    '1e9',
  );
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error: .*wdp\.config\.json with --epochs: training\.epochs: .*1000/);
});

test('wdp score refuses an --out that is its --in file, inside its --in folder, or a folder (before loading the model)', async () => {
  const logs = join(dir, 'logs', 'dt=2026-01-01');
  const input = join(logs, 'part-0.parquet');
  const before = readFileSync(input);
  await symlink(input, join(dir, 'link.parquet'));
  const score = (i: string, o: string) => wdp('score', '--model', join(dir, 'no-model'), '--in', i, '--out', o);
  for (const out of [input, join(logs, '..', 'dt=2026-01-01', 'part-0.parquet'), join(dir, 'link.parquet')]) {
    const r = score(input, out);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /error: --out .* is the --in file: the scores would replace the logs/, out);
  }
  const inside = score(logs, join(logs, 'scores.parquet'));
  assert.equal(inside.status, 1);
  assert.match(inside.stderr, /error: --out .*scores\.parquet is inside the --in folder/);
  const folder = score(input, join(dir, 'logs'));
  assert.equal(folder.status, 1);
  assert.match(folder.stderr, /error: --out .*logs is a directory; give the Parquet file to write, e\.g\. --out .*logs\/scores\.parquet/);
  assert.deepEqual(readFileSync(input), before);
  // Anything else goes on to load the model (missing here).
  assert.match(score(input, join(dir, 'scores.parquet')).stderr, /cannot load model .*no-model/);
});

test("wdp train honours the config's hashed holdout and refuses a --validation file that is a --data file", async () => {
  await writeFile(join(dir, 'hash.json'), JSON.stringify({ ...TINY_CONFIG, holdout: { kind: 'hash', fraction: 0.3, column: 'user' } }));
  const data = join(dir, 'logs', 'dt=2026-01-01', 'part-0.parquet');
  const t = wdp('train', '--config', join(dir, 'hash.json'), '--data', data, '--out', join(dir, 'hashed'), '--backend', 'onnx', '--json');
  assert.equal(t.status, 0, t.stderr);
  const { metrics } = JSON.parse(t.stdout);
  // Every row on exactly one side: the held-out share was neither trained on nor fitted.
  assert.ok(metrics.trainRows > 0 && metrics.trainRows < 1500, `${metrics.trainRows} training rows`);
  assert.equal(metrics.trainRows + metrics.holdout.rows, 1500);
  assert.match(t.stderr, /holdout\.kind "hash": the 30% of rows whose "user" hashes into the holdout are left out of training/);

  const r = wdp('train', '--config', join(dir, 'wdp.config.json'), '--data', data, '--validation', data, '--out', join(dir, 'never'));
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    new RegExp(`error: --validation ${data} is the same file as --data ${data}: validation rows would be training rows too`),
  );
});

test('wdp invoke --request @FILE names a file it cannot read, and says when inline JSON is not JSON', () => {
  const missing = wdp('invoke', '--bucket', join(dir, 'no-bucket'), '--request', `@${join(dir, 'nope.json')}`);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /--request @.*nope\.json: cannot read .*nope\.json \(no such file\)/);
  const bad = wdp('invoke', '--bucket', join(dir, 'no-bucket'), '--request', '{"context":');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--request is not JSON/);
});

test('a training that fails after taking the --out lock removes the empty folders it created, never one that was there', async () => {
  await writeFile(join(dir, 'bad.csv'), 'garbage\n1\n');
  const train = (out: string) =>
    wdp('train', '--config', join(dir, 'wdp.config.json'), '--data', join(dir, 'bad.csv'), '--out', out, '--backend', 'onnx');
  const created = train(join(dir, 'fail', 'new', 'model'));
  assert.equal(created.status, 1);
  assert.match(created.stderr, /bad\.csv, column "user": required string column is missing/);
  assert.equal(existsSync(join(dir, 'fail')), false, 'the folders this run made are gone');
  await mkdir(join(dir, 'empty-before'));
  assert.equal(train(join(dir, 'empty-before', 'model')).status, 1);
  assert.deepEqual(readdirSync(join(dir, 'empty-before')), [], 'a folder that was there stays, as it was');
});

test('wdp quantize --check PATH that lists no log files is refused before the copy is written', () => {
  const t = wdp('train', '--config', join(dir, 'wdp.config.json'), '--data', join(dir, 'logs', 'dt=2026-01-01'), '--out', join(dir, 'm-q'));
  assert.equal(t.status, 0, t.stderr);
  // It used to write the int8 copy first and fail only at the comparison: an unchecked int8
  // model left at --out, and the corrected command then refused because --out held a model.
  const q = wdp('quantize', join(dir, 'm-q'), '--out', join(dir, 'm-q8'), '--check', join(dir, 'logs', 'dt=2026-01-09'));
  assert.equal(q.status, 1);
  assert.match(q.stderr, /error: .*dt=2026-01-09: no log files found/);
  assert.doesNotMatch(q.stderr, /wrote /);
  assert.equal(existsSync(join(dir, 'm-q8')), false);
  const ok = wdp('quantize', join(dir, 'm-q'), '--out', join(dir, 'm-q8'), '--check', join(dir, 'logs', 'dt=2026-01-02'));
  assert.match(ok.stderr, /wrote .*m-q8/);
  assert.match(ok.stderr, /int8_auc_delta/);
});
