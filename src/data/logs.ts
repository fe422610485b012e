/**
 * Finds and streams the training logs: Parquet (the normal case) or CSV (hand-made data), from
 * a local folder or S3, as RowChunks holding only the columns the pipeline asks for.
 *
 * Column values in the chunks:
 *  - numeric, label → Float64Array; a null/missing value is NaN (INT64 → number, boolean → 0/1);
 *  - string → (string | null)[]; other values become their canonical token (cells.ts); a JSON
 *    object or array (hyparquet parses JSON columns) is no token and is refused;
 *  - list → (string[] | null)[]; a missing element inside a list is dropped.
 * An optional column that a file lacks is filled with NaN / null, so every chunk of a run has
 * the same columns.
 */
import { checkCsvFile, readCsvChunks } from './csv-read.ts';
import { DataError } from './errors.ts';
import type { LogFile } from './log-files.ts';
import { checkParquetFile, readParquetChunks } from './parquet-read.ts';
import type { ColumnFacts, ColumnRequirement, RowChunk } from './row-chunk.ts';

export { LOG_FORMATS, listLogFiles, parsePartition, type LogFile, type LogFormat } from './log-files.ts';
export type { ColumnFacts, ColumnRequirement, TokenFamily } from './row-chunk.ts';

export interface ReadLogChunksOptions {
  readonly columns: readonly ColumnRequirement[];
  /**
   * Most rows per chunk. A Parquet row group is decoded whole and then cut into chunks of at most
   * this many rows, so memory is bounded by the row-group size, not by the file size.
   * @default 65536
   */
  readonly chunkRows?: number;
}

/**
 * Streams the rows of `files`, in order, as chunks of at most `chunkRows` rows holding only the
 * requested columns (layout: see the module comment). Each file's schema is checked before any
 * of its rows are read.
 *
 * @throws DataError naming the file (and column/row) for: not Parquet, empty (0 bytes or 0 rows),
 *   a required column missing, a column of the wrong type (or of one wdp cannot decode: INTERVAL,
 *   BSON), an unparsable CSV number, a JSON object or array in a categorical column.
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

/**
 * Checks that `file` opens and holds `columns` with usable types, as readLogChunks checks it
 * before its first row, but reading only the Parquet footer or the CSV header and first row: cheap
 * enough to run on every new file before a training run starts.
 *
 * @returns per requested column the file has, its type and (numbers) the range its statistics
 *   give; empty for CSV, whose cells carry no type
 * @throws DataError naming the file (and column) for the same faults readLogChunks reports up front
 */
export async function checkLogFile(file: LogFile, columns: readonly ColumnRequirement[]): Promise<ReadonlyMap<string, ColumnFacts>> {
  if (file.sizeBytes === 0) throw new DataError({ source: file.uri }, 'empty file (0 bytes)');
  if (file.format === 'parquet') return checkParquetFile(file, columns);
  await checkCsvFile(file, columns);
  return new Map();
}
