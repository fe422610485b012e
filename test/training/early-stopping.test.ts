/**
 * Validation during training and early stopping, on a planted overfit: few rows, many ids, a
 * wide tower and a high learning rate, so the validation loss turns up after a few epochs.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { WdpConfig } from '../../src/config/index.ts';
import { readManifest, trainingHistory } from '../../src/model/manifest.ts';
import { readStoredModel } from '../../src/model/stored-model.ts';
import { TrainingError } from '../../src/training/errors.ts';
import { trainModel } from '../../src/training/train.ts';
import { TINY_CONFIG, tinyChunk, tinyConfig } from '../helpers/tiny-data.ts';
import { writeTinyParquet } from '../helpers/tiny-files.ts';

let dir: string;
let trainFile: string;
let validFile: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-early-'));
  trainFile = join(dir, 'train.parquet');
  validFile = join(dir, 'valid.parquet');
  // 500 rows over 30 users × 40 items: enough to learn the effects for a few epochs, few enough
  // that 16-dim embeddings and a [64, 64] tower at learning rate 0.1 then memorise the noise
  // (validation logloss 0.689 → 0.599 at epoch 7, then 0.656, 0.623, … 0.704 by epoch 12).
  await writeTinyParquet(trainFile, tinyChunk({ rows: 500, seed: 11, users: 30, items: 40 }));
  await writeTinyParquet(validFile, tinyChunk({ rows: 1000, seed: 12, users: 30, items: 40 }));
});
after(() => rm(dir, { recursive: true, force: true }));

function overfitConfig(epochs: number, earlyStopping: boolean): WdpConfig {
  return tinyConfig({
    deep: { embeddings: ['user', 'item', 'tags'], defaultEmbeddingDim: 16, numeric: ['x'], hiddenUnits: [64, 64] },
    optimizer: { ...TINY_CONFIG.optimizer, adagrad: { learningRate: 0.1, initialAccumulator: 0.1, epsilon: 1e-7 } },
    training: {
      batchSize: 32,
      epochs,
      shuffleBuffer: 1000,
      seed: 3,
      ...(earlyStopping ? { earlyStopping: { metric: 'logloss', patience: 2 } } : {}),
    },
  });
}

test('early stopping on a planted overfit keeps the best epoch: the saved weights are those of a model trained exactly bestEpoch epochs', async () => {
  const stopped = await trainModel({
    config: overfitConfig(30, true),
    data: [trainFile],
    validation: [validFile],
    out: join(dir, 'stopped'),
    kind: 'deep',
    progress: false,
    backend: 'onnx',
  });
  const curve = stopped.validationCurve;
  const best = stopped.best!;
  const history = trainingHistory(await readManifest(join(dir, 'stopped')));
  // The overfit is real: validation loss fell, then rose past patience, and training stopped early.
  assert.ok(best.epoch >= 2, `best epoch ${best.epoch}: the loss fell first`);
  assert.equal(curve.length, best.epoch + 2, 'stopped after patience (2) passes without improvement');
  assert.ok(curve.length < 30);
  for (const p of curve.slice(best.epoch)) assert.ok(p.logloss > best.logloss, `epoch ${p.epoch}: ${p.logloss} > best ${best.logloss}`);
  assert.ok(curve[0]!.logloss > best.logloss);
  // The manifest has the whole curve and the chosen epoch.
  assert.equal(history.bestEpoch, best.epoch);
  assert.deepEqual(
    history.validationCurve?.map((p) => p.epoch),
    curve.map((p) => p.epoch),
  );
  assert.ok(Math.abs(history.validationCurve![best.epoch - 1]!.logloss - best.logloss) < 1e-5);
  assert.deepEqual((await readManifest(join(dir, 'stopped'))).metrics['validation'], { logloss: best.logloss, auc: best.auc });

  // The same run for exactly bestEpoch epochs, no early stopping: bit-identical weights.
  await trainModel({
    config: overfitConfig(best.epoch, false),
    data: [trainFile],
    validation: [validFile],
    out: join(dir, 'exact'),
    kind: 'deep',
    progress: false,
    backend: 'onnx',
  });
  const a = (await readStoredModel(join(dir, 'stopped'))).state;
  const b = (await readStoredModel(join(dir, 'exact'))).state;
  assert.deepEqual(a.bias.weights, b.bias.weights);
  for (const [f, t] of b.embeddings) assert.deepEqual(a.embeddings.get(f)!.weights, t.weights, `embedding ${f}`);
  for (const [name, t] of Object.entries(b.tower!.tensors)) assert.deepEqual(a.tower!.tensors[name], t, `tower ${name}`);
});

test('training.validation: a hashed share of the training rows is validated every N examples and kept out of training', async () => {
  const r = await trainModel({
    config: tinyConfig({
      training: {
        batchSize: 32,
        epochs: 2,
        shuffleBuffer: 1000,
        seed: 3,
        validation: { kind: 'hash', fraction: 0.25, column: 'item' },
        validationEvery: 160,
      },
    }),
    data: [validFile],
    out: join(dir, 'hashed'),
    progress: false,
    backend: 'onnx',
  });
  const trained = r.manifest.trainedOn.rows;
  assert.ok(trained > 600 && trained < 950, `${trained} of 1000 rows trained on`);
  const perEpoch = Math.floor(trained / 160);
  assert.ok(
    r.validationCurve.length >= 2 * perEpoch - 1 && r.validationCurve.length <= 2 * perEpoch + 1,
    `${r.validationCurve.length} passes`,
  );
  assert.ok(r.validationCurve.every((p, i) => i === 0 || p.examples > r.validationCurve[i - 1]!.examples));
  const history = trainingHistory(await readManifest(join(dir, 'hashed')));
  assert.equal(history.validationCurve?.length, r.validationCurve.length);
  assert.equal(history.bestEpoch, undefined, 'no early stopping: the last weights are kept');
});

test('early stopping without a validation set is refused, naming the field', async () => {
  await assert.rejects(
    trainModel({ config: overfitConfig(3, true), data: [trainFile], out: join(dir, 'none'), progress: false, backend: 'onnx' }),
    (e: unknown) => e instanceof TrainingError && /training\.earlyStopping needs a validation set/.test(e.message),
  );
});
