import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DataError } from '../../src/data/errors.ts';
import { loadTrainableModel } from '../../src/model/trainable-model.ts';
import { trainModel } from '../../src/training/train.ts';
import type { ParquetColumn } from '../helpers/parquet-write.ts';
import { tinyChunk, tinyConfig } from '../helpers/tiny-data.ts';
import { writeTinyParquet } from '../helpers/tiny-files.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-badlogs-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const replace = (name: string, col: Partial<ParquetColumn>) => (cols: ParquetColumn[]) =>
  cols.map((c) => (c.name === name ? ({ ...c, ...col } as ParquetColumn) : c));

async function badFile(name: string, edit: (cols: ParquetColumn[]) => ParquetColumn[]): Promise<string> {
  const f = join(dir, `${name}.parquet`);
  await writeTinyParquet(f, tinyChunk({ rows: 300, seed: 4 }), edit);
  return f;
}

function train(data: string, out: string, onBadRow: 'error' | 'skip' = 'error', maxBadRowFraction = 0.01) {
  const config = tinyConfig({
    data: { onBadRow, maxBadRowFraction, idColumns: [] },
    training: { batchSize: 32, epochs: 1, shuffleBuffer: 1000, seed: 1 },
  });
  return trainModel({ config, data: [data], out: join(dir, out), progress: false, backend: 'onnx' });
}

function withValue<T>(name: string, row: number, value: T) {
  return (cols: ParquetColumn[]) =>
    cols.map((c) => {
      if (c.name !== name) return c;
      const data = Array.from(c.data as ArrayLike<unknown>);
      data[row] = value;
      return { ...c, data } as ParquetColumn;
    });
}

const isDataError = (file: string, column: string | undefined, text: RegExp) => (e: unknown) => {
  assert.ok(e instanceof DataError, `expected DataError, got ${(e as Error).name}: ${(e as Error).message}`);
  assert.ok((e as Error).message.includes(file), `message names the file: ${(e as Error).message}`);
  if (column) assert.ok((e as Error).message.includes(`"${column}"`), `message names the column: ${(e as Error).message}`);
  assert.match((e as Error).message, text);
  return true;
};

test('a missing column is an error naming file and column', async () => {
  const f = await badFile('missing', (cols) => cols.filter((c) => c.name !== 'item'));
  await assert.rejects(train(f, 'm1'), isDataError(f, 'item', /missing|not found|no column/i));
});

test('a column of the wrong type is an error naming file and column', async () => {
  const f = await badFile('wrongtype', replace('x', { type: 'STRING', data: Array.from({ length: 300 }, (_, i) => `v${i}`) }));
  await assert.rejects(train(f, 'm2'), isDataError(f, 'x', /type|numeric/i));
});

for (const [what, value] of [
  ['NaN', NaN],
  ['Infinity', Infinity],
] as const) {
  test(`${what} in a numeric column: error naming file, column and row, or a counted skip`, async () => {
    const f = await badFile(`num-${what}`, withValue('x', 17, value));
    await assert.rejects(train(f, `m-${what}`), isDataError(f, 'x', /row 17/));
    const r = await train(f, `m-${what}-skip`, 'skip');
    assert.equal(r.manifest.metrics['skippedRows'], 1);
    assert.equal(r.manifest.trainedOn.rows, 299);
  });
}

test('null labels: error or counted skip, never a NaN model', async () => {
  const f = await badFile('nulllabel', withValue('y', 5, null));
  await assert.rejects(train(f, 'm3'), isDataError(f, 'y', /row 5/));
  const r = await train(f, 'm3-skip', 'skip');
  assert.equal(r.manifest.metrics['skippedRows'], 1);
  const loaded = await loadTrainableModel(r.uri, { backend: 'onnx' });
  const p = await loaded.model.predict(loaded.transforms.encode(tinyChunk({ rows: 50, seed: 1 }), { withLabels: false }).batch);
  assert.ok(p.every(Number.isFinite));
  loaded.model.dispose();
});

test('labels outside {0,1} are bad rows', async () => {
  const f = await badFile('label2', withValue('y', 8, 2));
  await assert.rejects(train(f, 'm4'), isDataError(f, 'y', /row 8/));
});

test('too many skipped rows fails the run instead of training on garbage', async () => {
  const f = await badFile('manybad', (cols) =>
    cols.map((c) =>
      c.name === 'y' ? ({ ...c, data: Array.from({ length: 300 }, (_, i) => (i % 10 === 0 ? 5 : 0)) } as ParquetColumn) : c,
    ),
  );
  await assert.rejects(train(f, 'm5', 'skip', 0.05), /30 of 300 rows were bad .*maxBadRowFraction 0\.05/);
});

test('an empty file is an error naming it', async () => {
  const f = join(dir, 'empty.parquet');
  await writeFile(f, new Uint8Array(0));
  await assert.rejects(train(f, 'm6'), isDataError(f, undefined, /empty/i));
});

test('a file that is not Parquet is an error naming it', async () => {
  const f = join(dir, 'notparquet.parquet');
  await writeFile(f, 'user,item\nu1,i1\n');
  await assert.rejects(train(f, 'm7'), isDataError(f, undefined, /not a Parquet file|parquet/i));
});
