import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import { readStoredModel } from '../../src/model/stored-model.ts';
import { trainModel } from '../../src/training/train.ts';
import { activeSpace } from '../../src/tuning/search-space.ts';
import { fitLogisticRegression, predictLogisticRegression } from '../../src/baseline/logistic-regression.ts';
import type { EncodedBatch } from '../../src/features/encoded-batch.ts';
import { FeatureTransforms } from '../../src/features/transforms.ts';
import { specFor } from '../../src/model/trainable-model.ts';
import { WideDeepModel, type WideDeepSpec } from '../../src/model/wide-deep.ts';
import { predictInMemory, trainEpochInMemory } from '../../src/tuning/in-memory.ts';
import {
  applyWideStart,
  fitProgressLines,
  fitWideStart,
  rowSampler,
  sampleWideRows,
  WIDE_INIT_N_SCALE,
  WideStartCache,
} from '../../src/training/wide-init.ts';
import { chunks, TINY_CONFIG, tinyChunk, tinyConfig } from '../helpers/tiny-data.ts';
import { writeTinyParquet } from '../helpers/tiny-files.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-wide-init-'));
  // 2500 rows: more than wide.init.maxRows's floor (1000), so `wdp train` samples them.
  await writeTinyParquet(join(dir, 'a.parquet'), tinyChunk({ rows: 2500, seed: 1 }));
  await writeTinyParquet(join(dir, 'v.parquet'), tinyChunk({ rows: 500, seed: 2 }));
});
after(() => rm(dir, { recursive: true, force: true }));

const L2 = 1e-3;
// The tiny config's FTRL (β 1) with the schema's defaults otherwise; l1 > 0 so the inversion's −sign(w)·l1 term is exercised.
const config = tinyConfig({ wide: { ...TINY_CONFIG.wide!, init: { kind: 'logistic-regression', l2: L2 } } });

async function data(): Promise<{ spec: WideDeepSpec; rows: EncodedBatch }> {
  const chunk = tinyChunk({ rows: 2000, seed: 5 });
  const transforms = await FeatureTransforms.fit(config, chunks(chunk), { seed: 1 });
  return { spec: specFor(config, transforms, 'wide_deep'), rows: transforms.encode(chunk, { withLabels: true }).batch };
}

