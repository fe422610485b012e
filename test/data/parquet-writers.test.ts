/**
 * Parquet written by real third-party writers: DuckDB 1.5.6's COPY … TO (fixtures and their SQL:
 * test/fixtures/parquet-writers/duckdb/, written by scripts/fixtures/duckdb-parquet.mjs), and arrow-rs
 * through parquet-wasm 0.8.0, with V1 and V2 data pages (test/fixtures/parquet-writers/arrow-rs/,
 * written by scripts/fixtures/arrow-rs-parquet.mjs). Each file
 * goes through what Ingest, training and scoring use: the footer check (checkLogFile) and the log
 * reader (readLogChunks), and a model is trained on DuckDB's hive-partitioned days and scores a
 * DuckDB file. Every value is compared with the SQL's formulas computed in TypeScript (rows.ts).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parquetMetadata } from 'hyparquet';
import type { DataError } from '../../src/data/errors.ts';
import { type ColumnRequirement, checkLogFile, listLogFiles } from '../../src/data/logs.ts';
import { MAX_PAGE_BYTES } from '../../src/data/parquet-pages.ts';
import type { ColumnFacts, RowChunk } from '../../src/data/row-chunk.ts';
import { readThriftStruct, type ThriftStruct } from '../../src/data/thrift-compact.ts';
import { scoreParquet } from '../../src/scoring/batch.ts';
import { Scorer } from '../../src/scoring/scorer.ts';
import { trainModel } from '../../src/training/train.ts';
import {
  BIG_PAGE_ROWS,
  bigPageValue,
  LOG_COLUMNS,
  label,
  PARTITIONED_ROWS,
  ROWS,
  TYPE_COLUMNS,
  TYPES_ROWS,
} from '../fixtures/parquet-writers/duckdb/rows.ts';
import { ARROW_COLUMNS, ROWS as ARROW_ROWS } from '../fixtures/parquet-writers/arrow-rs/rows.ts';
import { collect, freshFolders, isDataError, oneFile } from '../helpers/log-fixtures.ts';
import { tinyConfig } from '../helpers/tiny-data.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'parquet-writers', 'duckdb');
const fixture = (name: string) => join(fixtures, name);
const fresh = freshFolders();
after(() => Scorer.clearCache());

type Columns = Record<string, readonly [ColumnRequirement['kind'], (i: number) => unknown]>;

const requirements = (columns: Columns): ColumnRequirement[] => Object.entries(columns).map(([name, [kind]]) => ({ name, kind }));

/** Every row of the chunks, column by column, as plain arrays. */
function columnsOf(chunks: readonly RowChunk[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const c of chunks)
    for (const [name, values] of c.columns) {
      out[name] ??= [];
      out[name].push(...Array.from(values as ArrayLike<unknown>));
    }
  return out;
}

