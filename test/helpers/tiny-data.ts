/**
 * A small synthetic problem for model tests: a few categorical, list and numeric features with
 * a known signal, as in-memory RowChunks (no files needed).
 */
import { parseConfig, type WdpConfig, type WdpConfigInput } from '../../src/config/index.ts';
import type { RowChunk } from '../../src/data/row-chunk.ts';
import { Rng } from '../../src/util/random.ts';

export const TINY_CONFIG: WdpConfigInput = {
  label: 'y',
  features: {
    user: { kind: 'categorical', vocab: { minCount: 1 } },
    item: { kind: 'categorical', vocab: { minCount: 1 } },
    tags: { kind: 'categorical_list', hashBuckets: 64, combiner: 'mean' },
    x: { kind: 'numeric', quantiles: 10, wideBuckets: 4 },
  },
  wide: { features: ['user', 'item', 'x'], crosses: [{ features: ['tags', 'item'], hashBuckets: 512 }] },
  deep: { embeddings: ['user', 'item', 'tags'], defaultEmbeddingDim: 4, numeric: ['x'], hiddenUnits: [8, 4] },
  optimizer: {
    ftrl: { alpha: 0.1, beta: 1, l1: 0.001, l2: 0.001 },
    adagrad: { learningRate: 0.1, initialAccumulator: 0.1, epsilon: 1e-7 },
  },
  training: { batchSize: 64, epochs: 2, shuffleBuffer: 1000, seed: 3 },
};

export function tinyConfig(overrides: Partial<WdpConfigInput> = {}): WdpConfig {
  return parseConfig({ ...TINY_CONFIG, ...overrides }, 'tiny');
}

export interface TinyOptions {
  rows: number;
  seed: number;
  /** Prefix for tokens, e.g. to make a disjoint vocabulary. */
  users?: number;
  items?: number;
  source?: string;
}

/** Rows with label ~ Bernoulli(σ(user effect + item effect + 2·[tag t3 with item i1] + x − 0.5)). */
export function tinyChunk(o: TinyOptions): RowChunk {
  const rng = new Rng(o.seed);
  const world = new Rng(1234);
  const nu = o.users ?? 20;
  const ni = o.items ?? 30;
  const ue = Array.from({ length: 200 }, () => world.normal());
  const ie = Array.from({ length: 200 }, () => world.normal());
  const user: string[] = [];
  const item: string[] = [];
  const tags: string[][] = [];
  const x = new Float64Array(o.rows);
  const y = new Float64Array(o.rows);
  for (let r = 0; r < o.rows; r++) {
    const u = rng.int(nu);
    const i = rng.int(ni);
    const t = Array.from({ length: 1 + rng.int(3) }, () => `t${rng.int(6)}`);
    const xv = rng.next();
    const z = ue[u]! + ie[i]! + (t.includes('t3') && i === 1 ? 2 : 0) + xv - 0.5;
    user.push(`u${u}`);
    item.push(`i${i}`);
    tags.push(t);
    x[r] = xv;
    y[r] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return {
    source: o.source ?? 'memory://tiny',
    rowOffset: 0,
    numRows: o.rows,
    columns: new Map<string, RowChunk['columns'] extends ReadonlyMap<string, infer V> ? V : never>([
      ['user', user],
      ['item', item],
      ['tags', tags],
      ['x', x],
      ['y', y],
    ]),
  };
}

export async function* chunks(...cs: RowChunk[]): AsyncIterable<RowChunk> {
  for (const c of cs) yield c;
}
