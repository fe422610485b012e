/**
 * A stable split of rows into training and holdout by a hash of one column (e.g. a user or
 * impression id), for the config's `holdout: { kind: "hash" }`: the same row always lands on the
 * same side, whichever files or runs it is read in.
 */
import { murmur3 } from '../util/murmur3.ts';
import { cellToToken } from './cells.ts';
import { DataError } from './errors.ts';
import type { Cell, ColumnRequirement, ColumnValues, RowChunk } from './row-chunk.ts';

export interface RowSplit {
  /** Column whose value is hashed. */
  readonly column: string;
  /** Share of rows in the holdout, in (0, 1). */
  readonly fraction: number;
  /** Which side to keep. */
  readonly take: 'train' | 'holdout';
}

/** Seed so the split is independent of the hash buckets the features use. */
const SPLIT_SEED = 0x5eed_0001;

/** True when the value's row belongs to the holdout. Missing values hash as the empty string. */
export function isHoldoutValue(value: Cell | unknown, fraction: number): boolean {
  return murmur3(cellToToken(value) ?? '', SPLIT_SEED) / 4294967296 < fraction;
}

/** The reader's column list plus the split column when it is not read already. */
export function withSplitColumn(columns: readonly ColumnRequirement[], split: RowSplit | undefined): ColumnRequirement[] {
  if (!split || columns.some((c) => c.name === split.column)) return [...columns];
  return [...columns, { name: split.column, kind: 'string' }];
}

/** Keeps the rows of one side of the split. Row numbers in later errors count kept rows. */
export function splitChunk(chunk: RowChunk, split: RowSplit): RowChunk {
  const key = chunk.columns.get(split.column);
  if (!key) throw new DataError({ source: chunk.source, column: split.column }, 'column for the holdout split is missing');
  const keep: number[] = [];
  const wantHoldout = split.take === 'holdout';
  for (let i = 0; i < chunk.numRows; i++) {
    if (isHoldoutValue((key as ArrayLike<Cell>)[i], split.fraction) === wantHoldout) keep.push(i);
  }
  if (keep.length === chunk.numRows) return chunk;
  const columns = new Map<string, ColumnValues>();
  for (const [name, values] of chunk.columns) {
    if (ArrayBuffer.isView(values)) {
      const typed = values as Float64Array | Float32Array | Int32Array | BigInt64Array;
      const Ctor = typed.constructor as new (n: number) => typeof typed;
      const out = new Ctor(keep.length);
      for (let k = 0; k < keep.length; k++) out[k] = typed[keep[k]!]!;
      columns.set(name, out);
    } else {
      const arr = values as ArrayLike<Cell>;
      columns.set(
        name,
        keep.map((i) => arr[i]),
      );
    }
  }
  return { source: chunk.source, rowOffset: chunk.rowOffset, numRows: keep.length, columns };
}

/** splitChunk over a stream; passes chunks through untouched without a split. */
export async function* splitRows(chunks: AsyncIterable<RowChunk>, split: RowSplit | undefined): AsyncIterable<RowChunk> {
  for await (const c of chunks) yield split ? splitChunk(c, split) : c;
}
