import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { type FileMetaData, parquetMetadata } from 'hyparquet';
import type { DataError } from '../../src/data/errors.ts';
import { checkLogFile } from '../../src/data/logs.ts';
import { MAX_ROW_GROUP_ROWS, MAX_SCHEMA_DEPTH, checkParquetFooter, checkParquetSchemaShape } from '../../src/data/parquet-footer.ts';
import { MAX_LIST_LENGTH, MAX_PAGE_BYTES, checkRowGroupPages } from '../../src/data/parquet-pages.ts';
import { writeParquet } from '../helpers/parquet-write.ts';
import { collect, freshFolders, isDataError, oneFile } from '../helpers/log-fixtures.ts';

const fresh = freshFolders();

/** A small good file and its parsed footer, which each test then makes lie. */
async function goodFile(): Promise<{ uri: string; size: number; metadata: () => FileMetaData }> {
  const uri = join(fresh(), 'good.parquet');
  await writeParquet(uri, [
    { name: 'label', type: 'INT32', data: [1, 0, 1] },
    { name: 'country', type: 'STRING', data: ['fr', 'de', 'fr'] },
  ]);
  const bytes = await readFile(uri);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return { uri, size: bytes.byteLength, metadata: () => parquetMetadata(buffer) };
}

const footerError = (uri: string, text: RegExp, column?: string) => (err: unknown) =>
  isDataError(uri, column)(err) && text.test((err as DataError).message);

