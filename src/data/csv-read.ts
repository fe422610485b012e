/**
 * Reading CSV log files (hand-made data) into RowChunks: a header row naming the columns, numbers
 * parsed strictly, empty cells missing, lists `|`-separated.
 */
import { parse as parseCsv } from 'csv-parse';
import { Readable } from 'node:stream';
import { StorageError, StoragePreconditionError } from '../storage/errors.ts';
import { storeFor } from '../storage/index.ts';
import { quoted } from '../util/terminal-text.ts';
import { emptyColumn, sliceColumn } from './column-values.ts';
import { DataError, fileReplacedError } from './errors.ts';
import type { LogFile } from './log-files.ts';
import type { ColumnRequirement, ColumnValues, RowChunk } from './row-chunk.ts';

type CsvColumn = { readonly req: ColumnRequirement; readonly index: number };

/**
 * Longest CSV record, in bytes. csv-parse holds a record whole until its end, so without a limit
 * a line that never ends (or a quote never closed) is buffered to the end of the file: a 1 GB line
 * took 1.4 GB and 39 s before V8's string limit stopped it. A hand-made log row is a few KB.
 */
export const MAX_CSV_RECORD_BYTES = 64 << 20;

/** csv-parse options of both readers: a BOM is skipped (UTF-8 or UTF-16 LE), records are bounded. */
function parseOptions(maxRecordBytes: number) {
  return { bom: true, skip_empty_lines: true, relax_column_count: true, info: true, max_record_size: maxRecordBytes };
}

/** Streams one CSV file as chunks of at most `chunkRows` rows (see readLogChunks). */
export async function* readCsvChunks(
  file: LogFile,
  columns: readonly ColumnRequirement[],
  chunkRows: number,
  /** Tests lower it to check the limit on small files. */
  maxRecordBytes = MAX_CSV_RECORD_BYTES,
): AsyncIterable<RowChunk> {
  const store = storeFor(file.uri);
  // The field count is checked here, not by the parser: csv-parse reads ahead of the records we
  // consume, so its error came before our row counter reached the record (it said "row 0").
  // info: each record comes with the line it ends on, so errors name the line an editor shows.
  const parser = parseCsv(parseOptions(maxRecordBytes));
  const source = Readable.from(store.readStream(file.uri, file.etag !== undefined ? { ifMatch: file.etag } : {}));
  source.on('error', (err) => parser.destroy(err));
  source.pipe(parser);

  let plan: CsvColumn[] | undefined;
  let headerFields = 0;
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
    for await (const { record, info } of parser as AsyncIterable<CsvRecord>) {
      if (!plan) {
        plan = checkCsvHeader(file.uri, record, columns);
        headerFields = record.length;
        buffers = fresh();
        continue;
      }
      const at = { row: rowIndex, line: info.lines };
      checkFieldCount(file.uri, record, headerFields, at);
      const slot = rowIndex - chunkStart;
      for (const { req, index } of plan) {
        if (index < 0) continue;
        const target = buffers.get(req.name)!;
        const text = record[index] ?? '';
        if (req.kind === 'numeric' || req.kind === 'label') (target as Float64Array)[slot] = parseCsvNumber(file.uri, req.name, at, text);
        else if (req.kind === 'string') (target as (string | null)[])[slot] = text === '' ? null : text;
        else (target as (string[] | null)[])[slot] = text === '' ? [] : text.split('|');
      }
      rowIndex++;
      if (rowIndex - chunkStart === chunkRows) {
        yield flush(chunkRows);
        chunkStart = rowIndex;
        buffers = fresh();
      }
    }
  } catch (err) {
    if (err instanceof StoragePreconditionError) throw fileReplacedError(file.uri, err);
    if (err instanceof DataError || err instanceof StorageError) throw err;
    throw csvParseError(file.uri, err, maxRecordBytes);
  } finally {
    source.destroy();
    parser.destroy();
  }
  if (!plan) throw new DataError({ source: file.uri }, 'empty CSV file (no header row)');
  if (rowIndex === 0) throw new DataError({ source: file.uri }, 'empty file (0 rows)');
  if (rowIndex > chunkStart) yield flush(rowIndex - chunkStart);
}

