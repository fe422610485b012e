/**
 * The scoring Lambda's cold-start champion check against what Promote really leaves on a folder
 * bucket: the registry records bucket-relative keys (`models/registry/v1`) while Promote pins the
 * function to the model's full URI. ChampionMismatch pages an operator (an alarm on Sum ≥ 1), so it
 * must count only a real disagreement.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { type ChampionMismatch, readConfig, reportChampionMismatch, resolveModel } from '../../lambdas/score.ts';
import { layout } from '../../src/workflow/bucket/layout.ts';
import { promoteRun } from '../../src/workflow/steps/promote.ts';
import { LambdaServingTarget } from '../../src/workflow/steps/serving-target.ts';
import { fakeScoringLambda } from '../helpers/fake-scoring-lambda.ts';
import { TINY_CONFIG } from '../helpers/tiny-data.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';
import { stageValidatedRun } from '../helpers/workflow-fixture.ts';

let dir: string;
let bucket: string;
/** The environment of the version alias `live` names once Promote moved it. */
let liveEnv: Record<string, string>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-score-champion-'));
  bucket = join(dir, 'bucket');
  const l = layout(bucket);
  const candidateUri = l.candidate('run-1');
  await saveTinyModel(join(candidateUri, '..'), 'run-1', { modelId: 'run-1' });
  const manifestUri = await stageValidatedRun(bucket, { runId: 'run-1', candidateUri, config: { ...TINY_CONFIG } });
  const lambda = mockClient(LambdaClient);
  try {
    // As `cdk deploy` leaves it: no pinned model, the registry named.
    const fn = fakeScoringLambda(lambda, { WDP_MODEL_URI: '', WDP_REGISTRY_URI: l.registry, WDP_SCORING_BACKEND: 'js' });
    const client = new LambdaClient({ region: 'us-east-1' });
    await promoteRun({ manifestUri, serving: new LambdaServingTarget({ functionName: 'wdp-score', client, pollIntervalMs: 1 }) });
    liveEnv = fn.versions.get(fn.live)!;
  } finally {
    lambda.restore();
  }
});
after(() => rm(dir, { recursive: true, force: true }));

/** The cold start's check (lambdas/score.ts start()), with the ChampionMismatch metrics and error logs recorded. */
async function coldStart(env: Record<string, string>) {
  const metrics: unknown[][] = [];
  const errors: unknown[][] = [];
  const mismatches: ChampionMismatch[] = [];
  const resolved = await resolveModel(readConfig(env), (m) => {
    mismatches.push(m);
    reportChampionMismatch(
      m,
      { error: (...a: unknown[]) => errors.push(a) } as never,
      { addMetric: (...a: unknown[]) => metrics.push(a), publishStoredMetrics: () => {} } as never,
    );
  });
  return { resolved, metrics, errors, mismatches };
}

test('Promote on a folder bucket: the registry records a key, the function is pinned to the full path of the same model', async () => {
  const l = layout(bucket);
  const stored = JSON.parse(await readFile(l.registry, 'utf8')) as { champion: unknown; keys: string };
  assert.deepEqual(stored.champion, { version: 1, uri: 'models/registry/v1', modelId: 'run-1' });
  assert.equal(stored.keys, 'bucket-relative');
  assert.equal(liveEnv['WDP_MODEL_URI'], join(bucket, 'models/registry/v1'));
  assert.equal(liveEnv['WDP_MODEL_VERSION'], 'v1');
  assert.equal(liveEnv['WDP_MODEL_ID'], 'run-1');
});

test('cold start pinned to the champion Promote published: no ChampionMismatch metric, no error log', async () => {
  const { resolved, metrics, errors, mismatches } = await coldStart(liveEnv);
  assert.deepEqual(mismatches, []);
  assert.deepEqual(metrics, []);
  assert.deepEqual(errors, []);
  assert.equal(resolved.uri, join(bucket, 'models/registry/v1'));
  assert.deepEqual(resolved.expected, { version: 'v1', modelId: 'run-1', source: 'WDP_MODEL_VERSION=v1 with WDP_MODEL_ID' });
  // The same folder spelled with a trailing slash (set by hand) is the champion too.
  assert.deepEqual((await coldStart({ ...liveEnv, WDP_MODEL_URI: `${liveEnv['WDP_MODEL_URI']}/` })).metrics, []);
});

test('cold start pinned to another model than the champion: exactly one ChampionMismatch, naming both full paths', async () => {
  const other = await saveTinyModel(dir, 'other');
  const { resolved, metrics, mismatches } = await coldStart({ ...liveEnv, WDP_MODEL_URI: other });
  assert.equal(resolved.uri, other, 'the pinned model still serves');
  assert.deepEqual(metrics, [['ChampionMismatch', 'Count', 1]]);
  const champion = join(bucket, 'models/registry/v1');
  assert.deepEqual(mismatches, [
    { servedUri: other, championUri: champion, problem: `WDP_MODEL_URI is ${other} but the registry's champion is ${champion}` },
  ]);
});

test('cold start with WDP_MODEL_URI empty serves the champion at its full path, not the key the registry records', async () => {
  const { resolved, metrics } = await coldStart({ ...liveEnv, WDP_MODEL_URI: '' });
  assert.equal(resolved.uri, join(bucket, 'models/registry/v1'));
  assert.deepEqual(resolved.expected, { version: 'v1', modelId: 'run-1', source: `the registry ${layout(bucket).registry}` });
  assert.deepEqual(metrics, []);
});
