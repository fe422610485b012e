/**
 * Reading CSV log files (hand-made data) into RowChunks: a header row naming the columns, numbers
 * parsed strictly, empty cells missing, lists `|`-separated.
 */
import { parse as parseCsv } from 'csv-parse';
import { Readable } from 'node:stream';
import { StorageError } from '../storage/errors.ts';
import { storeFor } from '../storage/index.ts';
import { emptyColumn, sliceColumn } from './column-values.ts';
import { DataError } from './errors.ts';
import type { LogFile } from './log-files.ts';
import type { ColumnRequirement, ColumnValues, RowChunk } from './row-chunk.ts';

type CsvColumn = { readonly req: ColumnRequirement; readonly index: number };

/** Streams one CSV file as chunks of at most `chunkRows` rows (see readLogChunks). */
export async function* readCsvChunks(file: LogFile, columns: readonly ColumnRequirement[], chunkRows: number): AsyncIterable<RowChunk> {
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

/**
 * Opens one CSV file and checks its header names the requested columns and that a first row
 * follows; stops reading there, so only the file's first bytes are fetched.
 */
export async function checkCsvFile(file: LogFile, columns: readonly ColumnRequirement[]): Promise<void> {
  const store = storeFor(file.uri);
  const parser = parseCsv({ bom: true, skip_empty_lines: true, relax_column_count: false, to_line: 2 });
  const source = Readable.from(store.readStream(file.uri));
  source.on('error', (err) => parser.destroy(err));
  source.pipe(parser);
  let records = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (records === 0) checkCsvHeader(file.uri, record, columns);
      if (++records === 2) break;
    }
  } catch (err) {
    if (err instanceof DataError || err instanceof StorageError) throw err;
    throw new DataError({ source: file.uri }, `bad CSV: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    source.destroy();
    parser.destroy();
  }
  if (records === 0) throw new DataError({ source: file.uri }, 'empty CSV file (no header row)');
  if (records === 1) throw new DataError({ source: file.uri }, 'empty file (0 rows)');
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
