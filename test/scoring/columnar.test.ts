/**
 * The columnar request shape (`candidates: {feature: [value per candidate]}`): the same scores as
 * the row shape, bit for bit, and the same 400s with the same messages; plus its own faults
 * (ragged columns, a column that is not an array) and the limits both shapes share.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createScoreHandler, type HttpResult } from '../../src/scoring/handler.ts';
import { rank, Scorer } from '../../src/scoring/scorer.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';

let dir: string;
let model: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-columnar-'));
  model = await saveTinyModel(dir, 'm');
});
after(async () => {
  Scorer.clearCache();
  await rm(dir, { recursive: true, force: true });
});

/** Rows → columns, a key present in any row becoming a column (absent cells: null). */
function toColumns(rows: Record<string, unknown>[]): Record<string, unknown[]> {
  const names = new Set(rows.flatMap((r) => Object.keys(r)));
  return Object.fromEntries([...names].map((n) => [n, rows.map((r) => (Object.hasOwn(r, n) ? r[n] : null))]));
}

const ROWS = [
  { item: 'i1', tags: ['t1', 't3'], x: 0.2 },
  { item: 'i2', tags: [], x: 0.9 },
  { item: 'i3', tags: 't2', x: 0.5 },
  { item: 'i9', tags: null, x: -3 },
  { item: 7, tags: ['t2', 5], x: 12.5 },
];

const handler = () => createScoreHandler({ modelUri: model, scorerOptions: { backend: 'js', maxCandidates: 6 } });
const error = async (body: unknown) => {
  const r = (await handler()(body, { awsRequestId: 'r' })) as { statusCode?: number; error?: string };
  assert.equal(r.statusCode, 400, JSON.stringify(r));
  return r.error;
};

