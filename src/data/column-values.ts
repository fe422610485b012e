/** Allocating and slicing the column arrays of a chunk, in the layout row-chunk.ts describes. */
import type { ColumnKind, ColumnValues } from './row-chunk.ts';

/** A column of `rows` missing values: NaN for numbers, null otherwise. */
export function emptyColumn(kind: ColumnKind, rows: number): ColumnValues {
  if (kind === 'numeric' || kind === 'label') return new Float64Array(rows).fill(NaN);
  return new Array<null>(rows).fill(null);
}

/** Rows [start, end) of a column; a view for Float64Array, the column itself when whole. */
export function sliceColumn(values: ColumnValues, start: number, end: number): ColumnValues {
  if (start === 0 && end === values.length) return values;
  if (values instanceof Float64Array) return values.subarray(start, end);
  return (values as unknown[]).slice(start, end) as ColumnValues;
}
