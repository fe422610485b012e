/**
 * The opt-in int8 tower: per-channel weight quantization, its ONNX graphs (fused contrib op and
 * standard ops) against a float64 reference of the dequantized weights, and the file round trip.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { INT8_TOWER_FILE } from '../../src/model/artifact.ts';
import { writeQuantizedCopy } from '../../src/model/quantize-copy.ts';
import { readManifest } from '../../src/model/manifest.ts';
import { readStoredModel } from '../../src/model/stored-model.ts';
import { Scorer } from '../../src/scoring/index.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';
import { decodeInt8Tower, encodeInt8Tower } from '../../src/model/artifact.ts';
import { type AnyNamedTensor, decodeAnyTensors, encodeTensors } from '../../src/model/safetensors.ts';
import { dequantizeTower, INT8_WEIGHT_MAX, quantizeMatrix, quantizeTower } from '../../src/model/tower/int8.ts';
import { initialTowerState, towerLayers } from '../../src/model/tower/state.ts';
import type { TowerWeights } from '../../src/model/tower/weights.ts';
import { createSplitTower } from '../../src/scoring/create-split-tower.ts';
import { Rng } from '../../src/util/random.ts';

function tower(inputDim: number, hiddenUnits: number[], seed = 7): TowerWeights {
  const state = initialTowerState({
    shape: { inputDim, hiddenUnits },
    adagrad: { learningRate: 0.1, initialAccumulator: 0.1, epsilon: 1e-7 },
    seed,
  });
  const rng = new Rng(seed);
  for (let k = 0; k <= hiddenUnits.length; k++) {
    const b = state.tensors[`b${k}`]!;
    for (let i = 0; i < b.length; i++) b[i] = rng.normal() * 0.1;
  }
  return state;
}

/** Unsplit forward in float64 over X [B × D]. */
function reference(w: TowerWeights, x: Float64Array, B: number): Float64Array {
  let h = x;
  let width = w.shape.inputDim;
  for (const l of towerLayers(w.shape)) {
    const W = w.tensors[`W${l.index}`]!;
    const b = w.tensors[`b${l.index}`]!;
    const out = new Float64Array(B * l.outDim);
    for (let i = 0; i < B; i++)
      for (let j = 0; j < l.outDim; j++) {
        let s = b[j]!;
        for (let k = 0; k < width; k++) s += h[i * width + k]! * W[k * l.outDim + j]!;
        out[i * l.outDim + j] = l.relu ? Math.max(0, s) : s;
      }
    h = out;
    width = l.outDim;
  }
  return h;
}

test('quantizeMatrix: symmetric int8 per output column, each weight within half a step of its value', () => {
  const rows = 5;
  const cols = 3;
  const w = Float32Array.from([0.5, -2, 0, 0.25, 1, 0, -0.5, 0.3, 0, 0.1, -1.7, 0, 0.05, 2, 0]);
  const m = quantizeMatrix(w, rows, cols);
  assert.deepEqual([...m.scale], [0.5 / INT8_WEIGHT_MAX, 2 / INT8_WEIGHT_MAX, 1].map(Math.fround));
  assert.equal(m.q[0], 127);
  assert.equal(m.q[1], -127);
  assert.equal(m.q[6], -127);
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(m.q[i]! * m.scale[i % cols]! - w[i]!) <= m.scale[i % cols]! / 2 + 1e-9);
});

test('the int8 tower file round-trips and is refused when a tensor has the wrong shape', () => {
  const w = tower(6, [4, 3]);
  const int8 = quantizeTower(w);
  assert.deepEqual(Object.keys(int8.quantized).sort(), ['W0', 'W1']);
  assert.ok(int8.tensors.W2 instanceof Float32Array, 'the logit layer stays float32');
  const back = decodeInt8Tower(encodeInt8Tower(int8), w.shape, 'mem://m');
  assert.deepEqual([...back.quantized.W0!.q], [...int8.quantized.W0!.q]);
  assert.deepEqual([...back.quantized.W1!.scale], [...int8.quantized.W1!.scale]);
  assert.deepEqual([...back.tensors.W2!], [...w.tensors.W2!]);
  assert.throws(
    () => decodeInt8Tower(encodeInt8Tower(int8), { inputDim: 7, hiddenUnits: [4, 3] }, 'mem://m'),
    /W0\.q is not int8 \[7, 4\]/,
  );
  // Same value counts, other shapes or extra tensors: an edited file, refused by name.
  const tensors = decodeAnyTensors(encodeInt8Tower(int8), INT8_TOWER_FILE);
  const edited = (change: (t: Map<string, AnyNamedTensor>) => void) => {
    const t = new Map(tensors);
    change(t);
    return encodeTensors(t, { format: 'wdp-tower-int8' });
  };
  const transposed = edited((t) => t.set('W0.q', { ...t.get('W0.q')!, shape: [4, 6] }));
  assert.throws(() => decodeInt8Tower(transposed, w.shape, 'mem://m'), /W0\.q is not int8 \[6, 4\]/);
  const extra = edited((t) => t.set('W9.q', { shape: [2], data: Int8Array.of(1, 2) }));
  assert.throws(() => decodeInt8Tower(extra, w.shape, 'mem://m'), /tensors the tower \[6, 4, 3, 1\] has no place for: W9\.q/);
});

