import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sliceBatch } from '../../src/features/batch-ops.ts';
import { FeatureTransforms } from '../../src/features/transforms.ts';
import { saveModelArtifact } from '../../src/model/artifact.ts';
import { ModelLoadError } from '../../src/model/errors.ts';
import { loadModel, specFor } from '../../src/model/loader.ts';
import { WideDeepModel } from '../../src/model/wide-deep.ts';
import { chunks, tinyChunk, tinyConfig } from '../helpers/tiny-data.ts';

let dir: string;
let expected: Float32Array;
const testChunk = tinyChunk({ rows: 500, seed: 9 });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-artifact-'));
  const config = tinyConfig();
  const train = tinyChunk({ rows: 2000, seed: 1 });
  const transforms = await FeatureTransforms.fit(config, chunks(train));
  const model = await WideDeepModel.create(specFor(config, transforms, 'wide_deep'), { backend: 'onnx' });
  const { batch } = transforms.encode(train, { withLabels: true });
  for (let s = 0; s + 64 <= batch.size; s += 64) await model.trainBatch(sliceBatch(batch, s, s + 64));
  expected = await model.predict(transforms.encode(testChunk, { withLabels: false }).batch);
  await saveModelArtifact(
    join(dir, 'good'),
    {
      modelId: 'm-test',
      createdAt: new Date().toISOString(),
      kind: 'wide_deep',
      config: config as unknown as Record<string, unknown>,
      transforms: transforms.toState() as unknown as Record<string, unknown>,
      tower: { inputDim: transforms.deepLayout.inputDim, hiddenUnits: [...config.deep.hiddenUnits] },
      metrics: {},
      parent: null,
      trainedOn: { files: [], rows: 2000, skippedRows: 0 },
      training: {},
    },
    model.state(),
  );
  model.dispose();
});
after(() => rm(dir, { recursive: true, force: true }));

async function copyModel(name: string): Promise<string> {
  const dst = join(dir, name);
  for (const f of ['manifest.json', 'wide.safetensors', 'embeddings.safetensors', 'tower.safetensors']) {
    const bytes = await readFile(join(dir, 'good', f));
    await writeFile(join(dst, f), bytes).catch(async () => {
      const { mkdir } = await import('node:fs/promises');
      await mkdir(dst, { recursive: true });
      await writeFile(join(dst, f), bytes);
    });
  }
  return dst;
}

for (const backend of ['onnx', 'tfjs'] as const) {
  test(`save then load gives identical predictions (${backend})`, async () => {
    const loaded = await loadModel(join(dir, 'good'), { backend });
    try {
      const p = await loaded.model.predict(loaded.transforms.encode(testChunk, { withLabels: false }).batch);
      let maxDiff = 0;
      for (let i = 0; i < p.length; i++) maxDiff = Math.max(maxDiff, Math.abs(p[i]! - expected[i]!));
      assert.ok(maxDiff < (backend === 'onnx' ? 1e-7 : 1e-5), `max |Δp| ${maxDiff}`);
      assert.equal(loaded.manifest.modelId, 'm-test');
    } finally {
      loaded.model.dispose();
    }
  });
}

test('a corrupted weight file is refused by checksum', async () => {
  const m = await copyModel('corrupt');
  const f = join(m, 'embeddings.safetensors');
  const bytes = await readFile(f);
  bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
  await writeFile(f, bytes);
  await assert.rejects(
    loadModel(m),
    (e: unknown) =>
      e instanceof ModelLoadError && /embeddings\.safetensors is corrupted: its sha256 does not match/.test((e as Error).message),
  );
});

test('a truncated weight file is refused by size', async () => {
  const m = await copyModel('short');
  const f = join(m, 'tower.safetensors');
  const bytes = await readFile(f);
  await writeFile(f, bytes.subarray(0, 100));
  await assert.rejects(loadModel(m), /tower\.safetensors is 100 bytes, the manifest says \d+/);
});

test('a truncated manifest gives a clear error', async () => {
  const m = await copyModel('trunc');
  const f = join(m, 'manifest.json');
  const text = await readFile(f, 'utf8');
  await writeFile(f, text.slice(0, Math.floor(text.length / 2)));
  await assert.rejects(
    loadModel(m),
    (e: unknown) => e instanceof ModelLoadError && /manifest\.json is truncated or not JSON/.test((e as Error).message),
  );
});

test('a missing manifest (save interrupted) loads nothing', async () => {
  const m = await copyModel('nomanifest');
  await rm(join(m, 'manifest.json'));
  await assert.rejects(loadModel(m), /no manifest\.json \(not a model folder, or the save did not finish\)/);
});

test('an unknown format version is refused', async () => {
  const m = await copyModel('future');
  const f = join(m, 'manifest.json');
  const json = JSON.parse(await readFile(f, 'utf8'));
  json.formatVersion = 99;
  await writeFile(f, JSON.stringify(json));
  await assert.rejects(loadModel(m), /unknown model format version 99; this build reads 1/);
});
