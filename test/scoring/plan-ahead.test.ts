/**
 * A deployment with fixed context features builds its one online plan (the tower's ONNX session)
 * from the tower read ahead of the checked weights file, during the load, and keeps it only when
 * those bytes are identical to the checked file's tower.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { readModelFiles, readServingTowerUnchecked, sameTowerBytes, SERVING_FILE } from '../../src/model/artifact.ts';
import { ModelLoadError } from '../../src/model/errors.ts';
import { readManifest } from '../../src/model/manifest.ts';
import { clearPrefetched, PREFETCH_READ_MARK, prefetchServingWeights } from '../../src/model/prefetch.ts';
import { Scorer } from '../../src/scoring/scorer.ts';
import { tinyModelScratch } from '../helpers/tiny-model.ts';

const scratch = tinyModelScratch('wdp-plan-ahead-');
afterEach(() => clearPrefetched());

const CONTEXT = ['user', 'x'];
const REQUEST = {
  context: { user: 'u1', x: 0.3 },
  candidates: [
    { item: 'i1', tags: ['t3'] },
    { item: 'i2', tags: ['t1'] },
  ],
};

/** Flips one byte inside tensor `name` of the serving file, in place. */
async function flipInTensor(folder: string, name: string): Promise<void> {
  const file = join(folder, SERVING_FILE);
  const bytes = await readFile(file);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
  const i = 8 + headerLen + header[name]!.data_offsets[0] + 1;
  bytes[i] = bytes[i]! ^ 0xff;
  await writeFile(file, bytes);
}

async function expectedScores(): Promise<number[]> {
  const s = await Scorer.load(scratch.good, { cache: false });
  try {
    return (await s.score(REQUEST)).scores;
  } finally {
    s.dispose();
  }
}

describe('the plan built ahead of the checked weights', () => {
  test('the unchecked tower read by range is the checked tower, byte for byte', async () => {
    const manifest = await readManifest(scratch.good);
    const ahead = await readServingTowerUnchecked(scratch.good, manifest);
    const { state } = await readModelFiles(scratch.good, { weightsOnly: true });
    assert.ok(ahead && state.tower);
    assert.deepEqual(Object.keys(ahead.tensors).sort(), Object.keys(state.tower.tensors).sort());
    assert.ok(sameTowerBytes(ahead, state.tower));
    const changed = { ...ahead, tensors: { ...ahead.tensors, b0: ahead.tensors['b0']!.map((v, i) => (i === 0 ? v + 1 : v)) } };
    assert.equal(sameTowerBytes(changed, state.tower), false);
  });

  test('with fixed context features the load brings the plan, and the first request uses it', async () => {
    const scorer = await Scorer.load(scratch.good, { cache: false, contextFeatures: CONTEXT });
    try {
      assert.deepEqual(scorer.planCacheStats(), { hits: 0, misses: 0, evictions: 0, size: 1, capacity: 16 });
      const res = await scorer.score(REQUEST);
      assert.equal(scorer.planCacheStats().hits, 1);
      assert.equal(scorer.planCacheStats().misses, 0);
      assert.deepEqual(res.scores, await expectedScores());
    } finally {
      scorer.dispose();
    }
  });

  test('a tower read ahead that differs from the checked file is thrown away; the request builds its plan from the checked weights', async () => {
    const m = await scratch.copyOf(scratch.good);
    // The prefetch holds the scratch.good bytes (checked later); the file then changes in place under
    // the tower, so the read ahead sees other weights than the ones that pass the check.
    prefetchServingWeights(m);
    while (performance.getEntriesByName(PREFETCH_READ_MARK).every((e) => (e as { detail?: unknown }).detail !== join(m, SERVING_FILE)))
      await new Promise((r) => setTimeout(r, 5));
    await flipInTensor(m, 'W0');
    const scorer = await Scorer.load(m, { cache: false, contextFeatures: CONTEXT });
    try {
      assert.equal(scorer.planCacheStats().size, 0);
      assert.deepEqual((await scorer.score(REQUEST)).scores, await expectedScores());
      assert.equal(scorer.planCacheStats().misses, 1);
    } finally {
      scorer.dispose();
    }
  });

  test('a corrupted tower fails the load naming the file, as without the read ahead', async () => {
    const m = await scratch.copyOf(scratch.good);
    await flipInTensor(m, 'W1');
    await assert.rejects(
      Scorer.load(m, { cache: false, contextFeatures: CONTEXT }),
      (e: unknown) => e instanceof ModelLoadError && /serving\.safetensors is corrupted/.test(e.message),
    );
  });
});
