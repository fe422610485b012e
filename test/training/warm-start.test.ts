import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FeatureTransforms } from '../../src/features/transforms.ts';
import { readStoredModel } from '../../src/model/stored-model.ts';
import { loadTrainableModel, specFor } from '../../src/model/trainable-model.ts';
import { WideDeepModel } from '../../src/model/wide-deep.ts';
import { trainModel } from '../../src/training/train.ts';
import { warmStartState } from '../../src/training/warm-start.ts';
import type { WdpConfigInput } from '../../src/config/index.ts';
import { chunks, TINY_CONFIG, tinyChunk, tinyConfig } from '../helpers/tiny-data.ts';
import { writeTinyParquet } from '../helpers/tiny-files.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-warm-'));
  await writeTinyParquet(join(dir, 'a.parquet'), tinyChunk({ rows: 3000, seed: 1, users: 20, items: 30 }));
  await trainModel({ config: tinyConfig(), data: [join(dir, 'a.parquet')], out: join(dir, 'parent'), progress: false, backend: 'onnx' });
});
after(() => rm(dir, { recursive: true, force: true }));

test('right after warm start, a reordered and extended vocabulary predicts identically for unchanged tokens', async () => {
  const parent = await readStoredModel(join(dir, 'parent'));
  const config = parent.config;
  // New data: 35 users and 40 items, so ids are reordered by the new counts and extended.
  const newData = tinyChunk({ rows: 3000, seed: 77, users: 35, items: 40 });
  const transforms = await FeatureTransforms.fit(config, chunks(newData), { parent: parent.transforms.toState() });
  const parentTokens = parent.transforms.vocabTokens('user')!;
  const childTokens = transforms.vocabTokens('user')!;
  assert.ok(childTokens.length > parentTokens.length, 'vocabulary was extended');
  assert.notDeepEqual(childTokens.slice(1, parentTokens.length), parentTokens.slice(1), 'vocabulary was reordered');

  const spec = specFor(config, transforms, 'wide_deep');
  const { state, report } = warmStartState(parent, spec, transforms);
  assert.ok(report.parts.some((p) => p.name === 'user' && p.how === 'by-token'));
  assert.ok(report.parts.some((p) => p.name === 'tags' && p.how === 'by-index'));
  const child = await WideDeepModel.create(spec, { state, backend: 'onnx' });
  const parentModel = await loadTrainableModel(join(dir, 'parent'), { backend: 'onnx' });

  // Rows whose tokens the parent knows (20 users, 30 items).
  const rows = tinyChunk({ rows: 500, seed: 3, users: 20, items: 30 });
  const pChild = await child.predict(transforms.encode(rows, { withLabels: false }).batch);
  const pParent = await parentModel.model.predict(parentModel.transforms.encode(rows, { withLabels: false }).batch);
  let maxDiff = 0;
  for (let i = 0; i < pChild.length; i++) maxDiff = Math.max(maxDiff, Math.abs(pChild[i]! - pParent[i]!));
  assert.ok(maxDiff < 1e-6, `max |Δp| = ${maxDiff}`);
  child.dispose();
  parentModel.model.dispose();
});

test('warm start records the parent and keeps numeric cut points unless refit', async () => {
  const f = join(dir, 'b.parquet');
  await writeTinyParquet(f, tinyChunk({ rows: 2000, seed: 8 }));
  const r = await trainModel({
    config: tinyConfig(),
    data: [f],
    out: join(dir, 'child'),
    warmStart: join(dir, 'parent'),
    progress: false,
    backend: 'onnx',
  });
  const parent = await readStoredModel(join(dir, 'parent'));
  assert.deepEqual(r.manifest.parent, { uri: join(dir, 'parent'), modelId: parent.manifest.modelId });
  const child = await readStoredModel(join(dir, 'child'));
  assert.deepEqual(child.transforms.segmentSignature('x'), parent.transforms.segmentSignature('x'));
  const refit = await trainModel({
    config: tinyConfig(),
    data: [f],
    out: join(dir, 'child2'),
    warmStart: join(dir, 'parent'),
    refitTransforms: true,
    progress: false,
    backend: 'onnx',
  });
  assert.equal(refit.manifest.training['refitTransforms'], true);
});

test('the tower is carried over only when every input column means what it did to the parent', async () => {
  const parent = await readStoredModel(join(dir, 'parent'));
  const data = tinyChunk({ rows: 1000, seed: 9 });
  const towerHow = async (deep: Partial<WdpConfigInput['deep']>) => {
    const config = tinyConfig({ deep: { ...TINY_CONFIG.deep!, ...deep } });
    const transforms = await FeatureTransforms.fit(config, chunks(data), { parent: parent.transforms.toState() });
    const spec = specFor(config, transforms, 'wide_deep');
    const { state, report } = warmStartState(parent, spec, transforms);
    return {
      how: report.parts.find((p) => p.part === 'tower')!.how,
      inputDim: spec.deepLayout.inputDim,
      carried: state.tower !== undefined,
    };
  };
  // user, item, tags 4 each + x: 13 inputs.
  assert.deepEqual(await towerHow({}), { how: 'by-index', inputDim: 13, carried: true });
  // x in 3 pieces: 15 inputs, a fresh tower.
  assert.deepEqual(await towerHow({ numericPieces: 3 }), { how: 'fresh', inputDim: 15, carried: false });
  // tags 3 wide and x in 2 pieces: 13 inputs again, but column 11 is now x's, not tags': fresh.
  assert.deepEqual(await towerHow({ embeddingDims: { tags: 3 }, numericPieces: 2 }), { how: 'fresh', inputDim: 13, carried: false });
});
