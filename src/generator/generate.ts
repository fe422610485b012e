/**
 * `wdp generate`: synthetic app-store impression logs shaped like the Wide & Deep paper's setting
 * (Cheng et al. 2016, Google Play), one Parquet partition per day:
 *
 *   <out>/dt=YYYY-MM-DD/part-00000.parquet   (more part files when a day exceeds maxRowsPerFile)
 *
 * The data is built so that wide_deep beats both wide-only and deep-only on held-out days; see
 * world.ts for the signal design and truth.ts for measuring it.
 */
import type { BlobStore } from '../storage/blob-store.ts';
import { WdpError } from '../util/errors.ts';
import { dateOfEpochDay, epochDayOf, generateDayWithTruth } from './day.ts';
import { encodeDayParquet } from './parquet.ts';
import { DEFAULT_GENERATOR_PARAMS, type GeneratorParams } from './world.ts';

// The generator's API beyond generateLogs, for tests and experiments that look inside a day.
export { generateDayWithTruth, plantedLogit } from './day.ts';
export { DEFAULT_GENERATOR_PARAMS } from './world.ts';
export type { GeneratorParams } from './world.ts';
export { truthAucs, rocAuc } from './truth.ts';
export { LOG_COLUMNS } from './parquet.ts';

/** First day written when `out` holds no partitions and no startDate is given. */
export const DEFAULT_START_DATE = '2026-01-01';
/** By default, a day with more rows than this is split into several part files. */
export const MAX_ROWS_PER_FILE = 1_000_000;

export interface GenerateLogsOptions {
  /** Number of consecutive days (partitions) to write. */
  readonly days: number;
  readonly rowsPerDay: number;
  /** Seeds the world (apps, users, planted pairs) and, with the date, each day's rows. */
  readonly seed: number;
  /** Folder or URI prefix the `dt=` partitions go under. */
  readonly out: string;
  /**
   * First date, YYYY-MM-DD.
   * @default the day after the newest `dt=` partition under `out`, or DEFAULT_START_DATE
   */
  readonly startDate?: string;
  /** Permute each day's labels, keeping features (to check that a bad model is rejected). @default false */
  readonly shuffleLabels?: boolean;
  /** Rows per Parquet row group. @default 100_000 */
  readonly rowGroupSize?: number;
  /** A day with more rows is split into equal part files. @default MAX_ROWS_PER_FILE (1M) */
  readonly maxRowsPerFile?: number;
  /** Called after each part file is written. */
  readonly onProgress?: (rowsDone: number, rowsTotal: number) => void;
  /** Overrides of the signal design. @default DEFAULT_GENERATOR_PARAMS */
  readonly params?: Partial<GeneratorParams>;
  /**
   * A day whose partition already holds files (a `startDate` on a day written before): refused
   * before anything is written, or, when true, its files replaced by the new day's (a part file
   * the new day does not write is deleted, so the day never mixes two generations).
   * @default false
   */
  readonly replaceExisting?: boolean;
}

/** `wdp generate` asked to write over days that hold files, without `--force`; nothing was written. */
export class ExistingDaysError extends WdpError {}

export interface GenerateLogsResult {
  /** URIs of the written part files, in date then part order. */
  readonly files: string[];
  readonly rows: number;
  /** The dates written, YYYY-MM-DD. */
  readonly days: string[];
}

const PARTITION_RE = /\/dt=(\d{4}-\d{2}-\d{2})\//;

/** `out` without trailing slashes, so `out` and `out/` name the same place. */
function trimSlash(uri: string): string {
  return uri.replace(/\/+$/, '');
}

/** The newest `dt=` date under `out`, or undefined when there is none. */
export async function newestPartitionDate(out: string, store: Pick<BlobStore, 'list'>): Promise<string | undefined> {
  return [...(await partitionFiles(out, store)).keys()].sort().at(-1);
}

/** The files under each `dt=` partition of `out`, by date. */
async function partitionFiles(out: string, store: Pick<BlobStore, 'list'>): Promise<Map<string, string[]>> {
  const byDate = new Map<string, string[]>();
  for (const blob of await store.list(`${trimSlash(out)}/`)) {
    const m = PARTITION_RE.exec(blob.uri);
    if (m) byDate.set(m[1]!, [...(byDate.get(m[1]!) ?? []), blob.uri]);
  }
  return byDate;
}