/**
 * Opens one CSV file and checks its header names the requested columns and that a first row
 * follows; stops reading there, so only the file's first bytes are fetched.
 */
export async function checkCsvFile(file: LogFile, columns: readonly ColumnRequirement[]): Promise<void> {
  const store = storeFor(file.uri);
  // No to_line: it ended the parse inside a quote opened on line 2 without an error, so a quote
  // never closed was reported as "empty file (0 rows)". The loop stops after the first row instead.
  const parser = parseCsv(parseOptions(MAX_CSV_RECORD_BYTES));
  const source = Readable.from(store.readStream(file.uri, file.etag !== undefined ? { ifMatch: file.etag } : {}));
  source.on('error', (err) => parser.destroy(err));
  source.pipe(parser);
  let records = 0;
  let headerFields = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<CsvRecord>) {
      if (records === 0) {
        checkCsvHeader(file.uri, record, columns);
        headerFields = record.length;
      } else checkFieldCount(file.uri, record, headerFields, { row: 0, line: info.lines });
      if (++records === 2) break;
    }
  } catch (err) {
    if (err instanceof StoragePreconditionError) throw fileReplacedError(file.uri, err);
    if (err instanceof DataError || err instanceof StorageError) throw err;
    throw csvParseError(file.uri, err);
  } finally {
    source.destroy();
    parser.destroy();
  }
  if (records === 0) throw new DataError({ source: file.uri }, 'empty CSV file (no header row)');
  if (records === 1) throw new DataError({ source: file.uri }, 'empty file (0 rows)');
}

/** A parsed record with csv-parse's `info` (the option): `lines` is the line the record ends on. */
type CsvRecord = { readonly record: string[]; readonly info: { readonly lines: number } };

/** Where a data record is: its 0-based row among the data rows, and its 1-based line in the file. */
type CsvAt = { readonly row: number; readonly line: number };

/** Every data row has one field per header column (a short or long row means a shifted or broken record). */
function checkFieldCount(uri: string, record: readonly string[], headerFields: number, at: CsvAt): void {
  if (record.length !== headerFields)
    throw new DataError(
      { source: uri, ...at },
      `bad CSV: data row ${at.row + 1} has ${record.length} field(s) where the header has ${headerFields}`,
    );
}

/** Another csv-parse error (an unclosed quote, …) as a DataError naming the line it stopped at, when it says. */
function csvParseError(uri: string, err: unknown, maxRecordBytes = MAX_CSV_RECORD_BYTES): DataError {
  const e = typeof err === 'object' && err !== null ? (err as { lines?: unknown; code?: unknown; records?: unknown }) : {};
  const line = typeof e.lines === 'number' && e.lines > 0 ? { line: e.lines } : {};
  let message = err instanceof Error ? err.message : String(err);
  if (e.code === 'CSV_MAX_RECORD_SIZE') {
    // `records` counts the header. `lines` is where the limit was hit, far below a quote opened
    // early; csv-parse does not say whether a quote is open, so both causes are named.
    const row = typeof e.records === 'number' ? `data row ${e.records}` : 'a record';
    message = `${row} is longer than ${maxRecordBytes} bytes, the limit (a line that does not end, or a quote that is never closed)`;
  }
  return new DataError({ source: uri, ...line }, `bad CSV: ${message}`, { cause: err });
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

function parseCsvNumber(uri: string, column: string, at: CsvAt, text: string): number {
  const t = text.trim();
  if (t === '' || t === 'NaN' || t.toLowerCase() === 'null') return NaN;
  if (t === 'true') return 1;
  if (t === 'false') return 0;
  const n = Number(t);
  if (Number.isNaN(n))
    throw new DataError({ source: uri, column, ...at }, `not a number: ${quoted(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`);
  return n;
}
