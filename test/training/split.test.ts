import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readManifest, trainingHistory } from '../../src/model/manifest.ts';
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
    // the loss curve is kept in the saved manifest, for reports and plots
    const history = trainingHistory(await readManifest(join(dir, 'm')));
    assert.equal(history.lossCurve?.length, r.lossCurve.length);
    assert.ok(r.lossCurve.length >= 20, `${r.lossCurve.length} curve points over 2 epochs`);
    assert.deepEqual(
      history.lossCurve?.map((p) => p.epoch),
      r.lossCurve.map((p) => p.epoch),
    );
    assert.ok(Math.abs(history.lossCurve![0]!.loss - r.lossCurve[0]!.loss) < 1e-5);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
