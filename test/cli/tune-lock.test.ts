/**
 * `wdp tune --out` a local file: under the file's writer lock (storage/output-lock.ts), so a
 * second tune to the same file fails at once naming the first, before any search (both used to
 * run to the end and the later one silently replaced the other's config); the file is written whole.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseConfigText } from '../../src/config/index.ts';
import { lockOutput } from '../../src/storage/output-lock.ts';
import { TINY_CONFIG, tinyChunk } from '../helpers/tiny-data.ts';
import { writeTinyParquet } from '../helpers/tiny-files.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-tune-lock-'));
  await writeTinyParquet(join(dir, 'logs', 'part-0.parquet'), tinyChunk({ rows: 600, seed: 22 }));
  await writeFile(join(dir, 'wdp.config.json'), JSON.stringify(TINY_CONFIG));
});
after(() => rm(dir, { recursive: true, force: true }));

const tune = (out: string) =>
  spawnSync(
    process.execPath,
    ['bin/wdp.mjs', 'tune', '--config', join(dir, 'wdp.config.json'), '--data', join(dir, 'logs'), '--out', out].concat([
      '--validation-column',
      'user',
      '--trials',
      '1',
      '--max-epochs',
      '1',
      '--backend',
      'onnx',
    ]),
    { encoding: 'utf8' },
  );

test('a tune whose --out another writer holds fails at once naming it; once free, the config is written whole', async () => {
  const out = join(dir, 'tuned', 'wdp.config.json');
  const held = await lockOutput(out, 'this config file');
  try {
    const r = tune(out);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`this config file is being written by another wdp process \\(pid ${process.pid} on `));
    assert.doesNotMatch(r.stderr, /tune: \d+ training rows/, 'refused before reading the logs');
  } finally {
    await held?.release();
  }
  const r = tune(out);
  assert.equal(r.status, 0, r.stderr);
  parseConfigText(await readFile(out, 'utf8'), out);
  assert.deepEqual(await readdir(join(dir, 'tuned')), ['wdp.config.json']);
});

test('a tune whose --out exists (here the --config itself) is refused before the search, naming it; --force replaces it', async () => {
  const config = join(dir, 'own.config.json');
  const original = JSON.stringify(TINY_CONFIG);
  await writeFile(config, original);
  const run = (...extra: string[]) =>
    spawnSync(
      process.execPath,
      ['bin/wdp.mjs', 'tune', '--config', config, '--data', join(dir, 'logs'), '--out', config, '--validation-column', 'user'].concat(
        ['--trials', '1', '--max-epochs', '1', '--backend', 'onnx'],
        extra,
      ),
      { encoding: 'utf8' },
    );
  const r = run();
  assert.equal(r.status, 1, r.stderr);
  assert.ok(
    r.stderr.includes(
      `${config}: this config file already exists (it is the --config file); choose a new file, or give --force to replace it`,
    ),
    r.stderr,
  );
  assert.doesNotMatch(r.stderr, /tune: \d+ training rows/, 'refused before reading the logs');
  assert.equal(await readFile(config, 'utf8'), original);
  const forced = run('--force');
  assert.equal(forced.status, 0, forced.stderr);
  const tuned = parseConfigText(await readFile(config, 'utf8'), config);
  assert.ok(tuned.tuning, 'the tuned config, with its record, replaced the given one');
});
