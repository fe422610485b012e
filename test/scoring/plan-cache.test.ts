/**
 * Finding 4 of issue 9: every distinct set of context features built a plan with its own ONNX
 * session and kept it forever. These tests move a different subset of features into `context`
 * on each request and count the sessions that stay open.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, mock, test } from 'node:test';
import { OnnxSplitTower } from '../../src/scoring/onnx-split-tower.ts';
import { Scorer } from '../../src/scoring/scorer.ts';
import { tinyChunk } from '../helpers/tiny-data.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';

let dir: string;
let uri: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-plan-cache-'));
  uri = await saveTinyModel(dir, 'm');
});
after(async () => {
  Scorer.clearCache();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => mock.restoreAll());

const FEATURES = ['user', 'item', 'tags', 'x'] as const;
const rows = tinyChunk({ rows: 8, seed: 5 });
const cell = (f: string, i: number): unknown => {
  const v = (rows.columns.get(f) as ArrayLike<unknown>)[i];
  return f === 'x' ? Number(v) : v;
};

/** A request with the features of `mask` (bit k = FEATURES[k]) in the context, the rest per candidate. */
function request(mask: number, n = 4) {
  const ctx = FEATURES.filter((_, k) => mask & (1 << k));
  return {
    context: Object.fromEntries(ctx.map((f) => [f, cell(f, 0)])),
    candidates: Array.from({ length: n }, (_, i) =>
      Object.fromEntries(FEATURES.filter((f) => !ctx.includes(f)).map((f) => [f, cell(f, i)])),
    ),
  };
}

/** Counts ONNX split-tower sessions opened and released. */
function countSessions() {
  const counts = { opened: 0, released: 0 };
  const create = OnnxSplitTower.create.bind(OnnxSplitTower);
  mock.method(OnnxSplitTower, 'create', async (...args: Parameters<typeof OnnxSplitTower.create>) => {
    const t = await create(...args);
    counts.opened++;
    const dispose = t.dispose.bind(t);
    t.dispose = () => {
      counts.released++;
      dispose();
    };
    return t;
  });
  return counts;
}

test('16 distinct context subsets keep at most planCacheSize sessions open; the evicted ones are released', async () => {
  const counts = countSessions();
  const scorer = await Scorer.load(uri, { backend: 'onnx', cache: false, planCacheSize: 4 });
  const reference = new Map<number, number[]>();
  for (let mask = 0; mask < 16; mask++) reference.set(mask, (await scorer.score(request(mask))).scores);
  // The all-context request needs no session (one tower row serves every candidate: plain JS).
  assert.equal(counts.opened, 15);
  assert.equal(counts.opened - counts.released, 4 - 1, 'the open sessions are the cached plans that have a session');
  const stats = scorer.planCacheStats();
  assert.deepEqual(stats, { hits: 0, misses: 16, evictions: 12, size: 4, capacity: 4 });
  // Evicted subsets come back (rebuilt) with the same scores; cached ones are hits.
  for (const mask of [0, 15, 14]) assert.deepEqual((await scorer.score(request(mask))).scores, reference.get(mask));
  assert.deepEqual(scorer.planCacheStats(), { hits: 2, misses: 17, evictions: 13, size: 4, capacity: 4 });
  scorer.dispose();
  assert.equal(counts.opened, counts.released, 'dispose releases every session');
});

test('the default cap holds without any option', async () => {
  const counts = countSessions();
  const scorer = await Scorer.load(uri, { backend: 'onnx', cache: false });
  for (let mask = 0; mask < 16; mask++) await scorer.score(request(mask));
  const { capacity, size } = scorer.planCacheStats();
  assert.ok(capacity >= 1 && size <= capacity);
  assert.ok(counts.opened - counts.released <= capacity);
  scorer.dispose();
});

test('a plan evicted while a request is scoring with it is released only when that request ends', async () => {
  const counts = countSessions();
  const scorer = await Scorer.load(uri, { backend: 'onnx', cache: false, planCacheSize: 1 });
  // Many concurrent requests over several subsets: every one must score (no use of a released session).
  const results = await Promise.all(Array.from({ length: 24 }, (_, i) => scorer.score(request(i % 6))));
  for (const r of results) assert.equal(r.scores.length, 4);
  const again = await Promise.all([1, 2, 3].map((m) => scorer.score(request(m))));
  assert.deepEqual(
    again.map((r) => r.scores),
    [1, 2, 3].map((m) => results[m]!.scores),
  );
  assert.ok(counts.opened - counts.released <= 1);
  scorer.dispose();
  assert.equal(counts.opened, counts.released);
});

test('contextFeatures fixes the context set: one plan for every request, others refused by name', async () => {
  const counts = countSessions();
  const scorer = await Scorer.load(uri, { backend: 'onnx', cache: false, contextFeatures: ['user', 'x'] });
  const free = await Scorer.load(uri, { backend: 'onnx', cache: false });
  // {user, x}, {user} and {} in context all use the one {user, x} plan; absent ones are missing values.
  const full = await scorer.score(request(0b1001));
  assert.deepEqual(full.scores, (await free.score(request(0b1001))).scores);
  const userOnly = { context: { user: cell('user', 0) }, candidates: [{ item: 'i1', tags: ['t1'] }] };
  await assert.rejects(scorer.score(userOnly), /missing value for numeric feature\(s\) without a default: context\.x/);
  const noUser = { context: { x: 0.5 }, candidates: [{ item: 'i1' }, { item: 'i2', tags: 't3' }] };
  const withNullUser = { context: { x: 0.5, user: null }, candidates: noUser.candidates };
  assert.deepEqual((await scorer.score(noUser)).scores, (await free.score(noUser)).scores, 'absent = missing, as without the option');
  assert.deepEqual((await scorer.score(withNullUser)).scores, (await free.score(noUser)).scores);
  // The one plan was built during the load (Scorer's plan ahead), so every request is a hit.
  assert.deepEqual(scorer.planCacheStats(), { hits: 3, misses: 0, evictions: 0, size: 1, capacity: 16 });

  await assert.rejects(
    scorer.score(request(0b0011)),
    (e: Error) => e.message === 'context feature(s) not accepted by this deployment: context.item (context may hold user, x)',
  );
  await assert.rejects(
    scorer.score({ context: { [`z${'y'.repeat(100)}`]: 1 }, candidates: [{ item: 'i1', x: 1 }] }),
    /context\.zy{63}…\(101 chars\) \(context may hold user, x\)$/,
  );
  await assert.rejects(
    scorer.score({ context: { user: 'u1' }, candidates: [{ item: 'i1', x: 1 }] }),
    (e: Error) => e.message === 'candidates[0].x: x is a context feature in this deployment; give it once in context',
  );
  await assert.rejects(
    Scorer.load(uri, { backend: 'onnx', cache: false, contextFeatures: ['user', 'colour'] }),
    /contextFeatures names what is not a feature of model m-m: colour/,
  );
  assert.equal(scorer.planCacheStats().size, 1);
  scorer.dispose();
  free.dispose();
  assert.equal(counts.opened, counts.released);
});
