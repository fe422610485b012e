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
  /**
   * Hash seed. A second split of the same rows (training.validation inside a hashed holdout)
   * needs its own seed, or its share would be the holdout's own rows. @default SPLIT_SEED
   */
  readonly seed?: number;
}

/** One split, several (a row is kept when every split keeps it), or none. */
export type RowSplits = RowSplit | readonly RowSplit[] | undefined;

function splitList(splits: RowSplits): readonly RowSplit[] {
  return splits === undefined ? [] : 'column' in splits ? [splits as RowSplit] : (splits as readonly RowSplit[]);
}

/** Seed so the split is independent of the hash buckets the features use. */
const SPLIT_SEED = 0x5eed_0001;
/** The seed of training.validation's split, independent of the holdout's. */
export const VALIDATION_SPLIT_SEED = 0x5eed_0002;

/** True when the value's row belongs to the holdout. Missing values hash as the empty string. */
export function isHoldoutValue(value: Cell | unknown, fraction: number, seed = SPLIT_SEED): boolean {
  return murmur3(cellToToken(value) ?? '', seed) / 4294967296 < fraction;
}

/** The reader's column list plus the split columns not read already. */
export function withSplitColumn(columns: readonly ColumnRequirement[], splits: RowSplits): ColumnRequirement[] {
  const out = [...columns];
  for (const split of splitList(splits)) {
    if (!out.some((c) => c.name === split.column)) out.push({ name: split.column, kind: 'string' });
  }
  return out;
}

/** Keeps the rows of one side of the split. Row numbers in later errors count kept rows. */
export function splitChunk(chunk: RowChunk, split: RowSplit): RowChunk {
  const key = chunk.columns.get(split.column);
  if (!key) throw new DataError({ source: chunk.source, column: split.column }, 'column for the holdout split is missing');
  const keep: number[] = [];
  const wantHoldout = split.take === 'holdout';
  for (let i = 0; i < chunk.numRows; i++) {
    if (isHoldoutValue((key as ArrayLike<Cell>)[i], split.fraction, split.seed) === wantHoldout) keep.push(i);
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

/** splitChunk (each split in turn) over a stream; passes chunks through untouched without a split. */
export async function* splitRows(chunks: AsyncIterable<RowChunk>, splits: RowSplits): AsyncIterable<RowChunk> {
  const list = splitList(splits);
  for await (const c of chunks) yield list.reduce((chunk, split) => splitChunk(chunk, split), c);
}
