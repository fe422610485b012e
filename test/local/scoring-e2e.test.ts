/**
 * Serving the model a local run promoted, with callers that keep moving different features into
 * `context`: the plan cache stays at its cap (least recently used out), every request is answered,
 * and `wdp invoke`'s path serves the same model. (Finding 4 of the trust issue, end to end.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { invokeLocalChampion } from '../../local/invoke.ts';
import { runLocalPipeline } from '../../local/run-retraining.ts';
import { listLogFiles } from '../../src/data/logs.ts';
import { readStoredModel } from '../../src/model/stored-model.ts';
import { Scorer } from '../../src/scoring/index.ts';
import { Rng } from '../../src/util/random.ts';
import { layout } from '../../src/workflow/bucket/layout.ts';
import { holdoutRecords } from '../../src/workflow/steps/serving-dry-run.ts';
import { readServingPointer } from '../../src/workflow/steps/serving-target.ts';
import { addDays, TEST_THRESHOLDS, writeConfig } from '../helpers/workflow-fixture.ts';

const dirs: string[] = [];
after(async () => {
  Scorer.clearCache();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

test('the promoted champion serves 40 distinct context subsets with at most 4 plans alive', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wdp-e2e-serve-'));
  dirs.push(dir);
  await writeConfig(dir);
  await addDays(dir, 3);
  const run = await runLocalPipeline({ bucketUri: dir, thresholds: TEST_THRESHOLDS, progress: false });
  assert.equal(run.status, 'promoted', JSON.stringify(run.error ?? run.validation));

  const l = layout(dir);
  const live = (await readServingPointer(l))?.value;
  assert.ok(live);
  const { transforms } = await readStoredModel(live.modelUri);
  const files = await listLogFiles([l.logs]);
  const candidates = await holdoutRecords(transforms, [files[files.length - 1]!.uri], 8);
  const features = Object.keys(candidates[0]!);
  assert.ok(features.length >= 6, `features: ${features.join(', ')}`);

  // 40 distinct non-empty subsets of the features, each moved from the candidates into the context.
  const rng = new Rng(11);
  const subsets = new Map<string, string[]>();
  while (subsets.size < 40) {
    const s = features.filter(() => rng.next() < 0.4);
    if (s.length > 0 && s.length < features.length) subsets.set(s.join(','), s);
  }
  const scorer = await Scorer.load(live.modelUri, { planCacheSize: 4 });
  const before = scorer.planCacheStats();
  for (const subset of subsets.values()) {
    const context = Object.fromEntries(subset.map((f) => [f, candidates[0]![f]]));
    const request = {
      context,
      candidates: candidates.map((c) => Object.fromEntries(Object.entries(c).filter(([f]) => !subset.includes(f)))),
    };
    const response = await scorer.score(request);
    assert.equal(response.scores.length, candidates.length);
    for (const p of response.scores) assert.ok(p > 0 && p < 1);
  }
  const stats = scorer.planCacheStats();
  assert.ok(stats.size <= 4, `plans alive: ${stats.size}`);
  assert.ok(stats.evictions - before.evictions >= 36, `evictions: ${stats.evictions - before.evictions}`);

  const viaInvoke = (await invokeLocalChampion({ bucketUri: dir, request: { context: {}, candidates } })) as {
    servedVersion: string;
    scores: number[];
  };
  assert.equal(viaInvoke.servedVersion, `v${live.version}`);
  assert.equal(viaInvoke.scores.length, candidates.length);
});