describe('Parquet footer limits (parquet-footer.ts)', () => {
  it('accepts a good footer', async () => {
    const { uri, size, metadata } = await goodFile();
    checkParquetFooter(uri, metadata(), size, ['label', 'country']);
  });

  it('refuses row counts that are negative, huge, or do not add up', async () => {
    const { uri, size, metadata } = await goodFile();
    const cases: [(m: FileMetaData) => void, RegExp][] = [
      [(m) => (m.num_rows = -1n), /row count -1 is not a count/],
      [(m) => (m.num_rows = 2n ** 40n), /row groups hold 3 rows but the file says 1099511627776/],
      [(m) => (m.row_groups[0]!.num_rows = -5n), /row group 0 has a row count of -5/],
      [
        (m) => {
          m.num_rows = 2n ** 40n;
          m.row_groups[0]!.num_rows = 2n ** 40n;
        },
        new RegExp(`row group 0 has 1099511627776 rows, over the limit of ${MAX_ROW_GROUP_ROWS}`),
      ],
    ];
    for (const [lie, text] of cases) {
      const m = metadata();
      lie(m);
      assert.throws(() => checkParquetFooter(uri, m, size, ['label']), footerError(uri, text));
    }
  });

  it('refuses a requested chunk outside the data: past the end, negative, or longer than the file', async () => {
    const { uri, size, metadata } = await goodFile();
    const lies: ((c: NonNullable<FileMetaData['row_groups'][number]['columns'][number]['meta_data']>) => void)[] = [
      (c) => (c.data_page_offset = 10n ** 12n),
      (c) => (c.data_page_offset = -100n),
      (c) => (c.total_compressed_size = 2n ** 40n),
    ];
    for (const lie of lies) {
      const m = metadata();
      const chunk = m.row_groups[0]!.columns[1]!.meta_data!;
      delete chunk.dictionary_page_offset;
      lie(chunk);
      assert.throws(() => checkParquetFooter(uri, m, size, ['country']), footerError(uri, /not inside the file's data/, 'country'));
      // A column that is not read is not checked.
      checkParquetFooter(uri, m, size, ['label']);
    }
  });

  it('refuses requested chunks that share bytes: a row group listed twice claims rows the file does not hold', async () => {
    const { uri, size, metadata } = await goodFile();
    // The same row group listed 3 times (a 25 MB file so made claimed 10^9 rows of 50,000 and
    // kept batch scoring busy for hours, scoring the same rows over and over).
    const repeated = metadata();
    repeated.row_groups = [repeated.row_groups[0]!, repeated.row_groups[0]!, repeated.row_groups[0]!];
    repeated.num_rows = 9n;
    const chunk = repeated.row_groups[0]!.columns[1]!.meta_data!;
    const start = chunk.dictionary_page_offset || chunk.data_page_offset;
    assert.throws(
      () => checkParquetFooter(uri, repeated, size, ['country']),
      footerError(
        uri,
        new RegExp(
          `row group 1: the chunk's bytes \\[${start}, \\+${chunk.total_compressed_size}\\) overlap those of row group 0's chunk of country: the chunks of a file never share bytes`,
        ),
        'country',
      ),
    );
    // Two columns of one row group whose ranges overlap.
    const overlapping = metadata();
    const label = overlapping.row_groups[0]!.columns[0]!.meta_data!;
    const country = overlapping.row_groups[0]!.columns[1]!.meta_data!;
    delete country.dictionary_page_offset;
    country.data_page_offset = (label.dictionary_page_offset || label.data_page_offset) + 1n;
    assert.throws(
      () => checkParquetFooter(uri, overlapping, size, ['label', 'country']),
      footerError(uri, /overlap those of row group 0's chunk of label/, 'country'),
    );
    // Only requested columns are read, so only they are checked.
    checkParquetFooter(uri, overlapping, size, ['label']);
  });

  it('refuses a requested chunk in a codec the reader cannot decompress, naming the codec', async () => {
    const { uri, size, metadata } = await goodFile();
    const m = metadata();
    m.row_groups[0]!.columns[1]!.meta_data!.codec = 'LZO';
    assert.throws(
      () => checkParquetFooter(uri, m, size, ['country']),
      footerError(
        uri,
        /compressed with LZO, which wdp cannot read \(wdp reads UNCOMPRESSED, SNAPPY, GZIP, ZSTD, BROTLI, LZ4, LZ4_RAW: write the file with one of them\)/,
        'country',
      ),
    );
    checkParquetFooter(uri, m, size, ['label']);
  });

  it("names a footer that does not decode as such, not with the decoder's own TypeError", async () => {
    const uri = join(fresh(), 'junk-tail.parquet');
    await writeParquet(uri, [{ name: 'label', type: 'INT32', data: [1, 0] }]);
    // A whole file, then zeros and a tail that claims a 50-byte footer: what the decoder reads
    // has none of a footer's fields (hyparquet threw "Cannot read properties of undefined").
    const tail = Buffer.alloc(8);
    tail.writeUInt32LE(50, 0);
    tail.write('PAR1', 4);
    await writeFile(uri, Buffer.concat([await readFile(uri), Buffer.alloc(100), tail]));
    await assert.rejects(
      checkLogFile((await oneFile(uri))[0]!, [{ name: 'label', kind: 'label' }]),
      (e: unknown) =>
        isDataError(uri)(e) &&
        /not a Parquet file \(bad footer: its 50 bytes of metadata do not decode as a Parquet footer\)$/.test((e as Error).message),
    );
  });

  it('is checked by checkLogFile, before any row is read', async () => {
    const uri = join(fresh(), 'lying.parquet');
    await writeParquet(uri, [{ name: 'label', type: 'INT32', data: [1, 0] }]);
    const bytes = await readFile(uri);
    // The footer kept whole, the data cut away: its chunk offsets now point past the file's data.
    const footerLength = bytes.readUInt32LE(bytes.length - 8);
    const cut = join(dirname(uri), 'cut.parquet');
    await writeFile(cut, Buffer.concat([bytes.subarray(0, 4), bytes.subarray(bytes.length - 8 - footerLength)]));
    await assert.rejects(
      checkLogFile((await oneFile(cut))[0]!, [{ name: 'label', kind: 'label' }]),
      footerError(cut, /not inside/, 'label'),
    );
  });
});

describe('Parquet schema shape (parquet-footer.ts)', () => {
  const uri = 'mem://s.parquet';
  const leaf = (name: string) => ({ name, type: 'INT32' as const, repetition_type: 'OPTIONAL' as const });
  const group = (name: string, n: number) => ({ name, repetition_type: 'OPTIONAL' as const, num_children: n });
  const shape = (schema: object[]) => () => checkParquetSchemaShape(uri, { schema } as unknown as FileMetaData);

  it('accepts a good file, nested groups up to the limit, and thousands of columns', async () => {
    const { metadata } = await goodFile();
    checkParquetSchemaShape(uri, metadata());
    const nested = [group('root', 1), ...Array.from({ length: MAX_SCHEMA_DEPTH - 1 }, (_, i) => group(`g${i}`, 1)), leaf('x')];
    shape(nested)();
    shape([group('root', 5000), ...Array.from({ length: 5000 }, (_, i) => leaf(`c${i}`))])();
  });

  it('refuses groups nested deeper than MAX_SCHEMA_DEPTH (hyparquet took 12 s and 570 MB for 5,000)', () => {
    const deep = [group('root', 1), ...Array.from({ length: 5000 }, (_, i) => group(`g${i}`, 1)), leaf('x')];
    assert.throws(shape(deep), footerError(uri, /nests deeper than 64 levels/));
  });

  it('refuses children counts that do not match the element list', () => {
    assert.throws(shape([group('root', 5), leaf('a')]), footerError(uri, /ends before its groups have all their children/));
    assert.throws(shape([group('root', 1), leaf('a'), leaf('b')]), footerError(uri, /1 element\(s\) after the root's children/));
    assert.throws(shape([group('root', -1), leaf('a')]), footerError(uri, /schema element 0 has -1 children/));
  });
});

/** A compact-protocol page header: type, sizes, and a data/dictionary page header with a value count. */
function pageHeader(type: 0 | 2 | 3, uncompressed: number, compressed: number, values: number): Uint8Array {
  const zz = (n: number): number[] => {
    let v = n < 0 ? -2 * n - 1 : 2 * n;
    const out: number[] = [];
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    out.push(v);
    return out;
  };
  const sub = type === 0 ? 5 : type === 2 ? 7 : 8;
  return new Uint8Array([
    0x15,
    ...zz(type),
    0x15,
    ...zz(uncompressed),
    0x15,
    ...zz(compressed),
    ((sub - 3) << 4) | 12,
    0x15,
    ...zz(values),
    0x00,
    0x00,
    ...new Array(compressed).fill(0),
  ]);
}

describe('Parquet page limits (parquet-pages.ts)', () => {
  const uri = 'mem://x.parquet';
  const chunk = (bytes: Uint8Array, list = false) => ({ column: 'c', list, start: 4, bytes });

  it('accepts pages that hold the rows', () => {
    checkRowGroupPages(uri, 0, 10, [chunk(Buffer.concat([pageHeader(2, 8, 8, 2), pageHeader(0, 16, 16, 10)]))]);
  });

  it('refuses a page that decompresses past MAX_PAGE_BYTES', () => {
    assert.throws(
      () => checkRowGroupPages(uri, 0, 10, [chunk(pageHeader(0, MAX_PAGE_BYTES + 1, 4, 10))]),
      footerError(
        uri,
        new RegExp(`page at byte 4: a page of ${MAX_PAGE_BYTES + 1} bytes once decompressed, over the limit of ${MAX_PAGE_BYTES}`),
        'c',
      ),
    );
  });

  it('refuses a flat column whose pages claim more values than the rows', () => {
    assert.throws(
      () => checkRowGroupPages(uri, 3, 10, [chunk(pageHeader(0, 4, 4, 2 ** 30))]),
      footerError(uri, /row group 3.*values/, 'c'),
    );
  });

  it('refuses a header that runs past the chunk, or a bad compressed size', () => {
    const whole = pageHeader(0, 4, 4, 10);
    assert.throws(
      () => checkRowGroupPages(uri, 0, 10, [chunk(whole.subarray(0, 5))]),
      footerError(uri, /corrupt Parquet page header/, 'c'),
    );
    assert.throws(
      () => checkRowGroupPages(uri, 0, 10, [chunk(pageHeader(0, 4, 4, 10).subarray(0, 12))]),
      footerError(uri, /runs past/, 'c'),
    );
  });

  it('refuses a list column with more than MAX_LIST_LENGTH elements a row, end to end', async () => {
    const file = join(fresh(), 'list-bomb.parquet');
    // Dictionary + RLE: 70,000 equal elements are a few hundred bytes on disk.
    await writeParquet(file, [
      { name: 'label', type: 'INT32', data: [1] },
      { name: 'apps', type: 'STRING_LIST', data: [new Array<string>(MAX_LIST_LENGTH + 10).fill('a')] },
    ]);
    await assert.rejects(
      collect(await oneFile(file), [
        { name: 'label', kind: 'label' },
        { name: 'apps', kind: 'list' },
      ]),
      footerError(file, new RegExp(`65546 list elements in 1 rows, over the limit of ${MAX_LIST_LENGTH}`), 'apps'),
    );
  });
});
