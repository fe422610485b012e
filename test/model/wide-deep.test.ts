import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auc } from '../../src/evaluation/metrics.ts';
import { FeatureTransforms } from '../../src/features/transforms.ts';
import { specFor } from '../../src/model/trainable-model.ts';
import { WideDeepModel } from '../../src/model/wide-deep.ts';
import type { ModelKind } from '../../src/config/index.ts';
import { chunks, tinyChunk, tinyConfig } from '../helpers/tiny-data.ts';

async function trained(kind: ModelKind, backend: 'onnx' | 'tfjs' = 'onnx') {
  const config = tinyConfig();
  const train = tinyChunk({ rows: 4000, seed: 1 });
  const transforms = await FeatureTransforms.fit(config, chunks(train));
  const model = await WideDeepModel.create(specFor(config, transforms, kind), { backend });
  const { batch } = transforms.encode(train, { withLabels: true });
  const losses: number[] = [];
  for (let epoch = 0; epoch < 5; epoch++) {
    for (let s = 0; s + 64 <= batch.size; s += 64) {
      const { sliceBatch } = await import('../../src/features/batch-ops.ts');
      losses.push((await model.trainBatch(sliceBatch(batch, s, s + 64))).loss);
    }
  }
  const test = transforms.encode(tinyChunk({ rows: 2000, seed: 2 }), { withLabels: true }).batch;
  const p = await model.predict(test);
  return { model, transforms, losses, testAuc: auc(p, test.labels!), p };
}

for (const kind of ['wide', 'deep', 'wide_deep'] as const) {
  test(`${kind}: training lowers the loss and ranks held-out rows well`, async () => {
    const { model, losses, testAuc, p } = await trained(kind);
    try {
      const first = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
      const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
      assert.ok(last < first - 0.02, `loss should fall: ${first.toFixed(4)} → ${last.toFixed(4)}`);
      assert.ok(testAuc > 0.7, `held-out AUC ${testAuc.toFixed(3)}`);
      assert.ok(p.every((v) => Number.isFinite(v) && v > 0 && v < 1));
      assert.equal(model.tower === undefined, kind === 'wide');
    } finally {
      model.dispose();
    }
  });
}

test('FTRL with L1 leaves a measured share of wide weights at exactly zero', async () => {
  const config = tinyConfig({ optimizer: { ftrl: { alpha: 0.1, beta: 1, l1: 0.5, l2: 0 } } });
  const train = tinyChunk({ rows: 3000, seed: 5 });
  const transforms = await FeatureTransforms.fit(config, chunks(train));
  const model = await WideDeepModel.create(specFor(config, transforms, 'wide'), {});
  const { batch } = transforms.encode(train, { withLabels: true });
  const { sliceBatch } = await import('../../src/features/batch-ops.ts');
  for (let s = 0; s + 64 <= batch.size; s += 64) await model.trainBatch(sliceBatch(batch, s, s + 64));
  const zeroTouched = model.wideTouchedZeroFraction();
  assert.ok(zeroTouched > 0.1 && zeroTouched < 1, `touched-but-zero share ${zeroTouched}`);
  assert.ok(model.wideZeroFraction() > zeroTouched);
  model.dispose();
});