/** Max |a − b| over the wide weights. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('a wide-only model started from the regression scores as the regression does (to 1e-6)', async () => {
  const { spec, rows } = await data();
  const start = fitWideStart(rows, spec.wideLayout.size, { l2: L2, batchSize: 64, seed: 1 });
  assert.ok(start.fit.converged, 'the regression converged');
  // The same fit as fitLogisticRegression's own: the start adds no fitter of its own.
  const direct = fitLogisticRegression(rows, spec.wideLayout.size, { l2: L2 });
  assert.equal(maxDiff(start.fit.weights, direct.weights), 0);
  const wideSpec = { ...spec, kind: 'wide' as const };
  const model = await WideDeepModel.create(wideSpec, { state: applyWideStart(wideSpec, start) });
  const p = await predictInMemory(model, rows);
  const q = predictLogisticRegression(start.fit, rows);
  // float32 weights against the regression's float64: ~1e-7 in probability.
  assert.ok(maxDiff(p, q) < 1e-6, `max |Δp| ${maxDiff(p, q)}`);
  model.dispose();
});

test("after the start, FTRL's closed form gives the regression's weight on every coordinate, and n is the scaled squared-gradient sum", async () => {
  const { spec, rows } = await data();
  const start = fitWideStart(rows, spec.wideLayout.size, { l2: L2, batchSize: 64, seed: 1 });
  const state = applyWideStart(spec, start);
  const { alpha, beta, l1, l2 } = spec.ftrl;
  const z = state.wide!.slots['z']!;
  const n = state.wide!.slots['n']!;
  let nonzero = 0;
  for (let i = 0; i < state.wide!.rows; i++) {
    // FTRL's closed form (src/model/sparse/ftrl.ts), from the slots alone.
    const w = Math.abs(z[i]!) <= l1 ? 0 : -(z[i]! - Math.sign(z[i]!) * l1) / ((beta + Math.sqrt(n[i]!)) / alpha + l2);
    const want = start.fit.weights[i]!;
    assert.ok(Math.abs(w - want) <= 1e-6 * Math.max(1, Math.abs(want)), `coordinate ${i}: ${w} vs ${want}`);
    assert.equal(state.wide!.weights[i], Math.fround(want));
    if (want !== 0) {
      nonzero++;
      assert.ok(n[i]! > 0, `coordinate ${i} has a weight but n = 0`);
    } else assert.equal(n[i], 0, 'an unseen coordinate keeps n = 0');
  }
  assert.ok(nonzero > 50, `${nonzero} coordinates carry a weight`);
  // The bias with l1 = l2 = 0.
  const bz = state.bias.slots['z']![0]!;
  const bn = state.bias.slots['n']![0]!;
  assert.ok(Math.abs(-bz / ((beta + Math.sqrt(bn)) / alpha) - start.fit.bias) < 1e-6);
  assert.equal(start.nScale, WIDE_INIT_N_SCALE);
});

test('with the scaled n, an epoch of FTRL moves the weights far less than with n = 0 (why n starts large)', async () => {
  const { spec, rows } = await data();
  // The schema's FTRL defaults (β 0.01): with n = 0 the first step on a coordinate is then ≈ α·sign(g), whatever g's size.
  const wideSpec = { ...spec, kind: 'wide' as const, ftrl: { alpha: 0.1, beta: 0.01, l1: 0.001, l2: 0.001 } };
  const moved = async (nScale: number) => {
    const start = fitWideStart(rows, spec.wideLayout.size, { l2: L2, batchSize: 64, seed: 1, nScale });
    const model = await WideDeepModel.create(wideSpec, { state: applyWideStart(wideSpec, start) });
    await trainEpochInMemory(model, rows, { batchSize: 64, seed: 1, epoch: 0 });
    const d = maxDiff(model.state().wide!.weights, start.fit.weights);
    model.dispose();
    return d;
  };
  const large = await moved(WIDE_INIT_N_SCALE);
  const zero = await moved(0);
  // Measured here: 0.016 with ×100 against 0.20 with n = 0 (×1: 0.10, ×1e4: 0.002).
  assert.ok(large < zero / 5, `max |Δw| after an epoch: ${large} with n ×${WIDE_INIT_N_SCALE}, ${zero} with n = 0`);
});

test('the row sample is seeded, uniform and capped; every row when they fit', () => {
  const keep = rowSampler(10, 20, 1);
  assert.equal(Array.from({ length: 10 }, keep).filter(Boolean).length, 10);
  const pick = (seed: number) => Array.from({ length: 10_000 }, rowSampler(10_000, 1000, seed)).flatMap((k, i) => (k ? [i] : []));
  const a = pick(1);
  assert.deepEqual(a, pick(1));
  assert.notDeepEqual(a, pick(2));
  assert.ok(a.length > 900 && a.length <= 1000, `${a.length} rows`);
  assert.ok(a[a.length - 1]! > 9000, 'the sample reaches the last rows');
});

test('a sampled start fits on maxRows rows and scales n to the epoch', async () => {
  const { spec, rows } = await data();
  const sample = sampleWideRows(rows, 500, 1);
  assert.ok(sample.size <= 500 && sample.size > 400);
  assert.equal(sample.embeddingInputs.length, 0, 'only the wide ids are held');
  const start = fitWideStart(sample, spec.wideLayout.size, { l2: L2, batchSize: 64, seed: 1, epochRows: rows.size });
  assert.equal(start.rows, sample.size);
  assert.equal(start.epochRows, 2000);
});

test('the cache fits a start once per key and not at all for zeros or a deep model', async () => {
  const { spec, rows } = await data();
  const cache = new WideStartCache(rows);
  let fits = 0;
  const told: number[] = [];
  const iterations: number[] = [];
  const on = { onFit: () => fits++, onFitting: (n: number) => told.push(n), onIteration: (i: number) => iterations.push(i) };
  const a = cache.initialState(config, spec, on);
  const b = cache.initialState(config, spec, on);
  assert.equal(fits, 1);
  assert.deepEqual(told, [a!.start.rows], 'told once, before the fit, with the rows it fits on');
  assert.deepEqual(
    iterations,
    Array.from({ length: a!.start.fit.iterations }, (_, i) => i + 1),
    'every iteration of the one fit',
  );
  assert.ok(a && b && a.state.wide !== b.state.wide, 'each call gets its own tables');
  assert.equal(cache.initialState(tinyConfig(), spec), undefined);
  assert.equal(cache.initialState(config, { ...spec, kind: 'deep' }), undefined);
});

test('wdp train with wide.init fits the regression on a sample of the training rows and records it in the manifest', async () => {
  const lines: string[] = [];
  const logger = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
  const withInit = parseConfig(
    {
      ...TINY_CONFIG,
      wide: { ...TINY_CONFIG.wide!, init: { kind: 'logistic-regression', l2: 1e-3, maxRows: 1000 } },
      training: { ...TINY_CONFIG.training!, epochs: 1 },
    },
    'tiny with init',
  );
  const r = await trainModel({
    config: withInit,
    data: [join(dir, 'a.parquet')],
    out: join(dir, 'lr-start'),
    validation: [join(dir, 'v.parquet')],
    progress: false,
    backend: 'onnx',
    logger,
  });
  const record = r.manifest.training['wideInit'] as Record<string, unknown>;
  assert.equal(record['from'], 'logistic-regression');
  assert.equal(record['l2'], 1e-3);
  const rows = record['rows'] as number;
  assert.ok(rows > 900 && rows <= 1000, `a sample of at most maxRows rows: ${rows}`);
  const trainRows = r.manifest.trainedOn.rows;
  assert.equal(record['epochRows'], trainRows);
  assert.ok((record['trainLoss'] as number) > 0.3 && (record['trainLoss'] as number) < 0.7, `train loss ${record['trainLoss']}`);
  assert.ok((record['validationAuc'] as number) > 0.6, `validation AUC ${record['validationAuc']}`);
  assert.ok(
    lines.includes(`fitting the wide part's starting point: logistic regression on ${rows} of ${trainRows} rows, L2 0.001`),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) =>
      /^wide part starts from a logistic regression on \d+ of \d+ rows \(L2 0.001\): train loss .*validation AUC 0\.\d{4}$/.test(l),
    ),
  );
  // The model loads and the config keeps the choice.
  const stored = await readStoredModel(join(dir, 'lr-start'));
  assert.deepEqual(stored.config.wide.init, { kind: 'logistic-regression', l2: 1e-3, maxRows: 1000 });

  // Without wide.init the manifest has no record (unchanged from before the option).
  const plain = await trainModel({
    config: tinyConfig({ training: { ...TINY_CONFIG.training!, epochs: 1 } }),
    data: [join(dir, 'a.parquet')],
    out: join(dir, 'zeros'),
    progress: false,
    backend: 'onnx',
  });
  assert.equal(plain.manifest.training['wideInit'], undefined);

  // A warm start takes precedence: the regression is not fitted, and the log and manifest say why.
  lines.length = 0;
  const warm = await trainModel({
    config: withInit,
    data: [join(dir, 'a.parquet')],
    out: join(dir, 'warm'),
    warmStart: join(dir, 'zeros'),
    progress: false,
    backend: 'onnx',
    logger,
  });
  assert.deepEqual(warm.manifest.training['wideInit'], { skipped: `warm start from ${plain.manifest.modelId} takes precedence` });
  assert.ok(
    lines.some((l) => l === `wide.init "logistic-regression" not used: the warm start from ${plain.manifest.modelId} takes precedence`),
  );
  assert.ok(!lines.some((l) => l.startsWith("fitting the wide part's starting point")));
});

test("wdp tune's space has wide.init for wide_deep and wide models, not for deep ones", () => {
  const paths = (kind: 'wide' | 'deep' | 'wide_deep') => activeSpace(tinyConfig(), kind).dimensions.map((d) => d.path);
  assert.ok(paths('wide_deep').includes('wide.init'));
  assert.ok(paths('wide').includes('wide.init'));
  assert.ok(!paths('deep').includes('wide.init'));
  const s = activeSpace(tinyConfig(), 'wide_deep').dimensions.find((d) => d.path === 'wide.init')!;
  assert.deepEqual(s.kind === 'choice' && s.values, ['zeros', 'logistic-regression']);
});

test('fitProgressLines prints at most one line per interval, naming the iteration and the objective', () => {
  const lines: string[] = [];
  const every = fitProgressLines((l) => lines.push(l), 0);
  every(1, 0.5, 0.1);
  every(2, 0.25, 1e-9);
  assert.deepEqual(lines, [
    '  logistic regression: iteration 1, objective 0.500000 (last change 1.0e-1, stops below 1e-8)',
    '  logistic regression: iteration 2, objective 0.250000 (last change 1.0e-9, stops below 1e-8)',
  ]);
  const quiet: string[] = [];
  const hourly = fitProgressLines((l) => quiet.push(l), 3_600_000);
  for (let i = 1; i <= 100; i++) hourly(i, 1 / i, 1e-3);
  assert.deepEqual(quiet, [], 'nothing within the first interval');
});
