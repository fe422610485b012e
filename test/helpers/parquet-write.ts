/**
 * Writes small-to-medium Parquet test fixtures
 * with explicit column types, so what the log reader sees never depends on type inference.
 */
import type { CompressionCodec } from 'hyparquet';
import type { SchemaElement } from 'hyparquet-writer';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { storeFor } from '../../src/storage/index.ts';
import { DataError } from '../../src/data/errors.ts';

/** Column types the writer supports; STRING_LIST is a standard 3-level LIST<UTF8>. */
export const PARQUET_COLUMN_TYPES = ['DOUBLE', 'FLOAT', 'INT32', 'INT64', 'STRING', 'BOOLEAN', 'STRING_LIST'] as const;
export type ParquetColumnType = (typeof PARQUET_COLUMN_TYPES)[number];

/** One value of a column; null/undefined is a missing value (the column must be nullable). */
export type ParquetValue = string | number | bigint | boolean | null | undefined | readonly (string | null)[];

export interface ParquetColumn {
  readonly name: string;
  readonly type: ParquetColumnType;
  /**
   * One value per row, every column the same length. INT64 takes bigints or integer numbers;
   * STRING_LIST takes string arrays (an empty array is an empty list, null a missing list).
   */
  readonly data: ArrayLike<ParquetValue> | Float64Array | Float32Array | Int32Array | BigInt64Array;
  /**
   * Whether the column may hold nulls (Parquet OPTIONAL); false makes it REQUIRED.
   * @default true
   */
  readonly nullable?: boolean;
}

export interface WriteParquetOptions {
  /**
   * Rows per row group; the reader emits at least one chunk per row group.
   * @default 100_000
   */
  readonly rowGroupSize?: number;
  /**
   * Page compression; any codec but SNAPPY needs its compressor in `compressors` (hyparquet-writer
   * ships only SNAPPY's).
   * @default 'SNAPPY'
   */
  readonly codec?: CompressionCodec;
  /** Compressors by codec: each takes a page's bytes and returns them compressed. */
  readonly compressors?: Partial<Record<CompressionCodec, (page: Uint8Array) => Uint8Array>>;
}

/**
 * Writes `columns` as one Parquet file (SNAPPY) at `uri`, atomically (temp file + rename on
 * disk, one PutObject on S3). The file is built in memory first.
 *
 * @example
 * await writeParquet('/tmp/logs/dt=2024-05-01/part-0.parquet', [
 *   { name: 'label', type: 'DOUBLE', data: [1, 0] },
 *   { name: 'installed', type: 'STRING_LIST', data: [['a', 'b'], []] },
 * ]);
 */
export async function writeParquet(uri: string, columns: readonly ParquetColumn[], options: WriteParquetOptions = {}): Promise<void> {
  await storeFor(uri).write(uri, encodeParquet(uri, columns, options));
}

/** The bytes writeParquet would write (`uri` only names the file in errors). */
export function encodeParquet(uri: string, columns: readonly ParquetColumn[], options: WriteParquetOptions = {}): Uint8Array {
  const rowGroupSize = options.rowGroupSize ?? 100_000;
  if (!Number.isInteger(rowGroupSize) || rowGroupSize < 1) {
    throw new DataError({ source: uri }, `rowGroupSize must be a positive integer, got ${rowGroupSize}`);
  }
  if (columns.length === 0) throw new DataError({ source: uri }, 'cannot write a Parquet file without columns');
  const numRows = columns[0]!.data.length;
  const schema: SchemaElement[] = [{ name: 'root', num_children: columns.length }];
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column.name)) throw new DataError({ source: uri, column: column.name }, 'duplicate column name');
    seen.add(column.name);
    if (column.data.length !== numRows) {
      throw new DataError(
        { source: uri, column: column.name },
        `has ${column.data.length} values, expected ${numRows} like column "${columns[0]!.name}"`,
      );
    }
    schema.push(...schemaFor(column));
  }
  // Lists of tokens (installed apps…) repeat a vocabulary, but the writer's 1000-value sample sees
  // mostly distinct values and picks PLAIN; forced dictionary made a 1M-row test file 40% smaller and its list
  // column several times faster to read (one decoded string per distinct value, not per element).
  const columnData = columns.map((c) => ({
    name: c.name,
    data: toWriterData(uri, c),
    ...(c.type === 'STRING_LIST' ? { encoding: 'RLE_DICTIONARY' as const } : {}),
  }));
  const buffer = parquetWriteBuffer({
    schema,
    columnData,
    rowGroupSize,
    codec: options.codec ?? 'SNAPPY',
    ...(options.compressors ? { compressors: options.compressors } : {}),
  });
  return new Uint8Array(buffer);
}

function schemaFor(column: ParquetColumn): SchemaElement[] {
  const repetition_type = column.nullable === false ? 'REQUIRED' : 'OPTIONAL';
  const { name } = column;
  switch (column.type) {
    case 'STRING':
      return [{ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type }];
    case 'STRING_LIST':
      // The 3-level layout from the Parquet spec (LogicalTypes.md, "Lists"), which hyparquet,
      // Arrow and Spark all read back as arrays.
      return [
        { name, repetition_type, converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      ];
    default:
      return [{ name, type: column.type, repetition_type }];
  }
}

type WriterData = Float64Array | Float32Array | Int32Array | BigInt64Array | unknown[];

function toWriterData(uri: string, column: ParquetColumn): WriterData {
  const { data } = column;
  if (column.type === 'INT64' && !(data instanceof BigInt64Array)) {
    // The writer's plain encoder takes only bigints for INT64.
    return Array.from(data as ArrayLike<ParquetValue>, (v, row) => {
      if (typeof v === 'number') {
        if (!Number.isInteger(v)) throw new DataError({ source: uri, column: column.name, row }, `INT64 value ${v} is not an integer`);
        return BigInt(v);
      }
      return v;
    });
  }
  if (data instanceof Float64Array || data instanceof Float32Array || data instanceof Int32Array || data instanceof BigInt64Array) {
    return data;
  }
  // The writer wants a real array (it calls .slice per row group); copy lists so callers'
  // readonly arrays are never handed on.
  const out = Array.from(data as ArrayLike<ParquetValue>, (v) => (Array.isArray(v) ? [...(v as readonly (string | null)[])] : v));
  return out;
}
