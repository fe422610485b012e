import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parquetWriteBuffer, type SchemaElement } from 'hyparquet-writer';
import type { ColumnRequirement } from '../../src/data/row-chunk.ts';
import { writeParquet } from '../helpers/parquet-write.ts';
import { FileStore } from '../../src/storage/file-store.ts';
import { ALL_TYPES, collect, freshFolders, isDataError, oneFile } from '../helpers/log-fixtures.ts';

const store = new FileStore();
const fresh = freshFolders();

describe('readLogChunks, Parquet', () => {
  it('converts every column type, keeping nulls as NaN / null', async () => {
    const uri = join(fresh(), 'all.parquet');
    await writeParquet(uri, ALL_TYPES);

    const chunks = await collect(await oneFile(uri), [
      { name: 'label', kind: 'label' },
      { name: 'price', kind: 'numeric' },
      { name: 'score32', kind: 'numeric' },
      { name: 'count64', kind: 'numeric' },
      { name: 'flag', kind: 'numeric' },
      { name: 'country', kind: 'string' },
      { name: 'app_id', kind: 'string' },
      { name: 'ratio', kind: 'string' },
      { name: 'installed', kind: 'list' },
    ]);

    assert.equal(chunks.length, 1);
    const c = chunks[0]!;
    assert.deepEqual([c.source, c.rowOffset, c.numRows], [uri, 0, 3]);
    assert.deepEqual(c.columns.get('label'), new Float64Array([1, 0, NaN]));
    assert.deepEqual(c.columns.get('price'), new Float64Array([1.25, NaN, -3]));
    assert.deepEqual(c.columns.get('score32'), new Float64Array([0.5, 2, NaN]));
    assert.deepEqual(c.columns.get('count64'), new Float64Array([2 ** 40, NaN, -7]));
    assert.deepEqual(c.columns.get('flag'), new Float64Array([1, 0, NaN]));
    assert.deepEqual(c.columns.get('country'), ['fr', null, '']);
    // bigint → exact decimal text, beyond 2^53 too.
    assert.deepEqual(c.columns.get('app_id'), ['123', '9007199254740993', null]);
    assert.deepEqual(c.columns.get('ratio'), ['0.25', '3', null]);
    assert.deepEqual(c.columns.get('installed'), [['a', 'b'], [], null]);
    assert.equal(c.columns.has('unused'), false);
  });

  it('reads only the requested columns', async () => {
    const uri = join(fresh(), 'p.parquet');
    await writeParquet(uri, ALL_TYPES);

    const [c] = await collect(await oneFile(uri), [{ name: 'installed', kind: 'list' }]);
    assert.deepEqual([...c!.columns.keys()], ['installed']);
  });

  it('emits one chunk per row group, and splits a large row group at chunkRows', async () => {
    const uri = join(fresh(), 'groups.parquet');
    const x = Array.from({ length: 250 }, (_, i) => i);
    await writeParquet(
      uri,
      [
        { name: 'x', type: 'INT32', data: x },
        { name: 's', type: 'STRING', data: x.map(String) },
      ],
      { rowGroupSize: 100 },
    );

    const chunks = await collect(
      await oneFile(uri),
      [
        { name: 'x', kind: 'numeric' },
        { name: 's', kind: 'string' },
      ],
      40,
    );
    // Row groups 100, 100, 50 → 40+40+20, 40+40+20, 40+10.
    assert.deepEqual(
      chunks.map((c) => [c.rowOffset, c.numRows]),
      [
        [0, 40],
        [40, 40],
        [80, 20],
        [100, 40],
        [140, 40],
        [180, 20],
        [200, 40],
        [240, 10],
      ],
    );
    const all = chunks.flatMap((c) => [...(c.columns.get('x') as Float64Array)]);
    assert.deepEqual(all, x);
    assert.deepEqual(
      chunks.flatMap((c) => c.columns.get('s') as string[]),
      x.map(String),
    );
  });

  it('fills an optional column the file lacks with NaN / null', async () => {
    const uri = join(fresh(), 'p.parquet');
    await writeParquet(uri, [{ name: 'x', type: 'DOUBLE', data: [1, 2] }]);

    const [c] = await collect(await oneFile(uri), [
      { name: 'x', kind: 'numeric' },
      { name: 'y', kind: 'numeric', optional: true },
      { name: 'tags', kind: 'list', optional: true },
    ]);
    assert.deepEqual(c!.columns.get('y'), new Float64Array([NaN, NaN]));
    assert.deepEqual(c!.columns.get('tags'), [null, null]);
  });

  describe('rejects bad files, naming file and column', () => {
    const x: ColumnRequirement[] = [{ name: 'x', kind: 'numeric' }];

    it('a file that is not Parquet', async () => {
      const uri = join(fresh(), 'fake.parquet');
      await store.write(uri, 'this is not parquet at all, just text');
      await assert.rejects(collect(await oneFile(uri), x), isDataError(uri));
    });

    it('a 0-byte file', async () => {
      const uri = join(fresh(), 'empty.parquet');
      await store.write(uri, '');
      await assert.rejects(collect(await oneFile(uri), x), (err: unknown) => isDataError(uri)(err) && /empty/.test((err as Error).message));
    });

    it('a file with 0 rows', async () => {
      const uri = join(fresh(), 'norows.parquet');
      await writeParquet(uri, [{ name: 'x', type: 'DOUBLE', data: [] }]);
      await assert.rejects(
        collect(await oneFile(uri), x),
        (err: unknown) => isDataError(uri)(err) && /0 rows/.test((err as Error).message),
      );
    });

    it('a missing required column', async () => {
      const uri = join(fresh(), 'p.parquet');
      await writeParquet(uri, ALL_TYPES);
      await assert.rejects(
        collect(await oneFile(uri), [
          { name: 'price', kind: 'numeric' },
          { name: 'nope', kind: 'label' },
        ]),
        isDataError(uri, 'nope'),
      );
    });

    it('a BSON column (hyparquet cannot decode it), before reading rows', async () => {
      const uri = join(fresh(), 'bson.parquet');
      const schema: SchemaElement[] = [
        { name: 'root', num_children: 1 },
        { name: 'doc', type: 'BYTE_ARRAY', converted_type: 'BSON', repetition_type: 'OPTIONAL' },
      ];
      const bytes = parquetWriteBuffer({ columnData: [{ name: 'doc', data: [new Uint8Array([5, 0, 0, 0, 0])] }], schema });
      await store.write(uri, new Uint8Array(bytes));
      await assert.rejects(
        collect(await oneFile(uri), [{ name: 'doc', kind: 'string' }]),
        (err: unknown) =>
          isDataError(uri, 'doc')(err) &&
          /wrong type for a string column: found BYTE_ARRAY \(BSON\), which wdp cannot read/.test((err as Error).message),
      );
    });

    const wrongTypes: [string, ColumnRequirement][] = [
      ['a string column read as numeric', { name: 'country', kind: 'numeric' }],
      ['a string column read as label', { name: 'country', kind: 'label' }],
      ['a list column read as numeric', { name: 'installed', kind: 'numeric' }],
      ['a string column read as list', { name: 'country', kind: 'list' }],
      ['a list column read as string', { name: 'installed', kind: 'string' }],
    ];
    for (const [what, req] of wrongTypes) {
      it(`${what}, before reading rows`, async () => {
        const uri = join(fresh(), 'p.parquet');
        await writeParquet(uri, ALL_TYPES);
        await assert.rejects(
          collect(await oneFile(uri), [req]),
          (err: unknown) => isDataError(uri, req.name)(err) && /wrong type/.test((err as Error).message),
        );
      });
    }
  });
});
