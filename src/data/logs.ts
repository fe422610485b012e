/**
 * Finds and streams the training logs: Parquet (the normal case) or CSV (hand-made data), from
 * a local folder or S3, as RowChunks holding only the columns the pipeline asks for.
 *
 * Column values in the chunks:
 *  - numeric, label → Float64Array; a null/missing value is NaN (INT64 → number, boolean → 0/1);
 *  - string → (string | null)[]; other values become their canonical token (cells.ts);
 *  - list → (string[] | null)[]; a missing element inside a list is dropped.
 * An optional column that a file lacks is filled with NaN / null, so every chunk of a run has
 * the same columns.
 */
import { parse as parseCsv } from 'csv-parse';
import { type AsyncBuffer, type FileMetaData, type SchemaTree, parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import { Readable } from 'node:stream';
import type { BlobStore } from '../storage/blob-store.ts';
import { StorageError } from '../storage/errors.ts';
import { storeFor } from '../storage/index.ts';
import { cellToToken } from './cells.ts';
import { DataError } from './errors.ts';
import type { ColumnKind, ColumnRequirement, ColumnValues, RowChunk } from './row-chunk.ts';

export type { ColumnKind, ColumnRequirement } from './row-chunk.ts';

export const LOG_FORMATS = ['parquet', 'csv'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogFile {
  readonly uri: string;
  readonly format: LogFormat;
  /** YYYY-MM-DD from a `dt=YYYY-MM-DD` path segment, when the path has one. */
  readonly partition?: string;
  readonly sizeBytes: number;
}

export interface ReadLogChunksOptions {
  readonly columns: readonly ColumnRequirement[];
  /**
   * Most rows per chunk. A Parquet row group is decoded whole and then cut into chunks of at most
   * this many rows, so memory is bounded by the row-group size, not by the file size.
   * @default 65536
   */
  readonly chunkRows?: number;
}

const PARTITION_RE = /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})(?=\/|$)/g;
const PARQUET_MAGIC = 'PAR1';
/** Requested column chunks closer than this are fetched in one range read. */
const MERGE_GAP_BYTES = 1 << 20;
/** The footer is usually far smaller; one read of this much gets it in one round trip. */
const FOOTER_FETCH_BYTES = 1 << 18;

/**
 * Expands each input (a file, or a folder/prefix) into log files, sorted by (partition, uri).
 * In folders only `*.parquet` and `*.csv` are taken; names (or folders) starting with `_` or `.`
 * are skipped (`_SUCCESS`, `_temporary/`, `.crc`). A file named explicitly is always taken:
 * `.csv` is CSV, anything else must be Parquet.
 *
 * @throws DataError naming the input when it does not exist or holds no log file, or when a file
 *   given explicitly is not CSV and does not start with the Parquet magic bytes.
 * @example
 * await listLogFiles(['s3://logs/app/']); // [{ uri: 's3://logs/app/dt=2024-05-01/part-0.parquet', format: 'parquet', partition: '2024-05-01', sizeBytes: 1234 }, …]
 */
export async function listLogFiles(uris: readonly string[]): Promise<LogFile[]> {
  const byUri = new Map<string, LogFile>();
  for (const uri of uris) {
    const store = storeFor(uri);
    const info = uri.endsWith('/') ? undefined : await store.stat(uri);
    if (info) {
      const format = await explicitFormat(store, uri, info.sizeBytes);
      byUri.set(uri, logFile(uri, format, info.sizeBytes));
      continue;
    }
    const folder = uri.endsWith('/') ? uri : `${uri}/`;
    let found = 0;
    for (const blob of await store.list(folder)) {
      const rel = blob.uri.slice(folder.length);
      if (rel.split('/').some((part) => part.startsWith('_') || part.startsWith('.'))) continue;
      const format = formatByExtension(rel);
      if (!format) continue;
      byUri.set(blob.uri, logFile(blob.uri, format, blob.sizeBytes));
      found++;
    }
    if (found === 0) throw new DataError({ source: uri }, 'no log files found: no such file, or a folder without .parquet/.csv files');
  }
  return [...byUri.values()].sort((a, b) => cmp(a.partition ?? '', b.partition ?? '') || cmp(a.uri, b.uri));
}