/** The values the formulas give for rows `rows`, in the reader's layout. */
function expected(columns: Columns, rows: readonly number[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [name, [, value]] of Object.entries(columns)) out[name] = rows.map((i) => value(i));
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

/** Parquet's page header types (PageType in parquet.thrift). */
const PAGE_TYPES = new Map([
  [0, 'DATA_PAGE'],
  [2, 'DICTIONARY_PAGE'],
  [3, 'DATA_PAGE_V2'],
]);

/**
 * Per column chunk of the file: its codec, encodings, and each page's type and uncompressed size
 * (and its rows, which only a DATA_PAGE_V2 header gives).
 */
async function layout(uri: string) {
  const bytes = await readFile(uri);
  const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return meta.row_groups.flatMap((g) =>
    g.columns.map((c) => {
      const m = c.meta_data!;
      const pages: { type: string; bytes: number; rows?: number }[] = [];
      let at = Number(m.dictionary_page_offset || m.data_page_offset);
      const end = at + Number(m.total_compressed_size);
      while (at < end) {
        const { struct, end: bodyStart } = readThriftStruct(bytes, at);
        const v2 = struct.get(8) as ThriftStruct | undefined;
        pages.push({
          type: PAGE_TYPES.get(struct.get(1) as number) ?? String(struct.get(1)),
          bytes: struct.get(2) as number,
          ...(v2 && { rows: v2.get(3) as number }),
        });
        at = bodyStart + (struct.get(3) as number);
      }
      return { column: m.path_in_schema[0]!, rows: Number(g.num_rows), codec: m.codec, encodings: m.encodings, pages };
    }),
  );
}

/**
 * Every value of `uri` as the formulas give them (`rows` rows), and what Ingest's footer check
 * reads: each column's type and family (`types`), and the numbers' range and nulls.
 */
async function assertValuesAndFooter(
  name: string,
  uri: string,
  columnsSpec: Columns,
  rows: number,
  types: Record<string, string>,
): Promise<ReadonlyMap<string, ColumnFacts>> {
  const files = await oneFile(uri);
  const columns = requirements(columnsSpec);
  assert.deepEqual(columnsOf(await collect(files, columns)), expected(columnsSpec, range(0, rows)));
  const facts = await checkLogFile(files[0]!, columns);
  assert.deepEqual(Object.fromEntries([...facts].map(([column, f]) => [column, `${f.type} ${f.family}`])), types);
  for (const [column, [kind, value]] of Object.entries(columnsSpec)) {
    if (kind !== 'numeric' && kind !== 'label') continue;
    const values = range(0, rows).map((i) => value(i) as number);
    const present = values.filter((v) => !Number.isNaN(v));
    const f = facts.get(column)!;
    // A floating-point min of 0 may be stored as -0 (arrow-rs does, as the Parquet spec asks): the same number.
    assert.deepEqual(
      [f.min === 0 ? 0 : f.min, f.max, f.nullCount],
      [Math.min(...present), Math.max(...present), values.length - present.length],
      `${name} ${column}`,
    );
  }
  return facts;
}

/** The cells both writers' log files share: nulls are missing values, lists are lists, empty lists are empty. */
function assertNullsAndLists(rows: Record<string, unknown[]>): void {
  assert.equal(rows.user![3], null);
  assert.equal(rows.country![4], '', 'an empty string is a value, not a null');
  assert.equal(rows.country![3], '日本');
  assert.ok(Number.isNaN(rows.price![4]) && Number.isNaN(rows.ratio![7]) && Number.isNaN(rows.clicks![2]) && Number.isNaN(rows.views![1]));
  assert.equal(rows.item_id![6], null);
  assert.equal(rows.item_id![0], '9007199254740993', '64-bit ids beyond 2^53 are exact');
  assert.deepEqual(rows.tags!.slice(0, 9), [
    [],
    ['t1'],
    ['t2', 't3'],
    ['t3', 't4', 't5'],
    [],
    null,
    ['t0', 't1'],
    ['t1', 't2', 't3'],
    ['x', 'y'],
  ]);
}

const LOG_FILES: [file: string, codec: string][] = [
  ['default.parquet', 'SNAPPY'],
  ['zstd.parquet', 'ZSTD'],
  ['gzip.parquet', 'GZIP'],
  ['uncompressed.parquet', 'UNCOMPRESSED'],
  ['v2.parquet', 'SNAPPY'],
  ['row-groups.parquet', 'SNAPPY'],
];

describe('Parquet written by DuckDB 1.5.6', () => {
  for (const [name, codec] of LOG_FILES) {
    it(`${name}: every value as the SQL wrote it, and the footer check Ingest runs`, async () => {
      const uri = fixture(name);
      assert.deepEqual(new Set((await layout(uri)).map((c) => c.codec)), new Set([codec]));
      await assertValuesAndFooter(name, uri, LOG_COLUMNS, ROWS, {
        user: 'BYTE_ARRAY (UTF8) text',
        country: 'BYTE_ARRAY (UTF8) text',
        session: 'BYTE_ARRAY (UTF8) text',
        price: 'DOUBLE number',
        ratio: 'FLOAT number',
        clicks: 'INT32 (INT_32) number',
        views: 'INT64 (INT_64) number',
        item_id: 'INT64 (INT_64) number',
        user_hash: 'INT64 (UINT_64) number',
        tags: 'a list of BYTE_ARRAY (UTF8) text',
        y: 'INT32 (INT_32) number',
        day: 'INT32 (DATE) other',
        ts: 'INT64 (TIMESTAMP) other',
        amount: 'INT32 (DECIMAL) other',
        balance: 'INT64 (DECIMAL) other',
      });
    });
  }

  it('nulls are missing values, lists are lists, empty lists are empty', async () => {
    const rows = columnsOf(await collect(await oneFile(fixture('default.parquet')), requirements(LOG_COLUMNS)));
    assertNullsAndLists(rows);
    assert.equal(rows.user_hash![0], '18446744073709551615', 'UBIGINT ids beyond 2^63 are exact');
  });

  it('V2 pages: DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, BYTE_STREAM_SPLIT and RLE_DICTIONARY (in DATA_PAGE headers)', async () => {
    const chunks = await layout(fixture('v2.parquet'));
    const encoding = (column: string) => chunks.find((c) => c.column === column)!.encodings;
    assert.deepEqual(encoding('clicks'), ['DELTA_BINARY_PACKED']);
    assert.deepEqual(encoding('views'), ['DELTA_BINARY_PACKED']);
    assert.deepEqual(encoding('session'), ['DELTA_LENGTH_BYTE_ARRAY']);
    assert.deepEqual(encoding('price'), ['BYTE_STREAM_SPLIT']);
    assert.deepEqual(encoding('ratio'), ['BYTE_STREAM_SPLIT']);
    assert.deepEqual(encoding('user'), ['RLE_DICTIONARY']);
    // DuckDB's PARQUET_VERSION V2 changes the encodings only: its data pages keep v1 headers.
    assert.deepEqual(new Set(chunks.flatMap((c) => c.pages.map((p) => p.type))), new Set(['DATA_PAGE', 'DICTIONARY_PAGE']));
  });

  it('row-groups.parquet: one chunk per row group (50, 50, 20 rows), cut at chunkRows', async () => {
    const chunks = await collect(await oneFile(fixture('row-groups.parquet')), requirements(LOG_COLUMNS), 32);
    assert.deepEqual(
      chunks.map((c) => [c.rowOffset, c.numRows]),
      [
        [0, 32],
        [32, 18],
        [50, 32],
        [82, 18],
        [100, 20],
      ],
    );
    // DuckDB gave up some dictionaries in some row groups: both encodings in one column.
    const country = (await layout(fixture('row-groups.parquet'))).filter((c) => c.column === 'country');
    assert.deepEqual(new Set(country.flatMap((c) => c.encodings)), new Set(['PLAIN_DICTIONARY', 'PLAIN']));
  });

  it('partitioned/: the days of PARTITION_BY (dt) are found and read', async () => {
    const files = await listLogFiles([fixture('partitioned')]);
    assert.deepEqual(
      files.map((f) => [f.uri.slice(fixtures.length + 1), f.partition]),
      [
        ['partitioned/dt=2026-01-01/data_0.parquet', '2026-01-01'],
        ['partitioned/dt=2026-01-02/data_0.parquet', '2026-01-02'],
      ],
    );
    for (const [day, file] of files.entries()) {
      const rows = range(0, PARTITIONED_ROWS / 2).map((r) => 2 * r + day);
      assert.deepEqual(columnsOf(await collect([file], requirements(LOG_COLUMNS))), expected(LOG_COLUMNS, rows));
    }
  });

  describe('labels.parquet: the label in each type', () => {
    const uri = fixture('labels.parquet');
    for (const [column, type] of [
      ['y_bool', 'BOOLEAN'],
      ['y_tinyint', 'INT32 (INT_8)'],
      ['y_smallint', 'INT32 (INT_16)'],
      ['y_utinyint', 'INT32 (UINT_8)'],
      ['y_bigint', 'INT64 (INT_64)'],
      ['y_double', 'DOUBLE'],
      ['y_decimal', 'INT32 (DECIMAL)'],
    ]) {
      it(`${type} reads as 0/1, and its statistics pass Ingest's check`, async () => {
        const files = await oneFile(uri);
        const columns: ColumnRequirement[] = [{ name: column!, kind: 'label' }];
        const facts = (await checkLogFile(files[0]!, columns)).get(column!)!;
        assert.deepEqual([facts.type, facts.min, facts.max, facts.nullCount], [type, 0, 1, 0]);
        const [chunk] = await collect(files, columns);
        assert.deepEqual(chunk!.columns.get(column!), Float64Array.from(range(0, ROWS), label));
      });
    }

    it('a VARCHAR label is refused before any row, naming the file, the column and its type', async () => {
      const files = await oneFile(uri);
      const columns: ColumnRequirement[] = [{ name: 'y_text', kind: 'label' }];
      const refused = (err: unknown) =>
        isDataError(uri, 'y_text')(err) &&
        (err as DataError).message.endsWith('wrong type for a label column: expected a number or boolean, found BYTE_ARRAY (UTF8)');
      await assert.rejects(checkLogFile(files[0]!, columns), refused);
      await assert.rejects(collect(files, columns), refused);
    });

    it('trains with a BOOLEAN label and with a TINYINT label', async () => {
      for (const y of ['y_bool', 'y_tinyint']) {
        const config = tinyConfig({
          label: y,
          features: { user: { kind: 'categorical', vocab: { minCount: 1 } } },
          wide: { features: ['user'], crosses: [] },
          deep: { embeddings: ['user'], defaultEmbeddingDim: 4, numeric: [], hiddenUnits: [4] },
        });
        const r = await trainModel({ config, data: [uri], out: join(fresh(), y), progress: false, backend: 'onnx' });
        assert.equal(r.manifest.trainedOn.rows, ROWS);
        assert.ok(r.lossCurve.length > 0 && r.lossCurve.every((p) => Number.isFinite(p.loss)), y);
      }
    });
  });

  describe('types.parquet and the columns a model does not use', () => {
    const uri = fixture('types.parquet');

    it('UBIGINT, UINTEGER, HUGEINT, UUID, ENUM, TIMESTAMPTZ, TIME, BLOB, INTEGER[], BIGINT[] and JSON scalars read as tokens and numbers', async () => {
      const files = await oneFile(uri);
      assert.deepEqual(columnsOf(await collect(files, requirements(TYPE_COLUMNS))), expected(TYPE_COLUMNS, range(0, TYPES_ROWS)));
      await checkLogFile(files[0]!, requirements(TYPE_COLUMNS));
    });

    const refusals: [file: string, req: ColumnRequirement, reason: string][] = [
      [
        'types.parquet',
        { name: 'attrs', kind: 'list' },
        'wrong type for a list column: expected a list of primitives, found a group/struct',
      ],
      ['types.parquet', { name: 'attrs', kind: 'string' }, 'wrong type for a string column: expected a single value, found a group/struct'],
      [
        'types.parquet',
        { name: 'span', kind: 'string' },
        'wrong type for a string column: found FIXED_LEN_BYTE_ARRAY (INTERVAL), which wdp cannot read',
      ],
      [
        'types.parquet',
        { name: 'span', kind: 'numeric' },
        'wrong type for a numeric column: expected a number or boolean, found FIXED_LEN_BYTE_ARRAY (INTERVAL)',
      ],
      [
        'types.parquet',
        { name: 'doc', kind: 'list' },
        'wrong type for a list column: expected a list of primitives, found BYTE_ARRAY (JSON)',
      ],
      ['default.parquet', { name: 'ctx', kind: 'string' }, 'wrong type for a string column: expected a single value, found a group/struct'],
      [
        'default.parquet',
        { name: 'day', kind: 'numeric' },
        'wrong type for a numeric column: expected a number or boolean, found INT32 (DATE)',
      ],
      [
        'default.parquet',
        { name: 'ts', kind: 'label' },
        'wrong type for a label column: expected a number or boolean, found INT64 (TIMESTAMP)',
      ],
    ];
    for (const [file, req, reason] of refusals) {
      it(`${file}: ${req.name} as ${req.kind} is refused by the footer check, naming file, column and type`, async () => {
        const files = await oneFile(fixture(file));
        const refused = (err: unknown) => isDataError(fixture(file), req.name)(err) && (err as DataError).message.includes(reason);
        await assert.rejects(checkLogFile(files[0]!, [req]), refused);
        await assert.rejects(collect(files, [req]), refused);
      });
    }

    it('a JSON object or array read as categorical is refused at its row, not read as missing', async () => {
      const files = await oneFile(uri);
      // The footer cannot tell: a JSON column of strings (json_extract's) reads fine (picked, above).
      await checkLogFile(files[0]!, [{ name: 'doc', kind: 'string' }]);
      await assert.rejects(
        collect(files, [{ name: 'doc', kind: 'string' }]),
        (err: unknown) =>
          isDataError(uri, 'doc', 2)(err) && /the value is an object, not one categorical token/.test((err as Error).message),
      );
    });
  });

  it('big-page.parquet: a page of 87 MB (DuckDB writes a row group chunk as one page) reads', async () => {
    const uri = fixture('big-page.parquet');
    const [chunk] = await layout(uri);
    assert.equal(chunk!.rows, BIG_PAGE_ROWS);
    assert.equal(chunk!.pages.length, 1);
    assert.ok(chunk!.pages[0]!.bytes > 64 << 20 && chunk!.pages[0]!.bytes <= MAX_PAGE_BYTES, String(chunk!.pages[0]!.bytes));
    let rows = 0;
    for (const c of await collect(await oneFile(uri), [{ name: 'payload', kind: 'string' }])) {
      const values = c.columns.get('payload') as string[];
      for (let r = 0; r < c.numRows; r++) assert.equal(values[r], bigPageValue(c.rowOffset + r));
      rows += c.numRows;
    }
    assert.equal(rows, BIG_PAGE_ROWS);
  });

  it('end to end: trains on the partitioned days, then scores a DuckDB file, id columns passed through', async () => {
    const config = tinyConfig({
      label: 'y',
      data: { onBadRow: 'error', maxBadRowFraction: 0.01, idColumns: ['item_id', 'user_hash', 'day', 'ts', 'amount'] },
      features: {
        user: { kind: 'categorical', vocab: { minCount: 1 } },
        country: { kind: 'categorical', vocab: { minCount: 1 } },
        item_id: { kind: 'categorical', hashBuckets: 64 },
        tags: { kind: 'categorical_list', hashBuckets: 32, combiner: 'mean' },
        price: { kind: 'numeric', quantiles: 5, default: 0 },
        clicks: { kind: 'numeric', quantiles: 5, default: 0 },
      },
      wide: { features: ['user', 'country', 'price'], crosses: [{ features: ['tags', 'country'], hashBuckets: 64 }] },
      deep: {
        embeddings: ['user', 'country', 'item_id', 'tags'],
        defaultEmbeddingDim: 4,
        numeric: ['price', 'clicks'],
        hiddenUnits: [8, 4],
      },
      training: { batchSize: 16, epochs: 8, shuffleBuffer: 200, seed: 3 },
    });
    const out = join(fresh(), 'model');
    const trained = await trainModel({
      config,
      data: [fixture('partitioned/dt=2026-01-01')],
      holdout: [fixture('partitioned/dt=2026-01-02')],
      out,
      progress: false,
      backend: 'onnx',
    });
    assert.equal(trained.manifest.trainedOn.rows, PARTITIONED_ROWS / 2);
    assert.ok(trained.lossCurve.length > 0 && trained.lossCurve.every((p) => Number.isFinite(p.loss)));
    const holdout = trained.holdoutMetrics!;
    assert.equal(holdout.rows, PARTITIONED_ROWS / 2);
    assert.ok(Number.isFinite(holdout.logloss) && Number.isFinite(holdout.auc), JSON.stringify(holdout));
    // The label follows `user` but on every tenth row: the model has learnt some of it (0.75 here).
    assert.ok(holdout.auc > 0.65, JSON.stringify(holdout));

    const output = join(fresh(), 'scores.parquet');
    const scored = await scoreParquet({ model: out, input: fixture('v2.parquet'), output, scorerOptions: { backend: 'js' } });
    assert.equal(scored.rows, ROWS);
    const got = columnsOf(
      await collect(await oneFile(output), [
        { name: 'score', kind: 'numeric' },
        { name: 'item_id', kind: 'string' },
        { name: 'user_hash', kind: 'string' },
        { name: 'day', kind: 'string' },
        { name: 'ts', kind: 'string' },
        { name: 'amount', kind: 'string' },
      ]),
    );
    assert.ok(got.score!.every((s) => typeof s === 'number' && s > 0 && s < 1));
    const want = expected(LOG_COLUMNS, range(0, ROWS));
    assert.deepEqual(got.item_id, want.item_id);
    assert.deepEqual(got.user_hash, want.user_hash);
    assert.deepEqual(got.day, want.day);
    assert.deepEqual(got.ts, want.ts);
    assert.deepEqual(
      got.amount,
      want.amount!.map((v) => String(v)),
    );
  });
});

const arrowFixture = (name: string) => join(import.meta.dirname, '..', 'fixtures', 'parquet-writers', 'arrow-rs', name);

/** [file, codec, the data pages' header type]. */
const ARROW_FILES: [file: string, codec: string, dataPages: string][] = [
  ['v1.parquet', 'SNAPPY', 'DATA_PAGE'],
  ['v2-snappy.parquet', 'SNAPPY', 'DATA_PAGE_V2'],
  ['v2-zstd.parquet', 'ZSTD', 'DATA_PAGE_V2'],
  ['v2-plain.parquet', 'SNAPPY', 'DATA_PAGE_V2'],
  ['v2-pages.parquet', 'SNAPPY', 'DATA_PAGE_V2'],
];

describe('Parquet written by arrow-rs (parquet-wasm 0.8.0)', () => {
  for (const [name, codec, dataPages] of ARROW_FILES) {
    it(`${name}: ${dataPages} pages in ${codec}, every value as the formulas give, and the footer check Ingest runs`, async () => {
      const uri = arrowFixture(name);
      const chunks = await layout(uri);
      assert.deepEqual(new Set(chunks.map((c) => c.codec)), new Set([codec]));
      // Every data page has the header the writer version asks for (dictionary pages aside).
      for (const c of chunks)
        assert.deepEqual(new Set(c.pages.map((p) => p.type).filter((t) => t !== 'DICTIONARY_PAGE')), new Set([dataPages]), c.column);
      if (dataPages === 'DATA_PAGE_V2')
        for (const c of chunks)
          assert.equal(
            c.pages.reduce((n, p) => n + (p.rows ?? 0), 0),
            c.rows,
            `${c.column}: the V2 headers' rows add up to the row group's`,
          );

      const facts = await assertValuesAndFooter(name, uri, ARROW_COLUMNS, ARROW_ROWS, {
        user: 'BYTE_ARRAY (STRING) text',
        country: 'BYTE_ARRAY (STRING) text',
        session: 'BYTE_ARRAY (STRING) text',
        price: 'DOUBLE number',
        ratio: 'FLOAT number',
        clicks: 'INT32 number',
        views: 'INT64 number',
        item_id: 'INT64 number',
        tags: 'a list of BYTE_ARRAY (STRING) text',
        y: 'INT32 number',
        y_bool: 'BOOLEAN boolean',
      });
      // arrow-rs writes a floating-point min of 0 as -0, as the Parquet spec asks: the same number.
      assert.ok(Object.is(facts.get('ratio')!.min, -0));
    });
  }

  it('nulls are missing values, lists are lists (a null element dropped), empty lists are empty', async () => {
    assertNullsAndLists(columnsOf(await collect(await oneFile(arrowFixture('v2-snappy.parquet')), requirements(ARROW_COLUMNS))));
  });

  it('V1 and V2 with the dictionary on: RLE_DICTIONARY data pages after a DICTIONARY_PAGE; V2 booleans in RLE', async () => {
    for (const [name, booleans] of [
      ['v1.parquet', ['PLAIN', 'RLE']],
      ['v2-snappy.parquet', ['RLE']],
    ] as const) {
      const chunks = await layout(arrowFixture(name));
      const user = chunks.find((c) => c.column === 'user')!;
      assert.equal(user.pages[0]!.type, 'DICTIONARY_PAGE', name);
      assert.ok(user.encodings.includes('RLE_DICTIONARY'), `${name}: ${user.encodings}`);
      assert.deepEqual(chunks.find((c) => c.column === 'y_bool')!.encodings, booleans, name);
    }
  });

  it('v2-plain.parquet: no dictionary, the V2 encodings arrow-rs falls back to', async () => {
    const chunks = await layout(arrowFixture('v2-plain.parquet'));
    assert.ok(chunks.every((c) => c.pages.every((p) => p.type === 'DATA_PAGE_V2')));
    const encoding = (column: string) => chunks.find((c) => c.column === column)!.encodings;
    assert.ok(encoding('clicks').includes('DELTA_BINARY_PACKED'), String(encoding('clicks')));
    assert.ok(encoding('views').includes('DELTA_BINARY_PACKED'), String(encoding('views')));
    assert.ok(encoding('session').includes('DELTA_BYTE_ARRAY'), String(encoding('session')));
  });

  it('v2-pages.parquet: three row groups, several DATA_PAGE_V2 pages a column chunk, one chunk per row group cut at chunkRows', async () => {
    const chunks = await layout(arrowFixture('v2-pages.parquet'));
    assert.deepEqual([...new Set(chunks.map((c) => c.rows))], [50, 20]);
    assert.deepEqual(
      chunks.filter((c) => c.column === 'session').map((c) => c.rows),
      [50, 50, 20],
    );
    // arrow-rs checks the page size every 8 rows (write batch); its size estimate for these three
    // dictionary-encoded columns stays under the limit, so they keep one page a chunk.
    for (const c of chunks.filter((c) => !['country', 'session', 'y'].includes(c.column)))
      assert.ok(c.pages.filter((p) => p.type === 'DATA_PAGE_V2').length >= 3, `${c.column}: ${c.pages.length} pages`);
    assert.ok(
      chunks.filter((c) => c.column === 'tags').every((c) => c.pages.some((p) => p.type === 'DICTIONARY_PAGE')),
      'the list pages follow one dictionary page',
    );
    const read = await collect(await oneFile(arrowFixture('v2-pages.parquet')), requirements(ARROW_COLUMNS), 32);
    assert.deepEqual(
      read.map((c) => [c.rowOffset, c.numRows]),
      [
        [0, 32],
        [32, 18],
        [50, 32],
        [82, 18],
        [100, 20],
      ],
    );
    assert.deepEqual(columnsOf(read), expected(ARROW_COLUMNS, range(0, ARROW_ROWS)));
  });
});