for (const int8Ops of ['fused', 'standard'] as const) {
  test(`int8 split tower (${int8Ops}) follows the dequantized weights within activation rounding`, async () => {
    const D = 40;
    const w = tower(D, [32, 16]);
    const int8 = quantizeTower(w);
    const deq = dequantizeTower(int8);
    const rng = new Rng(3);
    const B = 64;
    const userCols = [0, 1, 2, 3, 4];
    const gathered = [5, 6, 7, 8];
    const rest = Array.from({ length: D }, (_, c) => c).filter((c) => c > 8);
    const V = 10;
    const table = Float32Array.from({ length: V * gathered.length }, () => rng.normal());
    const ids = Int32Array.from({ length: B }, () => rng.int(V));
    const xUser = Float32Array.from(userCols, () => rng.normal());
    const xRest = Float32Array.from({ length: B * rest.length }, () => rng.normal());
    const t = await createSplitTower('onnx', w, {
      itemRows: Int32Array.from([...gathered, ...rest]),
      userRows: Int32Array.from(userCols),
      gathered: [{ vocab: V, dim: gathered.length }],
      intraOpNumThreads: 1,
      int8,
      int8Ops,
    });
    assert.match(t.name, new RegExp(`int8 ${int8Ops}`));
    const got = await t.forward(xUser, { gathered: [{ table, ids }], rest: xRest }, B);
    t.dispose();
    const x = new Float64Array(B * D);
    for (let i = 0; i < B; i++) {
      for (const [k, c] of userCols.entries()) x[i * D + c] = xUser[k]!;
      for (const [k, c] of gathered.entries()) x[i * D + c] = table[ids[i]! * gathered.length + k]!;
      for (const [k, c] of rest.entries()) x[i * D + c] = xRest[i * rest.length + k]!;
    }
    const want = reference(deq, x, B);
    const exact = reference(w, x, B);
    let maxErr = 0;
    let maxQuant = 0;
    for (let i = 0; i < B; i++) {
      maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
      maxQuant = Math.max(maxQuant, Math.abs(got[i]! - exact[i]!));
    }
    // uint8 activations over a range of ~±3 step by ~0.025: the logits move by a few hundredths at most.
    assert.ok(maxErr < 0.05, `max |int8 − dequantized reference| ${maxErr}`);
    assert.ok(maxErr > 0, 'activations are quantized at run time, so not exactly the dequantized weights');
    assert.ok(maxQuant < 0.1, `max |int8 − float32| ${maxQuant}`);
  });
}

test('a model saved with serving.quantize "int8" lists its int8 tower; serving picks it; a flipped byte is refused by every path', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wdp-int8-'));
  try {
    const uri = await saveTinyModel(dir, 'q', { overrides: { serving: { quantize: 'int8' } } });
    const m = await readManifest(uri);
    assert.match(m.files[INT8_TOWER_FILE]!.sha256, /^[0-9a-f]{64}$/);
    const request = { context: {}, candidates: [{ user: 'u1', item: 'i2', x: 3, tags: ['a'] }] };
    const int8 = await Scorer.load(uri, { cache: false });
    const fp32 = await Scorer.load(uri, { cache: false, precision: 'fp32' });
    try {
      assert.equal(int8.model.precision, 'int8');
      assert.equal(fp32.model.precision, 'fp32');
      const [a, b] = [(await int8.score(request)).scores[0]!, (await fp32.score(request)).scores[0]!];
      assert.ok(Math.abs(a - b) < 0.01 && a !== b, `int8 ${a} vs fp32 ${b}`);
    } finally {
      int8.dispose();
      fp32.dispose();
    }
    const file = join(uri, INT8_TOWER_FILE);
    const bytes = await readFile(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    await writeFile(file, bytes);
    await assert.rejects(Scorer.load(uri, { cache: false }), /tower-int8\.safetensors is corrupted/);
    await assert.rejects(readStoredModel(uri), /tower-int8\.safetensors is corrupted/);
    // Serving float32 does not read the int8 file at all (a cold start reads only what it serves).
    const plain = await Scorer.load(uri, { cache: false, precision: 'fp32' });
    plain.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('wdp quantize writes a copy with the int8 tower; the source is unchanged; a model without one loads as before', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wdp-int8-'));
  try {
    const uri = await saveTinyModel(dir, 'plain');
    const before = await readFile(join(uri, 'manifest.json'));
    const copy = await writeQuantizedCopy(uri, join(dir, 'copy'));
    assert.deepEqual(await readFile(join(uri, 'manifest.json')), before);
    assert.equal((await readManifest(uri)).files[INT8_TOWER_FILE], undefined);
    await assert.rejects(
      Scorer.load(uri, { cache: false, precision: 'int8' }),
      /lists no tower-int8\.safetensors \(make one with `wdp quantize`\)/,
    );
    assert.equal(copy.config.serving?.quantize, 'int8');
    assert.equal(copy.modelId, (await readManifest(uri)).modelId);
    await readStoredModel(join(dir, 'copy')); // every listed file checks
    const s = await Scorer.load(join(dir, 'copy'));
    const p = await Scorer.load(uri);
    try {
      assert.equal(s.model.precision, 'int8');
      assert.equal(p.model.precision, 'fp32', 'same model id, but the cache keys by what serves');
    } finally {
      Scorer.clearCache();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
