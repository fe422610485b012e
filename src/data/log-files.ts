/**
 * Finding the log files: expands the inputs (files, folders, S3 prefixes) into Parquet and CSV
 * files, each with its `dt=YYYY-MM-DD` partition, in a stable order.
 */
import type { BlobStore } from '../storage/blob-store.ts';
import { storeFor } from '../storage/index.ts';
import { DataError } from './errors.ts';

export const LOG_FORMATS = ['parquet', 'csv'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogFile {
  readonly uri: string;
  readonly format: LogFormat;
  /** YYYY-MM-DD from a `dt=YYYY-MM-DD` path segment, when the path has one. */
  readonly partition?: string;
  readonly sizeBytes: number;
  /**
   * The version listed (the store's etag), when the store gave one: every later read of the file
   * asks for exactly this version, so a file rewritten while it is being read (or between two
   * epochs) stops the reader instead of feeding it a mix of two files.
   */
  readonly etag?: string;
}

const PARTITION_RE = /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})(?=\/|$)/g;
const PARQUET_MAGIC = 'PAR1';

/**
 * Expands each input (a file, or a folder/prefix) into log files, sorted by (partition, uri).
 * In folders only `*.parquet` and `*.csv` are taken; names (or folders) starting with `_` or `.`
 * are skipped (`_SUCCESS`, `_temporary/`, `.crc`). A file named explicitly is always taken:
 * `.csv` is CSV, anything else must be Parquet.
 *
 * @throws DataError naming the input when it does not exist or holds no log file, or when a file
 *   given explicitly is not CSV and does not start with the Parquet magic bytes.
 * @example
 * await listLogFiles(['s3://logs/app/']); // [{ uri: 's3://logs/app/dt=2024-05-01/part-0.parquet', format: 'parquet', partition: '2024-05-01', sizeBytes: 1234 }, …]
 */
export async function listLogFiles(uris: readonly string[]): Promise<LogFile[]> {
  const byUri = new Map<string, LogFile>();
  for (const uri of uris) {
    const store = storeFor(uri);
    const info = uri.endsWith('/') ? undefined : await store.stat(uri);
    if (info) {
      const format = await explicitFormat(store, uri, info.sizeBytes);
      byUri.set(uri, logFile(uri, format, info.sizeBytes, info.etag));
      continue;
    }
    const folder = uri.endsWith('/') ? uri : `${uri}/`;
    let found = 0;
    for (const blob of await store.list(folder)) {
      const rel = blob.uri.slice(folder.length);
      if (rel.split('/').some((part) => part.startsWith('_') || part.startsWith('.'))) continue;
      const format = formatByExtension(rel);
      if (!format) continue;
      byUri.set(blob.uri, logFile(blob.uri, format, blob.sizeBytes, blob.etag));
      found++;
    }
    if (found === 0) throw new DataError({ source: uri }, 'no log files found: no such file, or a folder without .parquet/.csv files');
  }
  return [...byUri.values()].sort((a, b) => cmp(a.partition ?? '', b.partition ?? '') || cmp(a.uri, b.uri));
}

function logFile(uri: string, format: LogFormat, sizeBytes: number, etag: string | undefined): LogFile {
  const partition = parsePartition(uri);
  return { uri, format, ...(partition === undefined ? {} : { partition }), sizeBytes, ...(etag === undefined ? {} : { etag }) };
}

/**
 * The date of the last `dt=YYYY-MM-DD` segment of `uri`, if any, and only when it is a calendar
 * date: days are compared as strings, so `dt=2026-13-45` would sort after every real day.
 */
export function parsePartition(uri: string): string | undefined {
  let last: string | undefined;
  for (const m of uri.matchAll(PARTITION_RE)) last = m[1];
  return last !== undefined && isCalendarDay(last) ? last : undefined;
}

/** Whether `day` (YYYY-MM-DD) names a real date: Date.parse rolls 2026-02-30 over to March 2. */
export function isCalendarDay(day: string): boolean {
  const ms = Date.parse(`${day}T00:00:00Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === day;
}

function formatByExtension(name: string): LogFormat | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith('.parquet')) return 'parquet';
  if (lower.endsWith('.csv')) return 'csv';
  return undefined;
}

async function explicitFormat(store: BlobStore, uri: string, sizeBytes: number): Promise<LogFormat> {
  const byName = formatByExtension(uri);
  // Named .parquet files are checked in full by the reader, with a better message for empty ones.
  if (byName) return byName;
  const head = sizeBytes >= 4 ? await store.readRange(uri, 0, 4) : new Uint8Array(0);
  if (new TextDecoder().decode(head) === PARQUET_MAGIC) return 'parquet';
  throw new DataError({ source: uri }, 'not a Parquet file (no PAR1 magic) and not named .csv');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
