import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { trainModel } from '../../src/training/train.ts';
import { tinyChunk, tinyConfig } from '../helpers/tiny-data.ts';
import { writeTinyParquet } from '../helpers/tiny-files.ts';

test('a hashed row split trains on one side and measures the holdout on the other', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wdp-split-'));
  try {
    const f = join(dir, 'logs.parquet');
    await writeTinyParquet(f, tinyChunk({ rows: 2000, seed: 4 }));
    const r = await trainModel({
      config: tinyConfig(),
      data: [f],
      holdout: [f],
      out: join(dir, 'm'),
      split: { column: 'user', fraction: 0.3, take: 'train' },
      progress: false,
      backend: 'onnx',
    });
    const holdout = r.holdoutMetrics!;
    // every row is on exactly one side
    assert.equal(r.manifest.trainedOn.rows + holdout.rows, 2000);
    assert.ok(holdout.rows > 0 && r.manifest.trainedOn.rows > holdout.rows);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