/**
 * Streams the rows of `files`, in order, as chunks of at most `chunkRows` rows holding only the
 * requested columns (layout: see the module comment). Each file's schema is checked before any
 * of its rows are read.
 *
 * @throws DataError naming the file (and column/row) for: not Parquet, empty (0 bytes or 0 rows),
 *   a required column missing, a column of the wrong type, an unparsable CSV number.
 * @example
 * for await (const chunk of readLogChunks(files, { columns: [{ name: 'label', kind: 'label' }] })) {
 *   const labels = chunk.columns.get('label') as Float64Array;
 * }
 */
export async function* readLogChunks(files: readonly LogFile[], options: ReadLogChunksOptions): AsyncIterable<RowChunk> {
  const chunkRows = options.chunkRows ?? 65536;
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new RangeError(`chunkRows must be a positive integer, got ${chunkRows}`);
  const names = new Set<string>();
  for (const c of options.columns) {
    if (names.has(c.name)) throw new RangeError(`column "${c.name}" is requested twice`);
    names.add(c.name);
  }
  for (const file of files) {
    if (file.sizeBytes === 0) throw new DataError({ source: file.uri }, 'empty file (0 bytes)');
    if (file.format === 'parquet') yield* readParquetChunks(file, options.columns, chunkRows);
    else yield* readCsvChunks(file, options.columns, chunkRows);
  }
}

// ---------------------------------------------------------------------------------------------
// Listing

function logFile(uri: string, format: LogFormat, sizeBytes: number): LogFile {
  const partition = parsePartition(uri);
  return partition === undefined ? { uri, format, sizeBytes } : { uri, format, partition, sizeBytes };
}

/** The date of the last `dt=YYYY-MM-DD` segment of `uri`, if any. */
export function parsePartition(uri: string): string | undefined {
  let last: string | undefined;
  for (const m of uri.matchAll(PARTITION_RE)) last = m[1];
  return last;
}

function formatByExtension(name: string): LogFormat | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith('.parquet')) return 'parquet';
  if (lower.endsWith('.csv')) return 'csv';
  return undefined;
}

