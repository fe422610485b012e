/**
 * A slice of rows from one log file, held by column (what Parquet gives, and what the
 * transforms want: they read one feature at a time), and the kinds of column a reader is asked
 * for. The log reader holds numeric and label columns as Float64Array (NaN = missing), string
 * columns as (string | null)[] and list columns as (string[] | null)[]; in-memory chunks (a
 * scoring request) may hold any Cell.
 */

/** A cell as read from Parquet/CSV: lists are arrays, missing values are null/undefined. */
export type Cell = string | number | bigint | boolean | null | undefined | readonly Cell[];

/** One column's values for the chunk's rows; length === numRows. */
export type ColumnValues = ArrayLike<Cell> | Float64Array | Float32Array | Int32Array | BigInt64Array;

export interface RowChunk {
  /** URI of the file the rows come from (for error messages). */
  readonly source: string;
  /** Index of the chunk's first row within that file. */
  readonly rowOffset: number;
  readonly numRows: number;
  /** Only the columns that were asked for. */
  readonly columns: ReadonlyMap<string, ColumnValues>;
}

/** What a column holds, which decides how the log reader lays out its values (see above). */
export type ColumnKind = 'numeric' | 'string' | 'list' | 'label';

export interface ColumnRequirement {
  readonly name: string;
  readonly kind: ColumnKind;
  /**
   * A file without the column is accepted and the column is filled with NaN / null.
   * @default false
   */
  readonly optional?: boolean;
}

/**
 * What a column's values become as categorical tokens (data/cells.ts): `'7'` and `7` are the
 * same token, but a column that switches between text and numbers changes every token it holds.
 */
export type TokenFamily = 'text' | 'number' | 'boolean' | 'other';

/** What a log file's footer says about one column, read without reading any row. */
export interface ColumnFacts {
  /** The stored type as errors print it, e.g. `INT32`, `BYTE_ARRAY (UTF8)`, `a list of BYTE_ARRAY (UTF8)`. */
  readonly type: string;
  /** The token family of the values (a list's elements). */
  readonly family: TokenFamily;
  /** Numeric and label columns: the smallest and largest value over the file, from its statistics. */
  readonly min?: number;
  readonly max?: number;
  /** Numeric and label columns: missing values over the file, from its statistics. */
  readonly nullCount?: number;
  /**
   * An unsigned 64-bit integer column (UINT_64, or the INTEGER logical type unsigned, as pyarrow
   * writes uint64): its values may not fit a signed INT64.
   */
  readonly unsigned64?: boolean;
}
