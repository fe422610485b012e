/** `wdp tune` through the real binary, reading logs and config from s3:// and writing the tuned config there. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { parseConfigText } from '../../src/config/index.ts';
import { clearStoreCache, storeFor } from '../../src/storage/index.ts';
import { setS3Env, startS3rver, type RunningS3rver } from '../helpers/s3rver.ts';
import { TINY_CONFIG, tinyChunk } from '../helpers/tiny-data.ts';
import { writeTinyParquet } from '../helpers/tiny-files.ts';

const run = promisify(execFile);
const BUCKET = 's3://wdp-tune';
let server: RunningS3rver;
let restoreEnv: () => void;
let dir: string;

before(async () => {
  server = await startS3rver({ buckets: ['wdp-tune'] });
  restoreEnv = setS3Env(server.endpoint);
  clearStoreCache();
  dir = await mkdtemp(join(tmpdir(), 'wdp-tune-cli-'));
  const local = join(dir, 'part-0.parquet');
  await writeTinyParquet(local, tinyChunk({ rows: 1200, seed: 21 }));
  const store = storeFor(BUCKET);
  await store.write(`${BUCKET}/logs/dt=2026-01-01/part-0.parquet`, await readFile(local));
  await store.write(`${BUCKET}/wdp.config.json`, JSON.stringify(TINY_CONFIG));
});
after(async () => {
  restoreEnv();
  clearStoreCache();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

test('wdp tune on s3:// logs writes the best config there, prints the trials table and plots them', async () => {
  // execFile (not spawnSync): the S3 server runs in this process and must keep answering.
  const r = await run(
    process.execPath,
    [
      'bin/wdp.mjs',
      'tune',
      '--config',
      `${BUCKET}/wdp.config.json`,
      '--data',
      `${BUCKET}/logs/`,
      '--out',
      `${BUCKET}/tuned/wdp.config.json`,
      '--validation-column',
      'user',
      '--trials',
      '3',
      '--max-epochs',
      '2',
      '--backend',
      'onnx',
      '--plot',
      join(dir, 'plots', 'trials.svg'),
      '--json',
    ],
    { encoding: 'utf8', env: { ...process.env, CI: '1' } },
  );
  const out = JSON.parse(r.stdout);
  assert.deepEqual(
    out.schedule.map((s: { epochs: number; trials: number }) => [s.trials, s.epochs]),
    [
      [3, 1],
      [1, 2],
    ],
  );
  assert.match(r.stderr, /tune: \d+ training rows, \d+ validation rows; rungs 3×1ep → 1×2ep/);
  assert.match(r.stderr, /trial\s+auc\s+best epoch\s+epochs\s+stopped\s+alpha/);
  assert.match(
    r.stderr,
    /best: trial \d, validation auc 0\.\d+ at epoch [12]( \(the given config: trial \d led it by [\d.]+, within 1 standard error of [\d.]+\))?; config written to s3:\/\/wdp-tune\/tuned\/wdp\.config\.json/,
  );
  const text = new TextDecoder().decode(await storeFor(BUCKET).read(`${BUCKET}/tuned/wdp.config.json`));
  const tuned = parseConfigText(text, 'tuned');
  assert.equal(tuned.tuning?.trials.length, 3);
  assert.equal(tuned.tuning?.best.trial, out.best.trial);
  assert.match(await readFile(join(dir, 'plots', 'trials.svg'), 'utf8'), /^<svg/);
});
