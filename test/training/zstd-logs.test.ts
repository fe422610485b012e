/**
 * Training on ZSTD logs (Polars' default codec) goes through the same reader as SNAPPY: the same day
 * in both codecs trains to the same model. The ZSTD day is a committed fixture
 * (test/fixtures/parquet-codecs/make.ts: `zstd` from a stream, so its frames state no content size).
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { trainModel } from '../../src/training/train.ts';
import { tinyChunk, tinyConfig } from '../helpers/tiny-data.ts';
import { writeTinyParquet } from '../helpers/tiny-files.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-zstd-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('a ZSTD day trains to the same model as the same day in SNAPPY', async () => {
  const snappy = join(dir, 'snappy', 'dt=2026-01-01', 'part-0.parquet');
  await writeTinyParquet(snappy, tinyChunk({ rows: 400, seed: 5 }));
  const zstd = join(dir, 'zstd', 'dt=2026-01-01', 'part-0.parquet');
  await mkdir(join(zstd, '..'), { recursive: true });
  await copyFile(join(import.meta.dirname, '..', 'fixtures', 'parquet-codecs', 'tiny-day-zstd.parquet'), zstd);
  const config = tinyConfig();
  const train = (data: string, out: string) => trainModel({ config, data: [data], out: join(dir, out), progress: false, backend: 'onnx' });
  const a = await train(join(dir, 'snappy'), 'model-snappy');
  const b = await train(join(dir, 'zstd'), 'model-zstd');
  assert.equal(b.manifest.trainedOn.rows, 400);
  assert.ok(a.lossCurve.length > 0);
  assert.equal(b.manifest.trainedOn.rows, a.manifest.trainedOn.rows);
  assert.deepEqual(b.lossCurve, a.lossCurve);
  assert.deepEqual(b.manifest.metrics, a.manifest.metrics);
});
