/**
 * Reading Parquet log files into RowChunks: the footer, a schema check of the requested columns
 * before any row is read, then row group by row group (fetched by the range reader), decoded by
 * hyparquet and converted to the chunk layout (row-chunk.ts).
 */
import { type AsyncBuffer, type FileMetaData, type SchemaTree, parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import { StorageError } from '../storage/errors.ts';
import { storeFor } from '../storage/index.ts';
import { cellToToken } from './cells.ts';
import { emptyColumn, sliceColumn } from './column-values.ts';
import { DataError } from './errors.ts';
import type { LogFile } from './log-files.ts';
import { loadZstd, parquetDecompressors } from './parquet-codecs.ts';
import { checkParquetFooter, checkParquetSchemaShape } from './parquet-footer.ts';
import { type ChunkToCheck, checkRowGroupPages } from './parquet-pages.ts';
import { type FetchedSpan, SpanReader, groupSpans } from './parquet-ranges.ts';
import type { ColumnFacts, ColumnKind, ColumnRequirement, ColumnValues, RowChunk, TokenFamily } from './row-chunk.ts';

/** The footer is usually far smaller; one read of this much gets it in one round trip. */
const FOOTER_FETCH_BYTES = 1 << 18;

type ParquetPlanEntry = { readonly req: ColumnRequirement; readonly tree: SchemaTree | undefined };

/** Streams one Parquet file as chunks of at most `chunkRows` rows (see readLogChunks). */
export async function* readParquetChunks(file: LogFile, columns: readonly ColumnRequirement[], chunkRows: number): AsyncIterable<RowChunk> {
  const store = storeFor(file.uri);
  const reader = new SpanReader(store, file.uri, file.sizeBytes, file.etag);
  const metadata = await readParquetMetadata(file, reader);
  const numRows = Number(metadata.num_rows);
  if (numRows === 0) throw new DataError({ source: file.uri }, 'empty file (0 rows)');
  const plan = checkParquetSchema(file.uri, metadata, columns);
  const present = plan.filter((p) => p.tree !== undefined).map((p) => p.req.name);
  checkParquetFooter(file.uri, metadata, file.sizeBytes, present);
  // hyparquet calls decompressors synchronously; the ZSTD one needs its WebAssembly compiled first.
  if (metadata.row_groups.some((g) => g.columns.some((c) => c.meta_data?.codec === 'ZSTD'))) await loadZstd();

  const groups = metadata.row_groups;
  let groupStart = 0;
  // Fetch the next row group's bytes while this one is decoded and consumed.
  let next = groups.length > 0 ? reader.prefetch(groupSpans(groups[0]!, present)) : [];
  for (let g = 0; g < groups.length; g++) {
    const groupRows = Number(groups[g]!.num_rows);
    const spans = next;
    next = g + 1 < groups.length ? reader.prefetch(groupSpans(groups[g + 1]!, present)) : [];
    if (groupRows === 0) continue;
    let decoded: Map<string, ColumnValues>;
    try {
      await checkGroupPages(file.uri, reader, spans, groups[g]!, g, plan);
      decoded = await decodeRowGroup(file.uri, reader.asyncBuffer(spans), metadata, plan, g, groupStart, groupRows);
    } finally {
      reader.release(spans);
    }
    for (let start = 0; start < groupRows; start += chunkRows) {
      const end = Math.min(groupRows, start + chunkRows);
      const chunkColumns = new Map<string, ColumnValues>();
      for (const [name, values] of decoded) chunkColumns.set(name, sliceColumn(values, start, end));
      yield { source: file.uri, rowOffset: groupStart + start, numRows: end - start, columns: chunkColumns };
    }
    groupStart += groupRows;
  }
}

/**
 * Opens one Parquet file and checks it as readParquetChunks would before its first row: footer,
 * row count and the requested columns' types. Reads only the footer (one ranged read), and
 * returns what it says about each requested column the file has (type, statistics).
 */
export async function checkParquetFile(file: LogFile, columns: readonly ColumnRequirement[]): Promise<Map<string, ColumnFacts>> {
  const metadata = await readParquetMetadata(file, new SpanReader(storeFor(file.uri), file.uri, file.sizeBytes, file.etag));
  if (Number(metadata.num_rows) === 0) throw new DataError({ source: file.uri }, 'empty file (0 rows)');
  const plan = checkParquetSchema(file.uri, metadata, columns);
  checkParquetFooter(
    file.uri,
    metadata,
    file.sizeBytes,
    plan.filter((p) => p.tree !== undefined).map((p) => p.req.name),
  );
  const facts = new Map<string, ColumnFacts>();
  for (const { req, tree } of plan) if (tree) facts.set(req.name, columnFacts(metadata, req, tree));
  return facts;
}

/**
 * A column's type and, for numbers, its range and nulls over the whole file from the row groups'
 * statistics (absent when a row group has none: a writer need not keep them, and NaN is never in
 * them, per the Parquet spec).
 */
function columnFacts(metadata: FileMetaData, req: ColumnRequirement, tree: SchemaTree): ColumnFacts {
  const leaf = req.kind === 'list' ? (listElementLeaf(tree) ?? tree) : tree;
  const type = req.kind === 'list' ? `a list of ${describeParquetType(leaf)}` : describeParquetType(tree);
  const logical = leaf.element.logical_type;
  const unsigned64 =
    leaf.element.type === 'INT64' && (leaf.element.converted_type === 'UINT_64' || (logical?.type === 'INTEGER' && !logical.isSigned));
  const facts: { type: string; family: TokenFamily; min?: number; max?: number; nullCount?: number; unsigned64?: boolean } = {
    type,
    family: tokenFamily(leaf),
    ...(unsigned64 ? { unsigned64 } : {}),
  };
  if (req.kind !== 'numeric' && req.kind !== 'label') return facts;
  let min = Infinity;
  let max = -Infinity;
  let nulls = 0;
  for (const group of metadata.row_groups) {
    const chunk = group.columns.find((c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === req.name);
    const stats = chunk?.meta_data?.statistics;
    const lo = asNumber(stats?.min_value ?? stats?.min);
    const hi = asNumber(stats?.max_value ?? stats?.max);
    if (
      stats === undefined ||
      stats.null_count === undefined ||
      (Number(group.num_rows) > Number(stats.null_count) && (lo === undefined || hi === undefined))
    )
      return facts;
    nulls += Number(stats.null_count);
    if (lo !== undefined) min = Math.min(min, lo);
    if (hi !== undefined) max = Math.max(max, hi);
  }
  if (metadata.row_groups.length === 0) return facts;
  return { ...facts, nullCount: nulls, ...(min <= max ? { min, max } : {}) };
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

/** What a primitive column's values become as categorical tokens (cells.ts). */
function tokenFamily(leaf: SchemaTree): TokenFamily {
  const e = leaf.element;
  const annotation = e.logical_type?.type ?? e.converted_type;
  if (annotation !== undefined && /DATE|TIME|DECIMAL/.test(annotation)) return 'other';
  switch (e.type) {
    case 'BYTE_ARRAY':
    case 'FIXED_LEN_BYTE_ARRAY':
      return 'text';
    case 'INT32':
    case 'INT64':
    case 'FLOAT':
    case 'DOUBLE':
      return 'number';
    case 'BOOLEAN':
      return 'boolean';
    default:
      return 'other';
  }
}

async function readParquetMetadata(file: LogFile, reader: SpanReader): Promise<FileMetaData> {
  if (file.sizeBytes < 12) throw new DataError({ source: file.uri }, `not a Parquet file (only ${file.sizeBytes} bytes)`);
  const tailStart = Math.max(0, file.sizeBytes - FOOTER_FETCH_BYTES);
  const tail = reader.prefetch([{ start: tailStart, end: file.sizeBytes }]);
  let metadata: FileMetaData;
  const buffer = reader.asyncBuffer(tail);
  try {
    metadata = await parquetMetadataAsync(buffer, { initialFetchSize: FOOTER_FETCH_BYTES });
  } catch (err) {
    if (err instanceof StorageError || err instanceof DataError) throw err;
    // hyparquet's own refusals (no PAR1, a length past the file) say what is wrong; a TypeError
    // or RangeError is its decoder failing on bytes that are no footer ("Cannot read properties
    // of undefined (reading 'map')"), which names nothing the reader can act on.
    const why =
      err instanceof TypeError || err instanceof RangeError
        ? `its ${new DataView(await buffer.slice(file.sizeBytes - 8, file.sizeBytes - 4)).getUint32(0, true)} bytes of metadata do not decode as a Parquet footer`
        : err instanceof Error
          ? err.message
          : String(err);
    throw new DataError({ source: file.uri }, `not a Parquet file (bad footer: ${why})`, { cause: err });
  } finally {
    reader.release(tail);
  }
  // Before anything builds the schema tree from it (parquetSchema, hyparquet's read plan).
  checkParquetSchemaShape(file.uri, metadata);
  return metadata;
}

/** Matches each requested column to the schema and rejects wrong types before any row is read. */
function checkParquetSchema(uri: string, metadata: FileMetaData, columns: readonly ColumnRequirement[]): ParquetPlanEntry[] {
  const root = parquetSchema(metadata);
  return columns.map((req) => {
    const tree = root.children.find((c) => c.element.name === req.name);
    if (!tree) {
      if (req.optional) return { req, tree: undefined };
      throw new DataError({ source: uri, column: req.name }, `required ${req.kind} column is missing`);
    }
    const problem = parquetTypeProblem(req.kind, tree);
    if (problem) throw new DataError({ source: uri, column: req.name }, `wrong type for a ${req.kind} column: ${problem}`);
    return { req, tree };
  });
}

const NUMERIC_PHYSICAL = new Set(['INT32', 'INT64', 'FLOAT', 'DOUBLE', 'BOOLEAN']);

/**
 * Annotations whose values hyparquet cannot decode. Its error ("parquet interval not supported")
 * came half-way through a training run and read as corrupt data, after Ingest's footer check had
 * passed the file (DuckDB writes an INTERVAL column as FIXED_LEN_BYTE_ARRAY (INTERVAL)).
 */
const UNDECODABLE: ReadonlyMap<string, string> = new Map([
  ['INTERVAL', 'in DuckDB: epoch(x) for its seconds, or x::VARCHAR'],
  ['BSON', 'e.g. JSON text'],
]);

function describeParquetType(tree: SchemaTree): string {
  const e = tree.element;
  if (tree.children.length > 0) return e.converted_type === 'LIST' || e.logical_type?.type === 'LIST' ? 'a list' : 'a group/struct';
  const annotation = e.logical_type?.type ?? e.converted_type;
  return `${e.repetition_type === 'REPEATED' ? 'repeated ' : ''}${e.type ?? '?'}${annotation ? ` (${annotation})` : ''}`;
}

function parquetTypeProblem(kind: ColumnKind, tree: SchemaTree): string | undefined {
  const e = tree.element;
  const isLeaf = tree.children.length === 0;
  if (kind === 'list') {
    const leaf = listElementLeaf(tree);
    return leaf ? undecodable(leaf, 'a list of ') : `expected a list of primitives, found ${describeParquetType(tree)}`;
  }
  if (!isLeaf || e.repetition_type === 'REPEATED') return `expected a single value, found ${describeParquetType(tree)}`;
  if (kind === 'string') return undecodable(tree, '');
  // numeric / label: numbers and booleans only; no string, no dates (hyparquet would give Dates).
  const annotation = e.logical_type?.type ?? e.converted_type;
  const dateLike = annotation !== undefined && /DATE|TIME/.test(annotation);
  if (!NUMERIC_PHYSICAL.has(e.type ?? '') || dateLike) return `expected a number or boolean, found ${describeParquetType(tree)}`;
  return undefined;
}

function undecodable(leaf: SchemaTree, prefix: string): string | undefined {
  const e = leaf.element;
  const annotation = e.logical_type?.type ?? e.converted_type;
  const hint = annotation === undefined ? undefined : UNDECODABLE.get(annotation);
  if (hint === undefined) return undefined;
  return `found ${prefix}${describeParquetType(leaf)}, which wdp cannot read: write the column as text or numbers (${hint})`;
}

/** The primitive leaf of a LIST column (3-level or legacy 2-level layout), or undefined. */
function listElementLeaf(tree: SchemaTree): SchemaTree | undefined {
  const e = tree.element;
  const isList = e.converted_type === 'LIST' || e.logical_type?.type === 'LIST';
  if (!isList || tree.children.length !== 1) return undefined;
  const repeated = tree.children[0]!;
  if (repeated.element.repetition_type !== 'REPEATED') return undefined;
  if (repeated.children.length === 0) return repeated;
  if (repeated.children.length !== 1) return undefined;
  const leaf = repeated.children[0]!;
  return leaf.children.length === 0 ? leaf : undefined;
}

/** Reads the page headers of the group's requested chunks (already fetched) and checks them (parquet-pages.ts). */
async function checkGroupPages(
  uri: string,
  reader: SpanReader,
  spans: readonly FetchedSpan[],
  group: FileMetaData['row_groups'][number],
  index: number,
  plan: readonly ParquetPlanEntry[],
): Promise<void> {
  const chunks: ChunkToCheck[] = [];
  for (const { req, tree } of plan) {
    const meta = tree && group.columns.find((c) => c.meta_data?.path_in_schema[0] === req.name)?.meta_data;
    if (!meta) continue;
    // The footer check (parquet-footer.ts) made these safe integers inside the file.
    const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
    const bytes = await reader.bytes(spans, start, start + Number(meta.total_compressed_size));
    chunks.push({ column: req.name, list: req.kind === 'list', start, bytes });
  }
  checkRowGroupPages(uri, index, Number(group.num_rows), chunks);
}

async function decodeRowGroup(
  uri: string,
  file: AsyncBuffer,
  metadata: FileMetaData,
  plan: readonly ParquetPlanEntry[],
  group: number,
  groupStart: number,
  groupRows: number,
): Promise<Map<string, ColumnValues>> {
  const pieces = new Map<string, { offset: number; values: DecodedValues }[]>();
  for (const p of plan) if (p.tree) pieces.set(p.req.name, []);
  // One column at a time, so that an error names its column: hyparquet's messages name none, and
  // its decompressors are called without one (parquet-codecs.ts gets it from the closure).
  for (const [column, parts] of pieces) {
    try {
      await parquetRead({
        file,
        metadata,
        columns: [column],
        rowStart: groupStart,
        rowEnd: groupStart + groupRows,
        compressors: parquetDecompressors({ uri, column, group }),
        onChunk: ({ columnData, rowStart }) => {
          parts.push({ offset: rowStart - groupStart, values: columnData });
        },
      });
    } catch (err) {
      if (err instanceof StorageError || err instanceof DataError) throw err;
      throw new DataError(
        { source: uri, column },
        `corrupt Parquet data in rows ${groupStart}..${groupStart + groupRows - 1}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
  const out = new Map<string, ColumnValues>();
  for (const { req } of plan) {
    const parts = pieces.get(req.name) ?? [];
    const whole = parts.length === 1 && parts[0]!.offset === 0 && parts[0]!.values.length === groupRows ? parts[0]!.values : undefined;
    out.set(req.name, whole ? convertWhole(uri, req, whole, groupStart) : convertPieces(uri, req, parts, groupRows, groupStart));
  }
  return out;
}

type DecodedValues = ArrayLike<unknown>;

/**
 * The usual case, one decoded array for the whole row group: converted in place where possible,
 * since the array is ours once hyparquet hands it over (saves a copy per column per group).
 * `groupStart` is the file row of the group's first row (for errors).
 */
function convertWhole(uri: string, req: ColumnRequirement, values: DecodedValues, groupStart: number): ColumnValues {
  if (req.kind === 'numeric' || req.kind === 'label') {
    if (values instanceof Float64Array) return values;
    const t = new Float64Array(values.length);
    fillColumn(uri, req, t, values, 0, values.length, groupStart);
    return t;
  }
  if (!Array.isArray(values)) {
    const t = emptyColumn(req.kind, values.length);
    fillColumn(uri, req, t, values, 0, values.length, groupStart);
    return t;
  }
  const a = values as unknown[];
  if (req.kind === 'string') {
    for (let i = 0; i < a.length; i++) if (typeof a[i] !== 'string') a[i] = toToken(uri, req.name, groupStart + i, a[i]);
  } else {
    for (let i = 0; i < a.length; i++) a[i] = toStringList(uri, req.name, groupStart + i, a[i]);
  }
  return a as ColumnValues;
}

function convertPieces(
  uri: string,
  req: ColumnRequirement,
  parts: readonly { offset: number; values: DecodedValues }[],
  groupRows: number,
  groupStart: number,
): ColumnValues {
  const t = emptyColumn(req.kind, groupRows);
  for (const { offset, values } of parts) fillColumn(uri, req, t, values, offset, groupRows, groupStart);
  return t;
}

/** Converts one decoded piece into `target` at `offset` (rows outside the group are ignored). */
function fillColumn(
  uri: string,
  req: ColumnRequirement,
  target: ColumnValues,
  piece: DecodedValues,
  offset: number,
  groupRows: number,
  groupStart: number,
): void {
  const from = Math.max(0, -offset);
  const to = Math.min(piece.length, groupRows - offset);
  if (req.kind === 'numeric' || req.kind === 'label') {
    const t = target as Float64Array;
    if ((piece instanceof Float64Array || piece instanceof Float32Array || piece instanceof Int32Array) && from < to) {
      t.set(piece.subarray(from, to), offset + from);
      return;
    }
    for (let i = from; i < to; i++) t[offset + i] = toNumber(uri, req.name, piece[i]);
  } else if (req.kind === 'string') {
    const t = target as (string | null)[];
    for (let i = from; i < to; i++) {
      const v = piece[i];
      t[offset + i] = typeof v === 'string' ? v : toToken(uri, req.name, groupStart + offset + i, v);
    }
  } else {
    const t = target as (string[] | null)[];
    for (let i = from; i < to; i++) t[offset + i] = toStringList(uri, req.name, groupStart + offset + i, piece[i]);
  }
}

function toNumber(uri: string, column: string, v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new DataError({ source: uri, column }, `unexpected ${typeof v} value in a numeric column`);
}

/**
 * A categorical cell's token (cells.ts), for file row `row`. hyparquet parses the values of a JSON
 * column: a JSON string, number or boolean gives its token (DuckDB's json_extract writes such
 * columns), but an object or an array is not one token. cellToToken makes it missing, which read a
 * JSON column of objects or arrays as all-missing without a word: it is refused here instead.
 */
function toToken(uri: string, column: string, row: number, v: unknown): string | null {
  const token = cellToToken(v);
  if (token === null && typeof v === 'object' && v !== null)
    throw new DataError(
      { source: uri, column, row },
      `the value is ${Array.isArray(v) ? 'an array' : 'an object'}, not one categorical token (of a JSON column, wdp reads strings, numbers and booleans): write the column as text (in DuckDB: x::VARCHAR), or a list feature as a LIST column`,
    );
  return token;
}

function toStringList(uri: string, column: string, row: number, v: unknown): string[] | null {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v)) {
    const t = toToken(uri, column, row, v);
    return t === null ? [] : [t];
  }
  let allStrings = true;
  for (const x of v) if (typeof x !== 'string') allStrings = false;
  if (allStrings) return v as string[];
  const out: string[] = [];
  for (const x of v) {
    const s = toToken(uri, column, row, x);
    if (s !== null) out.push(s);
  }
  return out;
}