/**
 * Writes `days` daily partitions of synthetic impression logs.
 *
 * Each day's rows depend only on (seed, date, params), never on how many days one call writes,
 * so `--days 1` run three times equals `--days 3` once.
 *
 * @example
 * const { files } = await generateLogs({ days: 3, rowsPerDay: 500_000, seed: 42, out: 'data/logs' }, storeFor('data/logs'));
 * // files: ['data/logs/dt=2026-01-01/part-00000.parquet', …]
 */
export async function generateLogs(
  opts: GenerateLogsOptions,
  store: Pick<BlobStore, 'write' | 'list' | 'delete'>,
): Promise<GenerateLogsResult> {
  if (!Number.isInteger(opts.days) || opts.days < 1) throw new RangeError(`days must be a positive integer, got ${opts.days}`);
  if (!Number.isInteger(opts.rowsPerDay) || opts.rowsPerDay < 1)
    throw new RangeError(`rowsPerDay must be a positive integer, got ${opts.rowsPerDay}`);
  if (!Number.isInteger(opts.seed)) throw new RangeError(`seed must be an integer, got ${opts.seed}`);
  const params: GeneratorParams = { ...DEFAULT_GENERATOR_PARAMS, ...opts.params };
  const out = trimSlash(opts.out);

  const existing = await partitionFiles(out, store);
  let firstDay: number;
  if (opts.startDate !== undefined) firstDay = epochDayOf(opts.startDate);
  else {
    const newest = [...existing.keys()].sort().at(-1);
    firstDay = newest === undefined ? epochDayOf(DEFAULT_START_DATE) : epochDayOf(newest) + 1;
  }
  const taken = Array.from({ length: opts.days }, (_, d) => dateOfEpochDay(firstDay + d)).filter((date) => existing.has(date));
  if (taken.length > 0 && !opts.replaceExisting)
    throw new ExistingDaysError(
      `${out} already holds ${taken.map((d) => `dt=${d} (${existing.get(d)!.length} file(s))`).join(', ')}: nothing was written. Leave out the start date to add days after the newest one, choose another, or replace those days' files (--force)`,
    );

  const rowsTotal = opts.days * opts.rowsPerDay;
  const files: string[] = [];
  const days: string[] = [];
  let rowsDone = 0;
  const parts = Math.ceil(opts.rowsPerDay / (opts.maxRowsPerFile ?? MAX_ROWS_PER_FILE));
  for (let d = 0; d < opts.days; d++) {
    const date = dateOfEpochDay(firstDay + d);
    const day = generateDayWithTruth({ seed: opts.seed, date, rows: opts.rowsPerDay, shuffleLabels: opts.shuffleLabels ?? false, params });
    const metadata = { 'wdp.generator': JSON.stringify({ version: 1, seed: opts.seed, date, shuffleLabels: opts.shuffleLabels ?? false }) };
    for (let part = 0; part < parts; part++) {
      // Equal-sized parts, so no file is a tiny remainder.
      const start = Math.floor((part * opts.rowsPerDay) / parts);
      const end = Math.floor(((part + 1) * opts.rowsPerDay) / parts);
      const bytes = encodeDayParquet(day.columns, { start, end, rowGroupSize: opts.rowGroupSize ?? 100_000, metadata });
      const uri = `${out}/dt=${date}/part-${String(part).padStart(5, '0')}.parquet`;
      await store.write(uri, bytes);
      files.push(uri);
      rowsDone += end - start;
      opts.onProgress?.(rowsDone, rowsTotal);
    }
    // A replaced day keeps no part file of its previous generation (compared by the name after
    // `dt=<date>/`: a listing may spell the folder differently, e.g. absolute for a relative `out`).
    const written = new Set(Array.from({ length: parts }, (_, part) => `part-${String(part).padStart(5, '0')}.parquet`));
    for (const old of existing.get(date) ?? []) if (!written.has(old.slice(old.lastIndexOf('/') + 1))) await store.delete(old);
    days.push(date);
  }
  return { files, rows: rowsDone, days };
}
