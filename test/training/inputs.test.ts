import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isHoldoutValue } from '../../src/data/row-split.ts';
import { TrainingError } from '../../src/training/errors.ts';
import { planTrainInputs } from '../../src/training/inputs.ts';
import { trainModel } from '../../src/training/train.ts';
import { tinyChunk, tinyConfig } from '../helpers/tiny-data.ts';
import { writeTinyParquet } from '../helpers/tiny-files.ts';

let dir: string;
let train: string;
let other: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-inputs-'));
  train = join(dir, 'logs', 'dt=2026-01-01', 'part-0.parquet');
  other = join(dir, 'other.parquet');
  await writeTinyParquet(train, tinyChunk({ rows: 1000, seed: 5 }));
  await writeTinyParquet(other, tinyChunk({ rows: 300, seed: 6 }));
});
after(() => rm(dir, { recursive: true, force: true }));

const refused = (pattern: RegExp) => (e: unknown) => e instanceof TrainingError && pattern.test(e.message);

test('a --validation file that is a --data file is refused, naming both, however it is spelled', async () => {
  const config = tinyConfig();
  await assert.rejects(
    planTrainInputs({ config, data: [train], validation: [train] }),
    refused(new RegExp(`^--validation ${train} is the same file as --data ${train}: validation rows would be training rows too`)),
  );
  const link = join(dir, 'link.parquet');
  await symlink(train, link);
  await assert.rejects(
    planTrainInputs({ config, data: [train], validation: [link] }),
    refused(/--validation .*link\.parquet is the same file/),
  );
  // A folder holding it: the shared file is named.
  await assert.rejects(
    planTrainInputs({ config, data: [join(dir, 'logs')], validation: [train] }),
    refused(new RegExp(`--validation ${train} and --data ${join(dir, 'logs')} both hold ${train}`)),
  );
  // Validation on the holdout's rows is refused too; separate files are fine.
  await assert.rejects(
    planTrainInputs({ config, data: [train], validation: [other], holdout: [other] }),
    refused(/--validation .*other\.parquet is the same file as --holdout .*other\.parquet: the holdout would pick the model/),
  );
  assert.deepEqual(await planTrainInputs({ config, data: [train], validation: [other] }), {});
});

test('a --holdout file that is a --data file is refused unless the config holds out a hashed share', async () => {
  await assert.rejects(
    planTrainInputs({ config: tinyConfig(), data: [train], holdout: [train] }),
    refused(/--holdout .* is the same file as --data .*: holdout rows would be training rows too/),
  );
  const copy = join(dir, 'copy', 'part-0.parquet');
  await mkdir(join(dir, 'copy'));
  await copyFile(other, copy);
  // A copy is another file (only the same file is refused, not the same bytes).
  assert.deepEqual(await planTrainInputs({ config: tinyConfig(), data: [train], holdout: [copy] }), { holdout: [copy] });
  const hashed = tinyConfig({ holdout: { kind: 'hash', fraction: 0.25, column: 'user' } });
  const plan = await planTrainInputs({ config: hashed, data: [train], holdout: [train] });
  assert.deepEqual(plan.split, { column: 'user', fraction: 0.25, take: 'train' });
  assert.deepEqual(plan.holdoutSplit, { column: 'user', fraction: 0.25, take: 'holdout' });
});

test('holdout.kind "hash": wdp train trains on the training side of --data and measures the held-out share, as the workflow does', async () => {
  const config = tinyConfig({ holdout: { kind: 'hash', fraction: 0.3, column: 'user' } });
  const plan = await planTrainInputs({ config, data: [train] });
  assert.deepEqual(plan.holdout, [train]);
  assert.match(plan.note!, /the 30% of rows whose "user" hashes into the holdout are left out of training and measured after it/);
  const r = await trainModel({ config, data: [train], out: join(dir, 'm'), progress: false, backend: 'onnx', ...plan });
  const users = tinyChunk({ rows: 1000, seed: 5 }).columns.get('user') as readonly string[];
  const heldOut = users.filter((u) => isHoldoutValue(u, 0.3)).length;
  assert.ok(heldOut > 0 && heldOut < 1000, `${heldOut} held out`);
  assert.equal(r.manifest.trainedOn.rows, 1000 - heldOut);
  assert.equal(r.holdoutMetrics!.rows, heldOut);
  assert.equal((r.manifest.metrics.holdout as { rows: number }).rows, heldOut);
});
