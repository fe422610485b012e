/** Writes tiny-data chunks as Parquet files, for tests that go through the log reader. */
import type { RowChunk } from '../../src/data/row-chunk.ts';
import { writeParquet, type ParquetColumn } from './parquet-write.ts';

/** A tiny-data chunk's columns as writeParquet takes them. */
export function tinyColumns(chunk: RowChunk): ParquetColumn[] {
  const c = chunk.columns;
  return [
    { name: 'user', type: 'STRING', data: c.get('user') as string[] },
    { name: 'item', type: 'STRING', data: c.get('item') as string[] },
    { name: 'tags', type: 'STRING_LIST', data: c.get('tags') as string[][] },
    { name: 'x', type: 'DOUBLE', data: c.get('x') as Float64Array },
    { name: 'y', type: 'INT32', data: Array.from(c.get('y') as Float64Array) },
  ];
}

export async function writeTinyParquet(uri: string, chunk: RowChunk, edit?: (cols: ParquetColumn[]) => ParquetColumn[]): Promise<void> {
  let cols = tinyColumns(chunk);
  if (edit) cols = edit(cols);
  await writeParquet(uri, cols, { rowGroupSize: 1000 });
}
