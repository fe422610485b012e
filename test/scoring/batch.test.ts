/** Batch scoring of one Parquet file (what lambdas/score-batch.ts runs per object, and `wdp score`). */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { listLogFiles, readLogChunks } from '../../src/data/logs.ts';
import { writeParquet } from '../helpers/parquet-write.ts';
import { scoreParquet } from '../../src/scoring/batch.ts';
import { ScoringError, ServedModelMismatchError } from '../../src/scoring/errors.ts';
import { Scorer } from '../../src/scoring/scorer.ts';
import { tinyChunk } from '../helpers/tiny-data.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';

let dir: string;
let good: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-batch-'));
  good = await saveTinyModel(dir, 'good', { overrides: { data: { idColumns: ['rid'] } } });
});
after(async () => {
  Scorer.clearCache();
  await rm(dir, { recursive: true, force: true });
});

test('scoreParquet scores a Parquet file: id columns (64-bit exact), score and model_version', async () => {
  const chunk = tinyChunk({ rows: 300, seed: 4 });
  const input = join(dir, 'batch-in.parquet');
  const c = chunk.columns;
  await writeParquet(
    input,
    [
      { name: 'rid', type: 'INT64', data: Array.from({ length: 300 }, (_, i) => 9_007_199_254_740_993n + BigInt(i)) },
      { name: 'user', type: 'STRING', data: c.get('user') as string[] },
      { name: 'item', type: 'STRING', data: c.get('item') as string[] },
      { name: 'tags', type: 'STRING_LIST', data: c.get('tags') as string[][] },
      { name: 'x', type: 'DOUBLE', data: c.get('x') as Float64Array },
    ],
    { rowGroupSize: 128 },
  );
  const output = join(dir, 'batch-out.parquet');
  const r = await scoreParquet({ model: good, input, output, scorerOptions: { backend: 'js' } });
  assert.equal(r.rows, 300);
  assert.equal(r.modelVersion, 'm-good');
  const scorer = await Scorer.load(good, { backend: 'js' });
  const expected = (await scorer.scoreChunk(chunk)).scores;
  const files = await listLogFiles([output]);
  const got: { rid: string[]; score: number[]; mv: string[] } = { rid: [], score: [], mv: [] };
  for await (const ch of readLogChunks(files, {
    columns: [
      { name: 'rid', kind: 'string' },
      { name: 'score', kind: 'numeric' },
      { name: 'model_version', kind: 'string' },
    ],
  })) {
    got.rid.push(...(ch.columns.get('rid') as string[]));
    got.score.push(...(ch.columns.get('score') as Float64Array));
    got.mv.push(...(ch.columns.get('model_version') as string[]));
  }
  assert.equal(got.rid[0], '9007199254740993', '64-bit ids pass through exactly');
  assert.equal(got.rid[299], '9007199254741292');
  assert.deepEqual(new Set(got.mv), new Set(['m-good']));
  for (let i = 0; i < 300; i++) assert.ok(Math.abs(got.score[i]! - expected[i]!) < 1e-7, `row ${i}`);
});

/** A `rows`-row input file of the tiny model's features with a 64-bit id column, at `name` in `dir`. */
async function writeSmallInput(name: string, seed: number, rows = 20): Promise<string> {
  const c = tinyChunk({ rows, seed }).columns;
  const input = join(dir, name);
  await writeParquet(input, [
    { name: 'rid', type: 'INT64', data: Array.from({ length: rows }, (_, i) => BigInt(i)) },
    { name: 'user', type: 'STRING', data: c.get('user') as string[] },
    { name: 'item', type: 'STRING', data: c.get('item') as string[] },
    { name: 'tags', type: 'STRING_LIST', data: c.get('tags') as string[][] },
    { name: 'x', type: 'DOUBLE', data: c.get('x') as Float64Array },
  ]);
  return input;
}

test('scoreParquet creates the output folder when it does not exist yet, and leaves no temp file', async () => {
  const input = await writeSmallInput('small-in.parquet', 5);
  const output = join(dir, 'new', 'folder', 'scores.parquet');
  const r = await scoreParquet({ model: good, input, output, scorerOptions: { backend: 'js' } });
  assert.equal(r.rows, 20);
  assert.deepEqual(await readdir(join(dir, 'new', 'folder')), ['scores.parquet']);
});

test('scoreParquet with the model it was named as refuses a folder holding another model, and writes nothing', async () => {
  const input = await writeSmallInput('named-in.parquet', 6);
  const output = join(dir, 'named', 'scores.parquet');
  await assert.rejects(
    scoreParquet({
      model: good,
      input,
      output,
      scorerOptions: { backend: 'js' },
      expectedModel: { version: 'v2', modelId: 'the-v2-model', source: 'the registry' },
    }),
    (e: Error) =>
      e instanceof ServedModelMismatchError &&
      e.message.includes(`the registry says v2 is model the-v2-model, but ${good} holds model m-good`),
  );
  assert.deepEqual(await readdir(join(dir, 'named')).catch(() => []), []);
  const r = await scoreParquet({
    model: good,
    input,
    output,
    scorerOptions: { backend: 'js' },
    expectedModel: { version: 'v2', modelId: 'm-good', source: 'the registry' },
  });
  assert.equal(r.rows, 20);
});

