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