describe('columnar candidates', () => {
  for (const backend of ['js', 'auto'] as const) {
    test(`score exactly as the same candidates as rows (${backend} tower), with and without topK`, async () => {
      const s = await Scorer.load(model, { backend, cache: false });
      for (const context of [{ user: 'u1' }, {}, { user: 'u2', x: 0.3 }]) {
        const rows = 'x' in context ? ROWS.map(({ x: _x, ...r }) => r) : ROWS;
        const a = await s.score({ context, candidates: rows, topK: 2 });
        const b = await s.score({ context, candidates: toColumns(rows), topK: 2 });
        assert.deepEqual(b, a);
        assert.equal(b.ranked.length, 2);
        const all = await s.score({ context, candidates: toColumns(rows) });
        assert.deepEqual(all.scores, a.scores);
        assert.equal(all.ranked.length, rows.length);
      }
      s.dispose();
    });
  }

  test('row candidates whose keys come in different orders and sets score as in one order', async () => {
    // Validation reuses the previous candidate's key order; a candidate that breaks it must
    // still land every cell in its own column, and a fault after it still be named.
    const s = await Scorer.load(model, { backend: 'js', cache: false });
    const reversed = ROWS.map((r, i) => (i % 2 === 1 ? Object.fromEntries(Object.entries(r).reverse()) : r));
    const partial = ROWS.map((r, i) => (i === 2 ? { x: r.x, item: r.item } : r));
    const canonical = ROWS.map((r, i) => (i === 2 ? { ...r, tags: null } : r));
    assert.deepEqual(
      await s.score({ context: { user: 'u1' }, candidates: reversed }),
      await s.score({ context: { user: 'u1' }, candidates: ROWS }),
    );
    assert.deepEqual(
      await s.score({ context: { user: 'u1' }, candidates: partial }),
      await s.score({ context: { user: 'u1' }, candidates: canonical }),
    );
    s.dispose();
    assert.equal(
      await error({ candidates: [...ROWS.slice(0, 3), { x: 1, item: 'i4', colour: 'red' }, { item: 'i5', x: 'high' }] }),
      'unknown feature(s): candidates[3].colour',
    );
    assert.equal(
      await error({ candidates: [...ROWS.slice(0, 3), { x: 1, item: 'i4' }, { item: 'i5', x: 'high' }] }),
      'wrong type(s): candidates[4].x must be a number or null, got string',
    );
  });

  test('through the handler, as a Function URL body', async () => {
    const body = JSON.stringify({ context: { user: 'u1' }, candidates: toColumns(ROWS) });
    const r = (await handler()({ body, headers: {}, isBase64Encoded: false }, { awsRequestId: 'r' })) as HttpResult;
    assert.equal(r.statusCode, 200);
    const direct = (await handler()({ context: { user: 'u1' }, candidates: ROWS })) as { scores: number[] };
    assert.deepEqual(JSON.parse(r.body).scores, direct.scores);
  });

  test("the row shape's cell messages, naming the candidate and the feature", async () => {
    const cols = toColumns(ROWS);
    assert.equal(
      await error({ context: { user: 'u1' }, candidates: { ...cols, x: [1, 2, 'high', 4, 5] } }),
      'wrong type(s): candidates[2].x must be a number or null, got string',
    );
    assert.equal(
      await error({ candidates: { ...cols, tags: [null, { a: 1 }, null, null, null] } }),
      'wrong type(s): candidates[1].tags must be an array of strings, numbers or booleans, a single string, number or boolean, or null, got object',
    );
    assert.equal(
      await error({ context: { user: 'u1' }, candidates: { ...cols, x: [1, null, 2, null, 3] } }),
      'missing value for numeric feature(s) without a default: candidates[1].x (and 1 more candidates)',
    );
    assert.equal(
      await error({ context: { user: 'u1' }, candidates: { item: cols.item! } }),
      'missing value for numeric feature(s) without a default: x (not in context nor in any candidate: give it once in context, or in each candidate)',
    );
    assert.equal(
      await error({ context: { user: 'u1', item: 'i1' }, candidates: cols }),
      'feature(s) given in both context and candidates: item',
    );
    assert.equal(
      await error({ candidates: { ...cols, x: [1, 2, Number.POSITIVE_INFINITY, 4, 5] } }),
      'wrong type(s): candidates[2].x must be a number or null, got Infinity (not a finite number: JSON numbers beyond ±1.8e308, such as 1e999, overflow to Infinity)',
    );
  });

  test('an unknown column is named once, as candidates.<name>', async () => {
    assert.equal(
      await error({ context: { age: 3 }, candidates: { ...toColumns(ROWS), colour: ['red', 'red', 'red', 'red', 'red'] } }),
      'unknown feature(s): context.age, candidates.colour',
    );
  });

  test('ragged columns are refused, naming the columns and their lengths', async () => {
    assert.equal(
      await error({ candidates: { item: ['i1', 'i2', 'i3'], x: [1, 2], tags: [[], [], [], []] } }),
      'columnar candidates must have one length: candidates.item has 3 values but candidates.x has 2, candidates.tags has 4',
    );
  });

  test('a column that is not an array, no columns, empty columns, too many candidates', async () => {
    assert.equal(
      await error({ candidates: { item: 'i1', x: [1] } }),
      'columnar candidates: candidates.item must be an array (one value per candidate), got string',
    );
    assert.equal(await error({ candidates: {} }), 'candidates must not be empty (columnar: no feature columns)');
    assert.equal(await error({ candidates: { item: [], x: [] } }), 'candidates must not be empty');
    assert.equal(
      await error({ candidates: { item: Array(7).fill('i1'), x: Array(7).fill(1) } }),
      'too many candidates: 7 (the limit is 6)',
    );
    assert.equal(
      await error({ candidates: 'i1' }),
      'candidates must be an array of objects, or an object of equal-length arrays (one per feature)',
    );
  });

  test('strings over the length limit are refused in either shape, naming the cell and its length', async () => {
    const long = 'a'.repeat(1025);
    const message = 'string(s) longer than the limit of 1024 characters: candidates[1].item (1025 characters)';
    assert.equal(
      await error({
        candidates: [
          { item: 'i1', x: 1 },
          { item: long, x: 1 },
        ],
      }),
      message,
    );
    assert.equal(await error({ candidates: { item: ['i1', long], x: [1, 1] } }), message);
    assert.equal(
      await error({ context: { user: long }, candidates: { item: ['i1'], x: [1] } }),
      'string(s) longer than the limit of 1024 characters: context.user (1025 characters)',
    );
    assert.equal(
      await error({ candidates: { item: ['i1'], x: [1], tags: [['t', long]] } }),
      'string(s) longer than the limit of 1024 characters: candidates[0].tags (1025 characters)',
    );
  });

  test('a deployment with fixed context features refuses them as a column, as it does per row', async () => {
    const s = await Scorer.load(model, { backend: 'js', cache: false, contextFeatures: ['user'] });
    await assert.rejects(
      s.score({ candidates: { ...toColumns(ROWS), user: ['u', 'u', 'u', 'u', 'u'] } }),
      /candidates\[0\]\.user: user is a context feature in this deployment; give it once in context/,
    );
    s.dispose();
  });
});

describe('rank', () => {
  const naive = (p: Float32Array, k?: number) =>
    [...p]
      .map((score, index) => ({ index, score }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .slice(0, k ?? p.length);
  test('the heap selection (small K) and the full sort agree with a plain sort, ties by index', () => {
    let seed = 5;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    // Few distinct values, so ties are everywhere.
    const p = Float32Array.from({ length: 1000 }, () => Math.round(next() * 40) / 40);
    for (const k of [1, 3, 10, 100, 124, 125, 126, 999, 1000, 5000, undefined]) assert.deepEqual(rank(p, k), naive(p, k), `K = ${k}`);
  });
  test('the full sort orders any float32: negatives, ±0 as one value, infinities, subnormals', () => {
    const p = Float32Array.from([0.5, -0, 0, -1, 1e-45, -1e-45, Infinity, -Infinity, 0.5, 3.4e38, -3.4e38, 0, 1]);
    for (const k of [undefined, p.length, 2]) assert.deepEqual(rank(p, k), naive(p, k), `K = ${k}`);
  });
});
