import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { SERVING_FILE } from '../../../src/model/artifact.ts';
import { readManifest } from '../../../src/model/manifest.ts';
import { readStoredModel } from '../../../src/model/stored-model.ts';
import { buildTowerForwardOnnx } from '../../../src/model/tower/onnx-export.ts';
import { loadTrainableModel } from '../../../src/model/trainable-model.ts';
import { Rng } from '../../../src/util/random.ts';
import { saveTinyModel } from '../../helpers/tiny-model.ts';

let dir: string;
let uri: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-onnx-export-'));
  uri = await saveTinyModel(dir, 'm');
});
after(() => rm(dir, { recursive: true, force: true }));

test('the saved model lists serving.safetensors with its sha256, and stores no tower.onnx', async () => {
  const manifest = await readManifest(uri);
  const bytes = await readFile(join(uri, SERVING_FILE));
  assert.equal(manifest.files[SERVING_FILE]?.sha256, createHash('sha256').update(bytes).digest('hex'));
  assert.equal(manifest.files[SERVING_FILE]?.bytes, bytes.length);
  assert.equal(manifest.files['tower.onnx'], undefined);
});

for (const backend of ['onnx', 'tfjs'] as const) {
  test(`the exported forward graph computes the same logits as the in-process tower (${backend})`, async () => {
    const loaded = await loadTrainableModel(uri, { backend });
    const session = await ort.InferenceSession.create(buildTowerForwardOnnx(loaded.state.tower!).bytes);
    try {
      const D = loaded.model.tower!.shape.inputDim;
      const B = 13;
      const rng = new Rng(3);
      const x = Float32Array.from({ length: B * D }, () => rng.normal());
      const expected = await loaded.model.tower!.forward(x, B);
      const out = await session.run({ X: new ort.Tensor('float32', x, [B, D]) });
      const got = out['logits']!.data as Float32Array;
      assert.equal(got.length, B);
      for (let i = 0; i < B; i++) assert.ok(Math.abs(got[i]! - expected[i]!) < 1e-5, `row ${i}: ${got[i]} vs ${expected[i]}`);
    } finally {
      await session.release();
      loaded.model.dispose();
    }
  });
}

test('readStoredModel weightsOnly reads the serving file: same weights, no optimizer slots', async () => {
  const full = await readStoredModel(uri);
  const serving = await readStoredModel(uri, { weightsOnly: true });
  assert.deepEqual(serving.state.bias.weights, full.state.bias.weights);
  assert.deepEqual(serving.state.wide!.weights, full.state.wide!.weights);
  for (const [f, t] of full.state.embeddings) {
    assert.deepEqual(serving.state.embeddings.get(f)!.weights, t.weights, f);
    assert.deepEqual(Object.keys(serving.state.embeddings.get(f)!.slots), []);
  }
  assert.deepEqual(serving.state.tower!.tensors['W1'], full.state.tower!.tensors['W1']);
  assert.equal(serving.state.tower!.tensors['acc_W1'], undefined);
});
