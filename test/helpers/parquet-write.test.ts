import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { DataError } from '../../src/data/errors.ts';
import { encodeParquet, writeParquet } from './parquet-write.ts';
import { FileStore } from '../../src/storage/file-store.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-parquet-write-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeParquet', () => {
  it('writes every supported type with nulls, and hyparquet reads the same values back', async () => {
    const uri = join(dir, 'all.parquet');
    await writeParquet(uri, [
      { name: 'd', type: 'DOUBLE', data: [1.5, null, -2] },
      { name: 'f', type: 'FLOAT', data: [0.5, 1, null] },
      { name: 'i', type: 'INT32', data: [1, null, -3] },
      { name: 'l', type: 'INT64', data: [5n, 2 ** 40, null] },
      { name: 's', type: 'STRING', data: ['a', null, ''] },
      { name: 'b', type: 'BOOLEAN', data: [true, false, null] },
      { name: 'tags', type: 'STRING_LIST', data: [['x', 'y'], [], null] },
      { name: 'req', type: 'DOUBLE', data: new Float64Array([1, 2, 3]), nullable: false },
    ]);

    const bytes = await new FileStore().read(uri);
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const rows = await parquetReadObjects({ file: buf });
    assert.deepEqual(rows, [
      { d: 1.5, f: 0.5, i: 1, l: 5n, s: 'a', b: true, tags: ['x', 'y'], req: 1 },
      { d: null, f: 1, i: null, l: 2n ** 40n, s: null, b: false, tags: [], req: 2 },
      { d: -2, f: null, i: -3, l: null, s: '', b: null, tags: null, req: 3 },
    ]);
    const schema = parquetSchema(parquetMetadata(buf));
    assert.equal(schema.children.find((c) => c.element.name === 'tags')?.element.converted_type, 'LIST');
    assert.equal(schema.children.find((c) => c.element.name === 'req')?.element.repetition_type, 'REQUIRED');
  });

  it('splits rows into row groups of rowGroupSize', () => {
    const bytes = encodeParquet('mem.parquet', [{ name: 'x', type: 'INT32', data: Array.from({ length: 25 }, (_, i) => i) }], {
      rowGroupSize: 10,
    });
    const md = parquetMetadata(bytes.buffer as ArrayBuffer);

    assert.deepEqual(
      md.row_groups.map((g) => Number(g.num_rows)),
      [10, 10, 5],
    );
  });

  it('rejects columns of different lengths, naming the column', () => {
    assert.throws(
      () =>
        encodeParquet('x.parquet', [
          { name: 'a', type: 'DOUBLE', data: [1, 2] },
          { name: 'b', type: 'DOUBLE', data: [1] },
        ]),
      (err: unknown) => err instanceof DataError && err.column === 'b' && err.source === 'x.parquet',
    );
  });
});
