import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RowChunk } from '../../src/data/row-chunk.ts';
import { loadTrainableModel } from '../../src/model/trainable-model.ts';
import { Scorer } from '../../src/scoring/scorer.ts';
import { tinyChunk } from '../helpers/tiny-data.ts';
import { saveTinyModel, type TinyModelOptions } from '../helpers/tiny-model.ts';

const MODELS: Record<string, TinyModelOptions> = {
  wide_deep: {},
  wide: { kind: 'wide' },
  deep: { kind: 'deep' },
  // Mixed user×item and user×user crosses, a user numeric in the wide part, other hidden sizes.
  wide_deep_crosses: {
    overrides: {
      wide: {
        features: ['user', 'item', 'x'],
        crosses: [
          { features: ['user', 'item'], hashBuckets: 256 },
          { features: ['user', 'x'], hashBuckets: 64 },
          { features: ['tags', 'item'], hashBuckets: 128 },
        ],
      },
      deep: {
        embeddings: ['user', 'item', 'tags'],
        embeddingDims: { tags: 3 },
        defaultEmbeddingDim: 5,
        numeric: ['x'],
        hiddenUnits: [16, 8, 4],
      },
    },
  },
  // x feeds the tower in 5 pieces (deep.numericPieces): 5 adjacent columns that move between the
  // user's and the candidates' side together.
  numeric_pieces: {
    overrides: {
      deep: { embeddings: ['user', 'item', 'tags'], defaultEmbeddingDim: 4, numeric: ['x'], numericPieces: 5, hiddenUnits: [8, 4] },
    },
  },
  sum_lists: {
    overrides: {
      features: {
        user: { kind: 'categorical', hashBuckets: 50 },
        item: { kind: 'categorical', vocab: { minCount: 1 } },
        tags: { kind: 'categorical_list', vocab: { minCount: 1 }, combiner: 'sum' },
        x: { kind: 'numeric', quantiles: 10, wideBuckets: 4, default: 0.5 },
      },
      deep: { embeddings: ['user', 'item', 'tags'], defaultEmbeddingDim: 6, numeric: ['x'], hiddenUnits: [12] },
    },
  },
};
let dir: string;
const uris = new Map<string, string>();
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-scorer-'));
  for (const [name, opts] of Object.entries(MODELS)) uris.set(name, await saveTinyModel(dir, name, opts));
});
after(async () => {
  Scorer.clearCache();
  await rm(dir, { recursive: true, force: true });
});

const FEATURES = ['user', 'item', 'tags', 'x'] as const;
const rows = tinyChunk({ rows: 40, seed: 5 });

/** The request for candidates = rows 0..n-1 of `rows`, with `ctx` features taken from row 0. */
function requestFor(
  ctx: readonly string[],
  n: number,
): { body: { context: Record<string, unknown>; candidates: Record<string, unknown>[] }; chunk: RowChunk } {
  const col = (f: string) => rows.columns.get(f) as ArrayLike<unknown>;
  const context = Object.fromEntries(ctx.map((f) => [f, col(f)[0]]));
  const candidates = Array.from({ length: n }, (_, i) =>
    Object.fromEntries(FEATURES.filter((f) => !ctx.includes(f)).map((f) => [f, col(f)[i]])),
  );
  // The same rows as the training side sees them: context values repeated on every row.
  const columns = new Map<string, RowChunk['columns'] extends ReadonlyMap<string, infer V> ? V : never>();
  for (const f of FEATURES) {
    const values = Array.from({ length: n }, (_, i) => (ctx.includes(f) ? col(f)[0] : col(f)[i]));
    columns.set(f, f === 'x' ? Float64Array.from(values as number[]) : (values as string[]));
  }
  return { body: { context, candidates }, chunk: { source: 'expected', rowOffset: 0, numRows: n, columns } };
}

// ['x'] makes x a mixed numeric (crossed with the candidates' user in wide_deep_crosses), which the
// candidates' encode must still read while leaving x's own parts to the context's.
const SPLITS: readonly (readonly string[])[] = [['user'], ['user', 'x'], [], ['user', 'tags'], ['x'], ['user', 'item', 'tags', 'x']];

for (const name of Object.keys(MODELS)) {
  describe(`parity with the training forward: ${name}`, () => {
    for (const backend of ['onnx', 'js'] as const) {
      test(`${backend} backend, every split, within 1e-5`, async () => {
        const uri = uris.get(name)!;
        const reference = await loadTrainableModel(uri, { backend: 'onnx' });
        const scorer = await Scorer.load(uri, { backend, cache: false });
        try {
          for (const ctx of SPLITS) {
            for (const n of [1, 7, 40]) {
              const { body, chunk } = requestFor(ctx, n);
              const expected = await reference.model.predict(reference.transforms.encode(chunk, { withLabels: false }).batch);
              const got = await scorer.score(body);
              assert.equal(got.scores.length, n);
              let maxDiff = 0;
              for (let i = 0; i < n; i++) maxDiff = Math.max(maxDiff, Math.abs(got.scores[i]! - expected[i]!));
              assert.ok(maxDiff < 1e-5, `context [${ctx}] n=${n}: max |Δp| = ${maxDiff}`);
            }
          }
        } finally {
          scorer.dispose();
          reference.model.dispose();
        }
      });
    }
  });
}

test('batch rows score like the training forward, in one tower run or several', async () => {
  const uri = uris.get('wide_deep_crosses')!;
  const reference = await loadTrainableModel(uri, { backend: 'onnx' });
  const scorer = await Scorer.load(uri, { backend: 'onnx', cache: false });
  try {
    const batch = reference.transforms.encode(rows, { withLabels: false }).batch;
    const expected = await reference.model.predict(batch);
    for (const rowsPerRun of [4096, 7]) {
      const got = await scorer.model.scoreRows(batch, rowsPerRun);
      for (let i = 0; i < rows.numRows; i++) assert.ok(Math.abs(got[i]! - expected[i]!) < 1e-5, `rowsPerRun ${rowsPerRun}, row ${i}`);
    }
  } finally {
    scorer.dispose();
    reference.model.dispose();
  }
});

test('the scorer cache hands out a scorer only to callers that asked for the same options', async () => {
  const uri = uris.get('wide_deep')!;
  const a = await Scorer.load(uri, { backend: 'js', planCacheSize: 2 });
  const b = await Scorer.load(uri, { backend: 'js', planCacheSize: 3 });
  const c = await Scorer.load(uri, { backend: 'js', planCacheSize: 2 });
  assert.notEqual(a, b);
  assert.equal(a, c);
  assert.equal(a.planCacheStats().capacity, 2);
  assert.equal(b.planCacheStats().capacity, 3);
});
