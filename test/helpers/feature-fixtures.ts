/** Fixtures for the feature transform tests: in-memory chunks and configs. */
import { parseConfig, type WdpConfigInput } from '../../src/config/index.ts';
import type { WdpConfig } from '../../src/config/schema.ts';
import type { ColumnValues, RowChunk } from '../../src/data/row-chunk.ts';

/** An in-memory chunk of the given columns (numRows from the first). */
export function chunk(columns: Record<string, ColumnValues>, opts: { source?: string; rowOffset?: number } = {}): RowChunk {
  const first = Object.values(columns)[0];
  return {
    source: opts.source ?? 'mem://day.parquet',
    rowOffset: opts.rowOffset ?? 0,
    numRows: first ? first.length : 0,
    columns: new Map(Object.entries(columns)),
  };
}

export async function* chunks(...cs: RowChunk[]): AsyncIterable<RowChunk> {
  yield* cs;
}

/** A config with label 'clicked' and the given features and parts. */
export function cfg(input: Partial<WdpConfigInput> & Pick<WdpConfigInput, 'features'>): WdpConfig {
  return parseConfig({ label: 'clicked', ...input });
}

/** Ids of row i of a CSR pair. */
export function row(offsets: Int32Array, ids: Int32Array, i: number): number[] {
  return [...ids.subarray(offsets[i]!, offsets[i + 1]!)];
}
