/**
 * The serving dry run: before a candidate may serve, load it through the scoring code the
 * scoring Lambda runs, send it requests built from holdout rows, and check that the scores are
 * finite, equal the evaluation predictions for the same rows, and come back within the latency
 * budget. (The Wide & Deep paper's "dry run" before pushing a model to serving.)
 */
import { splitRows, withSplitColumn, type RowSplit } from '../../data/row-split.ts';
import { listLogFiles, readLogChunks } from '../../data/logs.ts';
import type { Cell, ColumnValues } from '../../data/row-chunk.ts';
import type { FeatureTransforms } from '../../features/transforms.ts';

/** One online request, in the scoring API's shape. */
export interface DryRunRequest {
  readonly context: Record<string, unknown>;
  readonly candidates: Record<string, unknown>[];
}

/** The part of the scoring API the dry run uses. */
export interface ServingScorer {
  /** What served the request, for the report (e.g. 'src/scoring Scorer'). */
  readonly name: string;
  /** Scores aligned with `request.candidates`. */
  score(request: DryRunRequest): Promise<readonly number[]>;
  dispose?(): void | Promise<void>;
}

/** Opens a model folder for serving. The default goes through `src/scoring` (see validate.ts). */
export type ServingScorerFactory = (modelUri: string) => Promise<ServingScorer>;

export interface DryRunResult {
  readonly requests: number;
  readonly scorer: string;
  readonly p95LatencyMs: number;
  /** Largest |serving score − expected| over all scored rows. */
  readonly maxAbsDiff: number;
  readonly allFinite: boolean;
}

/**
 * Reads the first `count` holdout rows as plain records {feature: value}, the way a client
 * would send them: numbers as numbers (missing → null), strings, string lists.
 */
export async function holdoutRecords(
  transforms: FeatureTransforms,
  holdout: readonly string[],
  count: number,
  split?: RowSplit,
): Promise<Record<string, unknown>[]> {
  const files = await listLogFiles([...holdout]);
  const columns = transforms.requiredColumns(false);
  const features = new Set(columns.map((c) => c.name));
  const out: Record<string, unknown>[] = [];
  for await (const chunk of splitRows(readLogChunks(files, { columns: withSplitColumn(columns, split) }), split)) {
    for (let r = 0; r < chunk.numRows && out.length < count; r++) {
      const rec: Record<string, unknown> = {};
      for (const [name, values] of chunk.columns) if (features.has(name)) rec[name] = plainCell((values as ColumnValues)[r] as Cell);
      out.push(rec);
    }
    if (out.length >= count) break;
  }
  return out;
}

function plainCell(v: Cell): unknown {
  if (typeof v === 'number') return Number.isNaN(v) ? null : v;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(plainCell);
  return v ?? null;
}

/**
 * Sends `records` in requests of `perRequest` candidates (empty context: every feature rides on
 * the candidate), and compares each score with `expected[i]`, the evaluation prediction for
 * record i.
 */
export async function runDryRun(
  scorer: ServingScorer,
  records: readonly Record<string, unknown>[],
  expected: ArrayLike<number>,
  perRequest: number,
): Promise<DryRunResult> {
  const latencies: number[] = [];
  let maxAbsDiff = 0;
  let allFinite = true;
  let requests = 0;
  // One warm-up request: the first call pays for lazy backend start-up, as a cold Lambda would.
  if (records.length > 0) await scorer.score({ context: {}, candidates: records.slice(0, perRequest) });
  for (let start = 0; start < records.length; start += perRequest) {
    const candidates = records.slice(start, start + perRequest);
    const t0 = performance.now();
    const scores = await scorer.score({ context: {}, candidates });
    latencies.push(performance.now() - t0);
    requests++;
    if (scores.length !== candidates.length) {
      allFinite = false;
      maxAbsDiff = Infinity;
      continue;
    }
    scores.forEach((s, i) => {
      if (!Number.isFinite(s)) allFinite = false;
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(s - expected[start + i]!));
    });
  }
  latencies.sort((a, b) => a - b);
  const p95 = latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil(0.95 * latencies.length) - 1)]! : 0;
  return {
    requests,
    scorer: scorer.name,
    p95LatencyMs: p95,
    maxAbsDiff: Number.isFinite(maxAbsDiff) ? maxAbsDiff : Number.MAX_VALUE,
    allFinite,
  };
}
