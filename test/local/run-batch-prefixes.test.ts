/**
 * `wdp score-batch` locally runs only the Map's item processor, not the deployed state machine's
 * CheckPrefixes (which keeps inputs under batch/input/ and outputs under batch/output/), so it
 * must itself refuse an output prefix that overlaps the input prefix: each scores file is written
 * to the input's relative key under the output prefix, so equal prefixes replaced every input
 * file with its scores.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runLocalBatchScoring } from '../../local/run-batch.ts';
import { WorkflowError } from '../../src/workflow/errors.ts';

let bucket: string;
before(async () => {
  bucket = await mkdtemp(join(tmpdir(), 'wdp-batch-prefixes-'));
  await mkdir(join(bucket, 'batch/input/d1'), { recursive: true });
  await writeFile(join(bucket, 'batch/input/d1/part-0.parquet'), 'the logs');
});
after(() => rm(bucket, { recursive: true, force: true }));

test('a local batch run refuses an output prefix that overlaps its input prefix, before scoring or writing anything', async () => {
  let scored = 0;
  const run = (inputPrefix: string, outputPrefix: string) =>
    runLocalBatchScoring({
      bucketUri: bucket,
      inputPrefix,
      outputPrefix,
      modelUri: join(bucket, 'model'),
      scoreObject: async () => {
        scored++;
        return { rows: 0 };
      },
    });
  for (const [input, output] of [
    ['batch/input/d1/', 'batch/input/d1/'],
    ['batch/input/d1', 'batch/input/d1/'],
    ['batch/input/d1/', 'batch/input/d1/scored/'],
    ['batch/', 'batch/output/d1/'],
    ['batch/input/d', 'batch/input/d1-scored/'],
    ['batch/./input/d1/', 'batch/input//d1/'],
  ]) {
    await assert.rejects(
      run(input!, output!),
      (e: unknown) =>
        e instanceof WorkflowError &&
        e.message.includes(`output prefix ${output} overlaps the input prefix ${input}`) &&
        /the scores would be written over or among the objects being scored/.test(e.message),
      `${input} → ${output}`,
    );
  }
  // The workflow's own areas: a champion's folder, the state, the models' parent.
  for (const [output, area] of [
    ['models/registry/v1/', 'models/registry/'],
    ['state/', 'state/'],
    ['models/', 'models/candidates/'],
  ]) {
    await assert.rejects(
      run('batch/input/d1/', output!),
      (e: unknown) => e instanceof WorkflowError && e.message.includes(`output prefix ${output} overlaps the workflow's ${area}`),
      output,
    );
  }
  assert.equal(scored, 0);
  assert.deepEqual(await readdir(bucket), ['batch']);
  assert.deepEqual(await readdir(join(bucket, 'batch/input/d1')), ['part-0.parquet']);
  assert.equal(await readFile(join(bucket, 'batch/input/d1/part-0.parquet'), 'utf8'), 'the logs');
  assert.deepEqual(await readdir(join(bucket, 'batch')), ['input']);
  // Prefixes that only share a beginning short of the input prefix are separate.
  const r = await run('batch/input/d1/', 'batch/input/d1-scored/');
  assert.equal(r.status, 'succeeded', r.error);
  assert.equal(scored, 1);
});
