import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ColumnRequirement } from '../../src/data/row-chunk.ts';
import { FileStore } from '../../src/storage/file-store.ts';
import { collect, freshFolders, isDataError, oneFile } from '../helpers/log-fixtures.ts';

const store = new FileStore();
const fresh = freshFolders();

describe('readLogChunks, CSV', () => {
  const columns: ColumnRequirement[] = [
    { name: 'label', kind: 'label' },
    { name: 'price', kind: 'numeric' },
    { name: 'country', kind: 'string' },
    { name: 'installed', kind: 'list' },
  ];

  it('parses numbers, empty cells as NaN/null, and |-separated lists, in chunks', async () => {
    const uri = join(fresh(), 'logs.csv');
    await store.write(uri, 'country,label,price,installed,extra\nfr,1,2.5,a|b,z\n,0,,,z\n"d,e",,1e3,c,z\n');

    const chunks = await collect(await oneFile(uri), columns, 2);
    assert.deepEqual(
      chunks.map((c) => [c.rowOffset, c.numRows]),
      [
        [0, 2],
        [2, 1],
      ],
    );
    const [a, b] = chunks;
    assert.deepEqual(a!.columns.get('label'), new Float64Array([1, 0]));
    assert.deepEqual(a!.columns.get('price'), new Float64Array([2.5, NaN]));
    assert.deepEqual(a!.columns.get('country'), ['fr', null]);
    assert.deepEqual(a!.columns.get('installed'), [['a', 'b'], []]);
    assert.deepEqual(b!.columns.get('label'), new Float64Array([NaN]));
    assert.deepEqual(b!.columns.get('price'), new Float64Array([1000]));
    assert.deepEqual(b!.columns.get('country'), ['d,e']);
    assert.equal(a!.columns.has('extra'), false);
  });

  it('names file, column and row of an unparsable number', async () => {
    const uri = join(fresh(), 'bad.csv');
    await store.write(uri, 'label,price,country,installed\n1,2,fr,a\n0,abc,fr,a\n');
    await assert.rejects(collect(await oneFile(uri), columns), isDataError(uri, 'price', 1));
  });

  it('names a column missing from the header', async () => {
    const uri = join(fresh(), 'nohead.csv');
    await store.write(uri, 'label,price,country\n1,2,fr\n');
    await assert.rejects(collect(await oneFile(uri), columns), isDataError(uri, 'installed'));
  });

  it('rejects a CSV with a header but no rows', async () => {
    const uri = join(fresh(), 'header-only.csv');
    await store.write(uri, 'label,price,country,installed\n');
    await assert.rejects(collect(await oneFile(uri), columns), isDataError(uri));
  });
});
