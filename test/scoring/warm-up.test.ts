import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Scorer, WARM_UP_MAX_CANDIDATES, WARM_UP_REQUESTS } from '../../src/scoring/scorer.ts';
import { asColumnar, warmUpRequest } from '../../src/scoring/warm-up.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';

let dir: string;
let uri: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-warm-up-'));
  // user, item: categoricals; tags: a list; x: numeric.
  uri = await saveTinyModel(dir, 'm');
});
after(async () => {
  Scorer.clearCache();
  await rm(dir, { recursive: true, force: true });
});

test('the made-up request holds a valid value of every feature: vocabulary tokens, lists, numerics in the fitted range, distinct hashed strings', async () => {
  const scorer = await Scorer.load(uri, { backend: 'js', cache: false });
  try {
    const state = scorer.transforms.toState();
    const req = warmUpRequest(state, new Set(['user']), 50);
    assert.deepEqual(Object.keys(req.context), ['user']);
    assert.equal(req.candidates.length, 50);
    const item = state.features['item'];
    const tags = state.features['tags'];
    const x = state.features['x'];
    assert.ok(item?.kind === 'categorical' && tags?.kind === 'categorical_list' && x?.kind === 'numeric');
    const items = new Set(req.candidates.map((c) => c['item'] as string));
    for (const t of items) assert.ok(item.tokens!.includes(t), `item ${t} is in the vocabulary`);
    assert.ok(items.size > 1, 'candidates spread over the vocabulary');
    for (const c of req.candidates) {
      const list = c['tags'] as string[];
      assert.ok(list.length >= 1 && list.length <= 2 && list.every((t) => typeof t === 'string' && (tags.tokens?.includes(t) ?? true)));
      const v = c['x'] as number;
      assert.ok(v >= x.quantileCuts[0]! && v <= x.quantileCuts.at(-1)!, `x ${v} within the fitted cuts`);
      assert.equal(c['user'], undefined, 'a context feature is not repeated on the candidates');
    }
    // No context: every feature rides on the candidates.
    const bare = warmUpRequest(state, undefined, 20);
    assert.deepEqual(bare.context, {});
    assert.deepEqual(Object.keys(bare.candidates[0]!).sort(), Object.keys(state.features).sort());
    // A vocabulary token longer than requests may send (a URL, a user agent) is not used.
    const long = 'u'.repeat(40);
    const capped = warmUpRequest({ ...state, features: { v: { kind: 'categorical', tokens: [long] } } }, undefined, 3, 32);
    for (const c of capped.candidates) assert.ok((c['v'] as string).length <= 32);
    assert.equal(
      warmUpRequest({ ...state, features: { v: { kind: 'categorical', tokens: [long] } } }, undefined, 1).candidates[0]!['v'],
      long,
    );
    // A hashed feature (no vocabulary) gets distinct strings, so gathers spread over its table.
    const hashed = warmUpRequest({ ...state, features: { h: { kind: 'categorical', hashBuckets: 64 } } }, undefined, 20);
    assert.equal(new Set(hashed.candidates.map((c) => c['h'])).size, 20);
    // Both shapes pass the request path's own validation and score every candidate.
    assert.equal((await scorer.score(req)).scores.length, 50);
    assert.equal((await scorer.score(asColumnar(bare))).scores.length, 20);
  } finally {
    scorer.dispose();
  }
});

test('warmUp with fixed context features builds the one plan real requests use: they only hit it afterwards', async () => {
  const scorer = await Scorer.load(uri, { backend: 'onnx', cache: false, contextFeatures: ['user'], maxCandidates: 30 });
  try {
    const before = scorer.planCacheStats();
    const w = await scorer.warmUp();
    assert.equal(w.requests, WARM_UP_REQUESTS);
    assert.ok(w.ms > 0);
    const warmed = scorer.planCacheStats();
    assert.equal(warmed.size, 1);
    assert.equal(warmed.misses - before.misses + warmed.hits - before.hits, WARM_UP_REQUESTS, 'one plan lookup per made-up request');
    const res = await scorer.score({ context: { user: 'u1' }, candidates: [{ item: 'i1', tags: ['a'], x: 0.3 }] });
    assert.equal(res.scores.length, 1);
    const after = scorer.planCacheStats();
    assert.equal(after.misses, warmed.misses, 'the real request built no plan');
    assert.equal(after.hits, warmed.hits + 1);
  } finally {
    scorer.dispose();
  }
});

test('warmUp stops after the request that passes its time budget', async () => {
  const scorer = await Scorer.load(uri, { backend: 'js', cache: false, maxCandidates: 10 });
  try {
    assert.deepEqual((await scorer.warmUp({ budgetMs: 0 })).requests, 1);
    assert.deepEqual((await scorer.warmUp({ requests: 3 })).requests, 3);
  } finally {
    scorer.dispose();
  }
});

test('warmUp with a huge maxCandidates scores requests of at most WARM_UP_MAX_CANDIDATES, within its budget', async () => {
  // `wdp serve --max-candidates 20000000 --warm-up` built its first made-up request of 20 million
  // candidates: still warming up after 60 s, at 2.4 GB, never serving (the budget is checked
  // only between requests). No request body (6 MiB) can carry that many anyway.
  const scorer = await Scorer.load(uri, { backend: 'js', cache: false, maxCandidates: 20_000_000 });
  try {
    const started = performance.now();
    const w = await scorer.warmUp({ requests: 1 });
    assert.equal(w.requests, 1);
    assert.equal(w.candidates, WARM_UP_MAX_CANDIDATES);
    assert.ok(performance.now() - started < 20_000, `${performance.now() - started} ms`);
  } finally {
    scorer.dispose();
  }
  const small = await Scorer.load(uri, { backend: 'js', cache: false, maxCandidates: 10 });
  try {
    assert.equal((await small.warmUp({ requests: 1 })).candidates, 10);
  } finally {
    small.dispose();
  }
});

test('warmUp when every feature is context: the candidates are empty objects, and it scores them (rows only)', async () => {
  const scorer = await Scorer.load(uri, {
    backend: 'onnx',
    cache: false,
    contextFeatures: ['user', 'item', 'tags', 'x'],
    maxCandidates: 5,
  });
  try {
    assert.equal((await scorer.warmUp()).requests, WARM_UP_REQUESTS);
  } finally {
    scorer.dispose();
  }
});