test('scoreParquet names an input that is not Parquet, and one without the id column, as training does', async () => {
  const notParquet = join(dir, 'not-parquet.parquet');
  await writeFile(notParquet, 'user,item\nu1,i1\n');
  await assert.rejects(
    scoreParquet({ model: good, input: notParquet, output: join(dir, 'np-out.parquet') }),
    (e: Error) => e.message.includes('not-parquet.parquet') && /not a Parquet file/.test(e.message),
  );
  const noId = join(dir, 'no-id.parquet');
  const c = tinyChunk({ rows: 10, seed: 5 }).columns;
  await writeParquet(noId, [
    { name: 'user', type: 'STRING', data: c.get('user') as string[] },
    { name: 'item', type: 'STRING', data: c.get('item') as string[] },
    { name: 'tags', type: 'STRING_LIST', data: c.get('tags') as string[][] },
    { name: 'x', type: 'DOUBLE', data: c.get('x') as Float64Array },
  ]);
  await assert.rejects(
    scoreParquet({ model: good, input: noId, output: join(dir, 'no-id-out.parquet') }),
    (e: Error) => e.message.includes('no-id.parquet') && e.message.includes('rid') && /id column/.test(e.message),
  );
  assert.deepEqual(
    (await readdir(dir)).filter((f) => f.includes('np-out') || f.includes('no-id-out')),
    [],
  );
});

test('an unsigned 64-bit id column as pyarrow writes it (INT64, INTEGER unsigned) passes through exact, above 2^63 too', async () => {
  const { ParquetWriter, fileWriter } = await import('hyparquet-writer');
  const chunk = tinyChunk({ rows: 20, seed: 5 });
  const c = chunk.columns;
  const input = join(dir, 'uint64-ids.parquet');
  const rid = Array.from({ length: 20 }, (_, i) => 2n ** 64n - 1n - BigInt(i));
  const writer = new ParquetWriter({
    writer: fileWriter(input),
    schema: [
      { name: 'root', num_children: 6 },
      // No converted type: only the logical type says unsigned, as pyarrow may write it.
      { name: 'rid', type: 'INT64', logical_type: { type: 'INTEGER', bitWidth: 64, isSigned: false }, repetition_type: 'REQUIRED' },
      { name: 'user', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'item', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'tags', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'x', type: 'DOUBLE', repetition_type: 'REQUIRED' },
      { name: 'y', type: 'DOUBLE', repetition_type: 'REQUIRED' },
    ],
  });
  await writer.write({
    columnData: [
      { name: 'rid', data: rid },
      { name: 'user', data: c.get('user') as string[] },
      { name: 'item', data: c.get('item') as string[] },
      { name: 'tags', data: c.get('tags') as string[][] },
      { name: 'x', data: c.get('x') as Float64Array },
      { name: 'y', data: c.get('y') as Float64Array },
    ],
  });
  await writer.finish();
  const output = join(dir, 'uint64-out.parquet');
  const r = await scoreParquet({ model: good, input, output, scorerOptions: { backend: 'js' } });
  assert.equal(r.rows, 20);
  const got: string[] = [];
  for await (const ch of readLogChunks(await listLogFiles([output]), { columns: [{ name: 'rid', kind: 'string' }] }))
    got.push(...(ch.columns.get('rid') as string[]));
  assert.equal(got[0], '18446744073709551615');
  assert.equal(got[19], '18446744073709551596');
});

test('scoreParquet refuses an output inside the model folder (however spelled), before writing anything there', async () => {
  const input = await writeSmallInput('into-model-in.parquet', 6, 10);
  const files = async () => (await readdir(good)).sort();
  const before = await files();
  const manifest = await readFile(join(good, 'manifest.json'));
  await symlink(good, join(dir, 'good-link'));
  const scorer = await Scorer.load(good, { backend: 'js' });
  for (const [model, output] of [
    // --force over a model file: the model would no longer load.
    [good, join(good, 'manifest.json')],
    [good, join(good, 'scores.parquet')],
    [good, join(dir, 'good-link', 'sub', 'scores.parquet')],
    [`file://${good}/`, join(good, 'serving.safetensors')],
    [scorer, join(good, 'scores.parquet')],
  ] as const) {
    await assert.rejects(
      scoreParquet({ model, input, output, existing: 'replace', scorerOptions: { backend: 'js' } }),
      (e: Error) =>
        e instanceof ScoringError && /is inside the model folder .*: the scores would be written among the model's files/.test(e.message),
      output,
    );
  }
  assert.deepEqual(await files(), before);
  assert.deepEqual(await readFile(join(good, 'manifest.json')), manifest);
  // The model still loads, and a sibling whose name starts like the folder's is no part of it.
  Scorer.clearCache();
  assert.equal((await Scorer.load(good, { backend: 'js' })).modelVersion, 'm-good');
  const r = await scoreParquet({ model: good, input, output: `${good}-scores.parquet`, scorerOptions: { backend: 'js' } });
  assert.equal(r.rows, 10);
});
