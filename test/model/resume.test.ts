/**
 * Whole-model resume: train N batches, save the artifact, load it, train M more, and compare
 * with N + M batches straight through. Everything that training carries from one batch to the
 * next lives in the saved state — FTRL's z and n for the wide weights and the bias, AdaGrad's
 * accumulators for the embeddings and the tower — and the optimizers themselves keep no state
 * between batches, so a resumed model must be the uninterrupted one, bit for bit.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { WdpConfig } from '../../src/config/index.ts';
import { sliceBatch } from '../../src/features/batch-ops.ts';
import type { EncodedBatch } from '../../src/features/encoded-batch.ts';
import { FeatureTransforms } from '../../src/features/transforms.ts';
import { saveModelArtifact } from '../../src/model/artifact.ts';
import { manifestDraft } from '../../src/model/manifest.ts';
import type { SparseTable } from '../../src/model/sparse/sparse-table.ts';
import { loadTrainableModel, specFor } from '../../src/model/trainable-model.ts';
import { WideDeepModel, type WideDeepState } from '../../src/model/wide-deep.ts';
import { chunks, tinyChunk, tinyConfig } from '../helpers/tiny-data.ts';

const BATCH = 64;
const N = 12;
const M = 9;

let dir: string;
let config: WdpConfig;
let transforms: FeatureTransforms;
let batches: EncodedBatch[];
let testBatch: EncodedBatch;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-resume-'));
  config = tinyConfig();
  const train = tinyChunk({ rows: (N + M) * BATCH, seed: 5 });
  transforms = await FeatureTransforms.fit(config, chunks(train));
  const { batch } = transforms.encode(train, { withLabels: true });
  batches = Array.from({ length: N + M }, (_, k) => sliceBatch(batch, k * BATCH, (k + 1) * BATCH));
  testBatch = transforms.encode(tinyChunk({ rows: 300, seed: 6 }), { withLabels: false }).batch;
});
after(() => rm(dir, { recursive: true, force: true }));

/** Every array of a table, by name: weights and each optimizer slot (z, n or acc). */
function tableArrays(prefix: string, t: SparseTable): [string, Float32Array][] {
  return [
    [`${prefix}/weights`, t.weights],
    ...Object.entries(t.slots).map(([slot, a]): [string, Float32Array] => [`${prefix}/${slot}`, a]),
  ];
}

function stateArrays(s: WideDeepState): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>(tableArrays('bias', s.bias));
  if (s.wide) for (const [k, a] of tableArrays('wide', s.wide)) out.set(k, a);
  for (const [f, t] of s.embeddings) for (const [k, a] of tableArrays(`embedding/${f}`, t)) out.set(k, a);
  for (const [k, a] of Object.entries(s.tower?.tensors ?? {})) out.set(`tower/${k}`, a);
  return out;
}

const REGULARISED = { dropout: 0.3, embeddingL2: 0.01, towerL2: 0.001 };

for (const [backend, reg] of [
  ['onnx', undefined],
  ['tfjs', undefined],
  ['onnx', REGULARISED],
  ['tfjs', REGULARISED],
] as const) {
  const what = reg ? `${backend}, dropout + embedding L2 + tower L2` : backend;
  test(`save → load → keep training equals training straight through (${what})`, async () => {
    // With dropout the masks come from (seed, step), and the step counter is saved (bias/step).
    const config1: WdpConfig = reg ? { ...config, deep: { ...config.deep, ...reg } } : config;
    const spec = specFor(config1, transforms, 'wide_deep');
    const straight = await WideDeepModel.create(spec, { backend });
    const first = await WideDeepModel.create(spec, { backend });
    const uri = join(dir, `after-${N}-${backend}${reg ? '-reg' : ''}`);
    try {
      for (const b of batches) await straight.trainBatch(b);
      for (const b of batches.slice(0, N)) await first.trainBatch(b);
      await saveModelArtifact(
        uri,
        manifestDraft({
          modelId: `resume-${backend}`,
          kind: 'wide_deep',
          config: config1,
          transforms,
          trainedOn: { files: [], rows: N * BATCH, skippedRows: 0 },
        }),
        first.state(),
      );
    } finally {
      first.dispose();
    }
    const resumed = await loadTrainableModel(uri, { backend });
    try {
      for (const b of batches.slice(N)) await resumed.model.trainBatch(b);

      const want = stateArrays(straight.state());
      const got = stateArrays(resumed.model.state());
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
      // The slots this test exists for are really there (and were trained).
      for (const k of [
        'wide/z',
        'wide/n',
        'bias/z',
        'bias/n',
        'embedding/user/acc',
        'embedding/tags/acc',
        'tower/acc_W0',
        'tower/acc_b2',
        ...(reg ? ['bias/step'] : []),
      ]) {
        assert.ok(
          want.get(k)?.some((v) => v !== 0),
          `${k} is present and non-zero`,
        );
      }
      for (const [k, a] of want) assert.deepEqual(got.get(k), a, `${k} differs after resuming`);

      // Identical state gives identical predictions; checked too, through the loaded transforms.
      const p = await resumed.model.predict(resumed.transforms.encode(tinyChunk({ rows: 300, seed: 6 }), { withLabels: false }).batch);
      assert.deepEqual(p, await straight.predict(testBatch));
    } finally {
      resumed.model.dispose();
      straight.dispose();
    }
  });
}
