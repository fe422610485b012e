/**
 * `wdp score-batch` locally holds its output prefix's writer lock for the whole run: a second run
 * to the same prefix fails before scoring anything, naming the first (two runs used to take turns
 * file by file, each scores file and the report from either, both reporting success).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runLocalBatchScoring } from '../../local/run-batch.ts';
import { OutputLockedError } from '../../src/storage/errors.ts';
import { lockOutput } from '../../src/storage/output-lock.ts';

let bucket: string;
before(async () => {
  bucket = await mkdtemp(join(tmpdir(), 'wdp-batch-lock-'));
});
after(() => rm(bucket, { recursive: true, force: true }));

test('a second local batch run to one output prefix fails at once naming the first, and scores nothing', async () => {
  const held = await lockOutput(join(bucket, 'batch/output/d1/'), 'this batch output prefix');
  let scored = 0;
  try {
    await assert.rejects(
      runLocalBatchScoring({
        bucketUri: bucket,
        inputPrefix: 'batch/input/d1/',
        outputPrefix: 'batch/output/d1/',
        modelUri: join(bucket, 'model'),
        scoreObject: async () => {
          scored++;
          return { rows: 0 };
        },
      }),
      (e: unknown) =>
        e instanceof OutputLockedError &&
        new RegExp(`this batch output prefix is being written by another wdp process \\(pid ${process.pid} on `).test(e.message),
    );
  } finally {
    await held?.release();
  }
  assert.equal(scored, 0);
  // Nothing written: batch/output, made for the held lock and empty, went with it (output-lock.ts).
  assert.deepEqual(await readdir(join(bucket, 'batch/output')).catch(() => []), []);
});

test("the previous run's report stops vouching for the prefix before a scores file is replaced, so a run that fails midway leaves the in-progress page", async () => {
  await mkdir(join(bucket, 'batch/input/d2'), { recursive: true });
  await mkdir(join(bucket, 'batch/output/d2'), { recursive: true });
  for (const f of ['part-0.parquet', 'part-1.parquet']) await writeFile(join(bucket, 'batch/input/d2', f), 'x');
  for (const f of ['part-0.parquet', 'part-1.parquet', '_report.html']) await writeFile(join(bucket, 'batch/output/d2', f), 'run 1');
  const seen: string[] = [];
  const r = await runLocalBatchScoring({
    bucketUri: bucket,
    inputPrefix: 'batch/input/d2/',
    outputPrefix: 'batch/output/d2/',
    modelUri: join(bucket, 'model'),
    scoreObject: async ({ output }) => {
      // What the report says when this batch replaces its first scores file.
      seen.push(await readFile(join(bucket, 'batch/output/d2/_report.html'), 'utf8'));
      if (output.endsWith('part-1.parquet')) throw new Error('killed');
      await writeFile(output, 'run 2');
      return { rows: 1 };
    },
  });
  assert.equal(r.status, 'failed');
  assert.deepEqual((await readdir(join(bucket, 'batch/output/d2'))).sort(), ['_report.html', 'part-0.parquet', 'part-1.parquet']);
  assert.ok(seen.length > 0);
  for (const report of [...seen, await readFile(join(bucket, 'batch/output/d2/_report.html'), 'utf8')]) {
    assert.doesNotMatch(report, /run 1/);
    assert.match(report, /being rewritten: no finished run vouches for these files/);
    assert.match(report, /from <code>batch\/input\/d2\/<\/code> started replacing the scores/);
  }
});
