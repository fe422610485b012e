/**
 * A real model artifact (config, fitted transforms, weights) with the PyTorch peer's shapes, for
 * the scoring benchmark: hashed categoricals c0…, numerics n0…, the first half of each being the
 * user context and the rest item features, a wide part of user features plus user×item crosses,
 * and the peer's tower. Weights are random (timing does not depend on them).
 */
import { parseConfig, type WdpConfig, type WdpConfigInput } from '../config/index.ts';
import type { RowChunk } from '../data/row-chunk.ts';
import { FeatureTransforms } from '../features/transforms.ts';
import { saveModelArtifact } from '../model/artifact.ts';
import { manifestDraft, type ModelManifest } from '../model/manifest.ts';
import { specFor } from '../model/trainable-model.ts';
import { initialTowerState } from '../model/tower/state.ts';
import { freshState, type WideDeepState } from '../model/wide-deep.ts';
import { Rng } from '../util/random.ts';
import { BENCH_SHAPES, type BenchShape, type BenchShapeName } from './train-bench.ts';

export interface BenchFeatureSplit {
  readonly userCats: string[];
  readonly itemCats: string[];
  readonly userNums: string[];
  readonly itemNums: string[];
}

/** Half the categoricals and half the numerics are user context (rounded down), as the brief asks. */
export function benchSplit(s: BenchShape): BenchFeatureSplit {
  const cats = Array.from({ length: s.cats }, (_, i) => `c${i}`);
  const nums = Array.from({ length: s.nums }, (_, i) => `n${i}`);
  const u = s.cats >> 1;
  const un = s.nums >> 1;
  return { userCats: cats.slice(0, u), itemCats: cats.slice(u), userNums: nums.slice(0, un), itemNums: nums.slice(un) };
}

export function benchConfig(shape: BenchShapeName): WdpConfig {
  const s = BENCH_SHAPES[shape];
  const sp = benchSplit(s);
  const features: NonNullable<WdpConfigInput['features']> = {};
  for (const c of [...sp.userCats, ...sp.itemCats]) features[c] = { kind: 'categorical', hashBuckets: s.vocab };
  for (const n of [...sp.userNums, ...sp.itemNums]) features[n] = { kind: 'numeric', quantiles: 20, wideBuckets: 10 };
  // wideActive ids per row: one per user categorical, the rest user×item crosses sharing ~wideBuckets.
  const nCross = Math.max(1, s.wideActive - sp.userCats.length);
  const U = sp.userCats.length;
  const I = sp.itemCats.length;
  const crosses = Array.from({ length: nCross }, (_, k) => ({
    features: [sp.userCats[k % U]!, sp.itemCats[(k + Math.floor(k / U)) % I]!],
    hashBuckets: Math.max(1024, Math.floor(s.wideBuckets / nCross)),
  }));
  return parseConfig(
    {
      label: 'label',
      features,
      wide: { features: sp.userCats, crosses },
      deep: {
        embeddings: [...sp.userCats, ...sp.itemCats],
        defaultEmbeddingDim: s.dim,
        numeric: [...sp.userNums, ...sp.itemNums],
        hiddenUnits: [...s.hidden],
      },
      data: { idColumns: ['request_id', 'item_id'] },
    },
    `bench ${shape}`,
  );
}

/** Heavy-tailed token like the peer's zipf ids. */
export function zipfToken(rng: Rng, vocab: number): string {
  return `v${Math.min(Math.floor(vocab ** rng.next() - 1), vocab - 1)}`;
}

/** Random rows with every feature (and the id columns), as a RowChunk. */
export function benchRows(shape: BenchShapeName, rows: number, seed: number, rowOffset = 0): RowChunk {
  const s = BENCH_SHAPES[shape];
  const sp = benchSplit(s);
  const rng = new Rng(seed);
  const columns = new Map<string, RowChunk['columns'] extends ReadonlyMap<string, infer V> ? V : never>();
  for (const c of [...sp.userCats, ...sp.itemCats])
    columns.set(
      c,
      Array.from({ length: rows }, () => zipfToken(rng, s.vocab)),
    );
  for (const n of [...sp.userNums, ...sp.itemNums])
    columns.set(
      n,
      Float64Array.from({ length: rows }, () => rng.next()),
    );
  columns.set(
    'request_id',
    Array.from({ length: rows }, (_, i) => `r${rowOffset + i}`),
  );
  columns.set(
    'item_id',
    Float64Array.from({ length: rows }, (_, i) => rowOffset + i),
  );
  return { source: 'memory://bench', rowOffset, numRows: rows, columns };
}

/** Random weights of the right shapes: embeddings N(0, 1/√dim), wide U(−0.05, 0.05), Glorot tower. */
function randomState(config: WdpConfig, transforms: FeatureTransforms, seed: number): WideDeepState {
  const spec = specFor(config, transforms, 'wide_deep');
  const fresh = freshState(spec);
  const rng = new Rng(seed);
  const w = fresh.wide!.weights;
  for (let i = 0; i < w.length; i++) w[i] = (rng.next() - 0.5) * 0.1;
  fresh.bias.weights[0] = -1;
  const tower = initialTowerState({
    shape: { inputDim: transforms.deepLayout.inputDim, hiddenUnits: config.deep.hiddenUnits },
    adagrad: spec.adagrad,
    seed,
  });
  return { ...fresh, tower };
}

/**
 * Writes a benchmark model of `shape` at `uri`.
 * @example await writeBenchModel('paper', '/tmp/bench-model'); // ~470 MB at 'paper' (embeddings + AdaGrad slots)
 */
export async function writeBenchModel(shape: BenchShapeName, uri: string, seed = 1): Promise<ModelManifest> {
  const config = benchConfig(shape);
  async function* fitRows(): AsyncIterable<RowChunk> {
    yield benchRows(shape, 2000, seed);
  }
  const transforms = await FeatureTransforms.fit(config, fitRows());
  const state = randomState(config, transforms, seed);
  return saveModelArtifact(
    uri,
    manifestDraft({
      modelId: `bench-${shape}`,
      kind: 'wide_deep',
      config,
      transforms,
      training: { note: 'random weights for the scoring benchmark' },
    }),
    state,
  );
}
