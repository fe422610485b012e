/** Fixtures shared by the log reader tests (test/data/logs, log-files, parquet-read, csv-read). */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { DataError } from '../../src/data/errors.ts';
import { type ColumnRequirement, type LogFile, listLogFiles, readLogChunks } from '../../src/data/logs.ts';
import type { ParquetColumn } from './parquet-write.ts';
import type { RowChunk } from '../../src/data/row-chunk.ts';

/** Registers a temp dir for the test file (removed after it); the result gives a fresh folder per call. */
export function freshFolders(): () => string {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wdp-logs-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return () => join(dir, `t${n++}`);
}

export async function collect(files: LogFile[], columns: ColumnRequirement[], chunkRows?: number): Promise<RowChunk[]> {
  const out: RowChunk[] = [];
  for await (const c of readLogChunks(files, chunkRows === undefined ? { columns } : { columns, chunkRows })) out.push(c);
  return out;
}

export async function oneFile(uri: string): Promise<LogFile[]> {
  return listLogFiles([uri]);
}

/** Asserts a DataError naming `source` (and `column`/`row` when given) in both fields and message. */
export function isDataError(source: string, column?: string, row?: number) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof DataError, `expected DataError, got ${String(err)}`);
    assert.equal(err.source, source);
    assert.ok(err.message.includes(source), err.message);
    if (column !== undefined) {
      assert.equal(err.column, column);
      assert.ok(err.message.includes(`"${column}"`), err.message);
    }
    if (row !== undefined) assert.equal(err.row, row);
    return true;
  };
}

/** Every column type the reader converts, three rows with a null in each nullable column. */
export const ALL_TYPES: ParquetColumn[] = [
  { name: 'label', type: 'INT32', data: [1, 0, null] },
  { name: 'price', type: 'DOUBLE', data: [1.25, null, -3] },
  { name: 'score32', type: 'FLOAT', data: [0.5, 2, null] },
  { name: 'count64', type: 'INT64', data: [2n ** 40n, null, -7n] },
  { name: 'flag', type: 'BOOLEAN', data: [true, false, null] },
  { name: 'country', type: 'STRING', data: ['fr', null, ''] },
  { name: 'app_id', type: 'INT64', data: [123n, 9007199254740993n, null] },
  { name: 'ratio', type: 'DOUBLE', data: [0.25, 3, null] },
  { name: 'installed', type: 'STRING_LIST', data: [['a', 'b'], [], null] },
  { name: 'unused', type: 'STRING', data: ['u', 'u', 'u'] },
];
