import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DataError } from '../../src/data/errors.ts';
import { readCsvChunks } from '../../src/data/csv-read.ts';
import { checkLogFile } from '../../src/data/logs.ts';
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
    await assert.rejects(collect(await oneFile(uri), columns), /bad\.csv, column "price", line 3: not a number: "abc"/);
  });

  it('names the file and the 1-based line of a record with the wrong number of fields (not "row 0")', async () => {
    // The short record is the file's line 5 (a blank line before it), the third data row; the
    // parser reads ahead, so a row counter of records consumed said "row 0" here.
    const uri = join(fresh(), 'short.csv');
    await store.write(uri, 'label,price,country,installed\n1,2,fr,a\n0,3,de,b\n\n1,4,us\n0,5,fr,c\n');
    await assert.rejects(collect(await oneFile(uri), columns), (err: unknown) => {
      isDataError(uri, undefined, 2)(err);
      assert.equal((err as DataError).line, 5);
      assert.equal((err as DataError).message, `${uri}, line 5: bad CSV: data row 3 has 3 field(s) where the header has 4`);
      return true;
    });
    // A long record, and a quoted field spanning lines: the line named is the one the record ends on.
    const long = join(fresh(), 'long.csv');
    await store.write(long, 'label,price,country,installed\n1,2,"f\nr",a\n0,3,de,b,extra\n');
    await assert.rejects(collect(await oneFile(long), columns), (err: unknown) => {
      assert.ok(err instanceof DataError);
      assert.equal(err.line, 4);
      assert.match(err.message, /long\.csv, line 4: bad CSV: data row 2 has 5 field\(s\) where the header has 4$/);
      return true;
    });
    // checkLogFile (Ingest's cheap check of the header and first row) names it the same way.
    const first = join(fresh(), 'first.csv');
    await store.write(first, 'label,price,country,installed\n1,2\n');
    await assert.rejects(
      checkLogFile((await oneFile(first))[0]!, columns),
      /first\.csv, line 2: bad CSV: data row 1 has 2 field\(s\) where the header has 4/,
    );
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

  it('refuses a record longer than the limit (a line without end) instead of buffering it, naming its data row', async () => {
    const uri = join(fresh(), 'endless.csv');
    await store.write(uri, `label,price,country,installed\n1,2,fr,a\n0,3,${'y'.repeat(5000)}`);
    const [file] = await oneFile(uri);
    const read = async () => {
      for await (const _ of readCsvChunks(file!, columns, 100, 1000));
    };
    await assert.rejects(read(), (err: unknown) => {
      assert.ok(isDataError(uri)(err));
      assert.match(
        (err as DataError).message,
        /line 3: bad CSV: data row 2 is longer than 1000 bytes, the limit \(a line that does not end, or a quote that is never closed\)$/,
      );
      return true;
    });
  });

  it('names a quote never closed on the first row in the header check, not "empty file (0 rows)"', async () => {
    const uri = join(fresh(), 'open-quote.csv');
    await store.write(uri, 'label,price,country,installed\n1,2,"fr\n0,3,de,a\n');
    await assert.rejects(checkLogFile((await oneFile(uri))[0]!, columns), (err: unknown) => {
      assert.ok(isDataError(uri)(err));
      assert.match((err as DataError).message, /bad CSV: Quote Not Closed/);
      return true;
    });
  });

  it('reads a UTF-16 LE file with its BOM as the same rows', async () => {
    const uri = join(fresh(), 'utf16.csv');
    const text = 'label,price,country,installed\n1,2,fr,a|b\n';
    await store.write(uri, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    const [c] = await collect(await oneFile(uri), columns);
    assert.deepEqual(c!.columns.get('installed'), [['a', 'b']]);
  });
});
