/** The batch-scoring item processor: which model it scores with, and that it is the one named. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { layout } from '../../../src/workflow/bucket/layout.ts';
import { writeRegistry } from '../../../src/workflow/bucket/state.ts';
import { scoreBatch, type ScoreObjectFn } from '../../../src/workflow/steps/batch-score.ts';

let bucket: string;
before(async () => {
  bucket = await mkdtemp(join(tmpdir(), 'wdp-batch-score-'));
  const l = layout(bucket);
  await writeRegistry(
    l,
    { formatVersion: 1, champion: { version: 2, uri: l.registryModel(2), modelId: 'the-v2-model' }, history: [] },
    undefined,
  );
});
after(() => rm(bucket, { recursive: true, force: true }));

const event = (modelUri?: string) => ({
  Items: [{ Key: 'batch/input/d/part-0.parquet' }],
  BatchInput: { bucketUri: bucket, inputPrefix: 'batch/input/d/', outputPrefix: 'batch/output/d/', ...(modelUri ? { modelUri } : {}) },
});

test('scoring with the champion names the model id the registry gives it, so a folder holding another model is refused (as serving refuses it)', async () => {
  const calls: Parameters<ScoreObjectFn>[0][] = [];
  const scoreObject: ScoreObjectFn = async (args) => {
    calls.push(args);
    return { rows: 1 };
  };
  await scoreBatch(event(), { scoreObject });
  assert.equal(calls[0]?.modelUri, layout(bucket).registryModel(2));
  assert.deepEqual(calls[0]?.expectedModel, { version: 'v2', modelId: 'the-v2-model', source: `the registry ${layout(bucket).registry}` });
  // A model given by URI is the caller's choice: no id to check it against.
  await scoreBatch(event(join(bucket, 'elsewhere')), { scoreObject });
  assert.equal(calls[1]?.expectedModel, undefined);
});