async function explicitFormat(store: BlobStore, uri: string, sizeBytes: number): Promise<LogFormat> {
  const byName = formatByExtension(uri);
  // Named .parquet files are checked in full by the reader, with a better message for empty ones.
  if (byName) return byName;
  const head = sizeBytes >= 4 ? await store.readRange(uri, 0, 4) : new Uint8Array(0);
  if (new TextDecoder().decode(head) === PARQUET_MAGIC) return 'parquet';
  throw new DataError({ source: uri }, 'not a Parquet file (no PAR1 magic) and not named .csv');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Parquet

type ParquetPlanEntry = { readonly req: ColumnRequirement; readonly tree: SchemaTree | undefined };
type ByteSpan = { start: number; end: number };
type FetchedSpan = { readonly start: number; readonly end: number; readonly bytes: Promise<Uint8Array> };

async function* readParquetChunks(file: LogFile, columns: readonly ColumnRequirement[], chunkRows: number): AsyncIterable<RowChunk> {
  const store = storeFor(file.uri);
  const reader = new SpanReader(store, file.uri, file.sizeBytes);
  const metadata = await readParquetMetadata(file, reader);
  const numRows = Number(metadata.num_rows);
  if (numRows === 0) throw new DataError({ source: file.uri }, 'empty file (0 rows)');
  const plan = checkParquetSchema(file.uri, metadata, columns);
  const present = plan.filter((p) => p.tree !== undefined).map((p) => p.req.name);

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
      decoded = await decodeRowGroup(file.uri, reader.asyncBuffer(spans), metadata, plan, groupStart, groupRows);
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

async function readParquetMetadata(file: LogFile, reader: SpanReader): Promise<FileMetaData> {
  if (file.sizeBytes < 12) throw new DataError({ source: file.uri }, `not a Parquet file (only ${file.sizeBytes} bytes)`);
  const tailStart = Math.max(0, file.sizeBytes - FOOTER_FETCH_BYTES);
  const tail = reader.prefetch([{ start: tailStart, end: file.sizeBytes }]);
  try {
    return await parquetMetadataAsync(reader.asyncBuffer(tail), { initialFetchSize: FOOTER_FETCH_BYTES });
  } catch (err) {
    if (err instanceof StorageError) throw err;
    throw new DataError({ source: file.uri }, `not a Parquet file (bad footer: ${err instanceof Error ? err.message : String(err)})`, {
      cause: err,
    });
  } finally {
    reader.release(tail);
  }
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
    return leaf ? undefined : `expected a list of primitives, found ${describeParquetType(tree)}`;
  }
  if (!isLeaf || e.repetition_type === 'REPEATED') return `expected a single value, found ${describeParquetType(tree)}`;
  if (kind === 'string') return undefined;
  // numeric / label: numbers and booleans only; no string, no dates (hyparquet would give Dates).
  const annotation = e.logical_type?.type ?? e.converted_type;
  const dateLike = annotation !== undefined && /DATE|TIME/.test(annotation);
  if (!NUMERIC_PHYSICAL.has(e.type ?? '') || dateLike) return `expected a number or boolean, found ${describeParquetType(tree)}`;
  return undefined;
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

/** Byte spans of the requested columns' chunks in one row group, merged across small gaps. */
function groupSpans(group: FileMetaData['row_groups'][number], columnNames: readonly string[]): ByteSpan[] {
  const wanted = new Set(columnNames);
  const spans: ByteSpan[] = [];
  for (const chunk of group.columns) {
    const meta = chunk.meta_data;
    if (!meta || !wanted.has(meta.path_in_schema[0] ?? '')) continue;
    const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
    spans.push({ start, end: start + Number(meta.total_compressed_size) });
  }
  spans.sort((a, b) => a.start - b.start);
  const merged: ByteSpan[] = [];
  for (const s of spans) {
    const last = merged.at(-1);
    if (last && s.start - last.end <= MERGE_GAP_BYTES) last.end = Math.max(last.end, s.end);
    else merged.push({ ...s });
  }
  return merged;
}

/**
 * Serves hyparquet's many small reads from a few large prefetched ranges, so a row group costs
 * one (or a few) range reads on S3 instead of one per page or column.
 */
class SpanReader {
  readonly #store: BlobStore;
  readonly #uri: string;
  readonly #byteLength: number;

  constructor(store: BlobStore, uri: string, byteLength: number) {
    this.#store = store;
    this.#uri = uri;
    this.#byteLength = byteLength;
  }

  prefetch(spans: readonly ByteSpan[]): FetchedSpan[] {
    return spans.map((s) => {
      const bytes = this.#store.readRange(this.#uri, s.start, s.end);
      // A prefetch whose group is never decoded (an earlier error) must not be an unhandled rejection.
      bytes.catch(() => undefined);
      return { start: s.start, end: s.end, bytes };
    });
  }

  /** Drops references so the bytes can be collected (the promises may still be held by hyparquet briefly). */
  release(spans: FetchedSpan[]): void {
    spans.length = 0;
  }

  asyncBuffer(spans: readonly FetchedSpan[]): AsyncBuffer {
    return {
      byteLength: this.#byteLength,
      slice: async (start: number, end?: number): Promise<ArrayBuffer> => {
        const stop = end ?? this.#byteLength;
        const span = spans.find((s) => s.start <= start && stop <= s.end);
        const bytes = span
          ? (await span.bytes).subarray(start - span.start, stop - span.start)
          : await this.#store.readRange(this.#uri, start, stop);
        // hyparquet wants an ArrayBuffer of exactly these bytes; the copy is a memcpy, far cheaper than decoding.
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      },
    };
  }
}

async function decodeRowGroup(
  uri: string,
  file: AsyncBuffer,
  metadata: FileMetaData,
  plan: readonly ParquetPlanEntry[],
  groupStart: number,
  groupRows: number,
): Promise<Map<string, ColumnValues>> {
  const pieces = new Map<string, { offset: number; values: DecodedValues }[]>();
  for (const p of plan) if (p.tree) pieces.set(p.req.name, []);
  if (pieces.size > 0) {
    try {
      await parquetRead({
        file,
        metadata,
        columns: [...pieces.keys()],
        rowStart: groupStart,
        rowEnd: groupStart + groupRows,
        onChunk: ({ columnName, columnData, rowStart }) => {
          pieces.get(columnName)?.push({ offset: rowStart - groupStart, values: columnData });
        },
      });
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw new DataError(
        { source: uri },
        `corrupt Parquet data in rows ${groupStart}..${groupStart + groupRows - 1}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
  const out = new Map<string, ColumnValues>();
  for (const { req } of plan) {
    const parts = pieces.get(req.name) ?? [];
    const whole = parts.length === 1 && parts[0]!.offset === 0 && parts[0]!.values.length === groupRows ? parts[0]!.values : undefined;
    out.set(req.name, whole ? convertWhole(uri, req, whole) : convertPieces(uri, req, parts, groupRows));
  }
  return out;
}

type DecodedValues = ArrayLike<unknown>;

/**
 * The usual case, one decoded array for the whole row group: converted in place where possible,
 * since the array is ours once hyparquet hands it over (saves a copy per column per group).
 */
function convertWhole(uri: string, req: ColumnRequirement, values: DecodedValues): ColumnValues {
  if (req.kind === 'numeric' || req.kind === 'label') {
    if (values instanceof Float64Array) return values;
    const t = new Float64Array(values.length);
    fillColumn(uri, req, t, values, 0, values.length);
    return t;
  }
  if (!Array.isArray(values)) {
    const t = emptyColumn(req.kind, values.length);
    fillColumn(uri, req, t, values, 0, values.length);
    return t;
  }
  const a = values as unknown[];
  if (req.kind === 'string') {
    for (let i = 0; i < a.length; i++) if (typeof a[i] !== 'string') a[i] = cellToToken(a[i]);
  } else {
    for (let i = 0; i < a.length; i++) a[i] = toStringList(a[i]);
  }
  return a as ColumnValues;
}

function convertPieces(
  uri: string,
  req: ColumnRequirement,
  parts: readonly { offset: number; values: DecodedValues }[],
  groupRows: number,
): ColumnValues {
  const t = emptyColumn(req.kind, groupRows);
  for (const { offset, values } of parts) fillColumn(uri, req, t, values, offset, groupRows);
  return t;
}

function emptyColumn(kind: ColumnKind, rows: number): ColumnValues {
  if (kind === 'numeric' || kind === 'label') return new Float64Array(rows).fill(NaN);
  return new Array<null>(rows).fill(null);
}

/** Converts one decoded piece into `target` at `offset` (rows outside the group are ignored). */
function fillColumn(
  uri: string,
  req: ColumnRequirement,
  target: ColumnValues,
  piece: DecodedValues,
  offset: number,
  groupRows: number,
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
      t[offset + i] = typeof v === 'string' ? v : cellToToken(v);
    }
  } else {
    const t = target as (string[] | null)[];
    for (let i = from; i < to; i++) t[offset + i] = toStringList(piece[i]);
  }
}

function toNumber(uri: string, column: string, v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new DataError({ source: uri, column }, `unexpected ${typeof v} value in a numeric column`);
}

function toStringList(v: unknown): string[] | null {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v)) {
    const t = cellToToken(v);
    return t === null ? [] : [t];
  }
  let allStrings = true;
  for (const x of v) if (typeof x !== 'string') allStrings = false;
  if (allStrings) return v as string[];
  const out: string[] = [];
  for (const x of v) {
    const s = cellToToken(x);
    if (s !== null) out.push(s);
  }
  return out;
}

function sliceColumn(values: ColumnValues, start: number, end: number): ColumnValues {
  if (start === 0 && end === values.length) return values;
  if (values instanceof Float64Array) return values.subarray(start, end);
  return (values as unknown[]).slice(start, end) as ColumnValues;
}

// ---------------------------------------------------------------------------------------------
// CSV

type CsvColumn = { readonly req: ColumnRequirement; readonly index: number };

async function* readCsvChunks(file: LogFile, columns: readonly ColumnRequirement[], chunkRows: number): AsyncIterable<RowChunk> {
  const store = storeFor(file.uri);
  const parser = parseCsv({ bom: true, skip_empty_lines: true, relax_column_count: false });
  const source = Readable.from(store.readStream(file.uri));
  source.on('error', (err) => parser.destroy(err));
  source.pipe(parser);

  let plan: CsvColumn[] | undefined;
  let rowIndex = 0;
  let chunkStart = 0;
  let buffers = new Map<string, ColumnValues>();
  const flush = (rows: number): RowChunk => {
    const chunkColumns = new Map<string, ColumnValues>();
    for (const [name, values] of buffers) chunkColumns.set(name, sliceColumn(values, 0, rows));
    return { source: file.uri, rowOffset: chunkStart, numRows: rows, columns: chunkColumns };
  };
  const fresh = (): Map<string, ColumnValues> => new Map(columns.map((c) => [c.name, emptyColumn(c.kind, chunkRows)]));

  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (!plan) {
        plan = checkCsvHeader(file.uri, record, columns);
        buffers = fresh();
        continue;
      }
      const at = rowIndex - chunkStart;
      for (const { req, index } of plan) {
        if (index < 0) continue;
        const target = buffers.get(req.name)!;
        const text = record[index] ?? '';
        if (req.kind === 'numeric' || req.kind === 'label')
          (target as Float64Array)[at] = parseCsvNumber(file.uri, req.name, rowIndex, text);
        else if (req.kind === 'string') (target as (string | null)[])[at] = text === '' ? null : text;
        else (target as (string[] | null)[])[at] = text === '' ? [] : text.split('|');
      }
      rowIndex++;
      if (rowIndex - chunkStart === chunkRows) {
        yield flush(chunkRows);
        chunkStart = rowIndex;
        buffers = fresh();
      }
    }
  } catch (err) {
    if (err instanceof DataError || err instanceof StorageError) throw err;
    throw new DataError({ source: file.uri, row: rowIndex }, `bad CSV: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  } finally {
    source.destroy();
    parser.destroy();
  }
  if (!plan) throw new DataError({ source: file.uri }, 'empty CSV file (no header row)');
  if (rowIndex === 0) throw new DataError({ source: file.uri }, 'empty file (0 rows)');
  if (rowIndex > chunkStart) yield flush(rowIndex - chunkStart);
}

function checkCsvHeader(uri: string, header: readonly string[], columns: readonly ColumnRequirement[]): CsvColumn[] {
  const names = header.map((h) => h.trim());
  return columns.map((req) => {
    const index = names.indexOf(req.name);
    if (index < 0 && !req.optional)
      throw new DataError({ source: uri, column: req.name }, `required ${req.kind} column is missing from the CSV header`);
    return { req, index };
  });
}

function parseCsvNumber(uri: string, column: string, row: number, text: string): number {
  const t = text.trim();
  if (t === '' || t === 'NaN' || t.toLowerCase() === 'null') return NaN;
  if (t === 'true') return 1;
  if (t === 'false') return 0;
  const n = Number(t);
  if (Number.isNaN(n))
    throw new DataError({ source: uri, column, row }, `not a number: ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`);
  return n;
}
