/**
 * A slice of rows from one log file, held by column (what Parquet gives, and what the
 * transforms want: they read one feature at a time).
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
