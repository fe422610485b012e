/**
 * The gates a candidate must pass before it serves, in the spirit of TFX Evaluator: absolute
 * value thresholds, change thresholds against the champion, and a serving dry run. Set in AWS by
 * the CDK context `validation` (the Validate Lambda's WDP_VALIDATION env), locally by
 * `wdp pipeline --thresholds FILE`.
 */
import { z } from 'zod';
import { WorkflowError } from '../errors.ts';

/** The fields alone, without the cross-field refinements (so `.partial()` works on it). */
export const thresholdFieldsSchema = z
  .object({
    /** Candidate holdout AUC must be at least this. @default 0.6 */
    minAuc: z.number().min(0).max(1).default(0.6),
    /** Candidate holdout logloss must be at most this. @default 0.6 */
    maxLogloss: z.number().positive().default(0.6),
    /** Mean prediction ÷ observed rate must lie in [min, max]. @default [0.8, 1.25] */
    calibrationMin: z.number().positive().default(0.8),
    calibrationMax: z.number().positive().default(1.25),
    /** Candidate AUC may be at most this much below the champion's on the same holdout. @default 0.01 */
    maxAucDrop: z.number().min(0).default(0.01),
    /** Candidate logloss may be at most this much above the champion's. @default 0.01 */
    maxLoglossRise: z.number().min(0).default(0.01),
    /** Requests the serving dry run sends. @default 32 */
    dryRunRequests: z.number().int().min(1).max(10_000).default(32),
    /** Each request scores this many candidates (holdout rows). @default 8 */
    dryRunCandidatesPerRequest: z.number().int().min(1).max(1000).default(8),
    /** p95 latency of one dry-run request, after one warm-up request. @default 250 */
    latencyBudgetMs: z.number().positive().default(250),
    /** Largest allowed |serving score − evaluation prediction| for the same row. @default 1e-4 */
    parityTolerance: z.number().positive().default(1e-4),
    /**
     * The opt-in int8 tower (config `serving.quantize: "int8"`) serves only when, on the holdout,
     * its AUC is within this of the float32 tower's (both through the serving code). @default 0.0005
     */
    int8MaxAucDelta: z.number().min(0).max(1).default(0.0005),
    /** …and the mean Spearman rank correlation of its scores with float32's, per group of rows, is at least this. @default 0.999 */
    int8MinRankCorrelation: z.number().min(-1).max(1).default(0.999),
    /** …and the mean top-K overlap is at least this (reported always; 0 gates nothing). @default 0 */
    int8MinTopKOverlap: z.number().min(0).max(1).default(0),
    /** K of the top-K overlap. @default 10 */
    int8TopK: z.number().int().min(1).max(1000).default(10),
    /** Rows per group ("request") for the rank correlation and top-K: consecutive holdout rows. @default 100 */
    int8GroupSize: z.number().int().min(2).max(100_000).default(100),
    /** Holdout rows the int8 comparison scores at most (the first ones). @default 200000 */
    int8MaxRows: z.number().int().min(2).max(100_000_000).default(200_000),
  })
  .strict();

/** Pairs that bound one value from both sides: the lower must not exceed the upper. */
const ORDERED_PAIRS = [['calibrationMin', 'calibrationMax']] as const;

/** Adds an issue at the upper field of each pair whose lower bound exceeds it (defaults fill gaps). */
function boundsInOrder(t: { readonly [K in (typeof ORDERED_PAIRS)[number][number]]?: number | undefined }, ctx: z.RefinementCtx): void {
  for (const [lo, hi] of ORDERED_PAIRS) {
    const a = t[lo] ?? DEFAULT_FIELDS[lo];
    const b = t[hi] ?? DEFAULT_FIELDS[hi];
    if (a > b) ctx.addIssue({ code: 'custom', path: [hi], message: `must be at least ${lo} (${a}), got ${b}` });
  }
}

const DEFAULT_FIELDS = thresholdFieldsSchema.parse({});

export const thresholdsSchema = thresholdFieldsSchema.superRefine(boundsInOrder);

/** Some thresholds, the rest left to their defaults (the CDK context `validation`), refined the same way. */
export const partialThresholdsSchema = thresholdFieldsSchema.partial().superRefine(boundsInOrder);

export type ValidationThresholds = z.output<typeof thresholdsSchema>;
export type ValidationThresholdsInput = z.input<typeof thresholdsSchema>;

/**
 * The check a holdout fails when it cannot validate any model (one label class, or no rows): it
 * comes first in the report, and a rejection by it holds only the holdout (days.ts).
 */
export const HOLDOUT_LABELS_CHECK = 'holdout_labels';

export const DEFAULT_THRESHOLDS: ValidationThresholds = thresholdsSchema.parse({});

/**
 * Thresholds from JSON text (a `--thresholds` file, the Validate Lambda's WDP_VALIDATION), or one
 * error line naming `source` and the field: `t.json: calibrationMax: must be at least …`.
 * @throws WorkflowError naming the source for text that is not JSON, an unknown field, a bad value
 * @example parseThresholdsText('{"minAuc":0.7}', 'thresholds.json').minAuc === 0.7
 */
export function parseThresholdsText(text: string, source: string): ValidationThresholds {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    // One line: V8 quotes the start of the text, newlines included.
    const why = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ');
    throw new WorkflowError(`${source}: not valid JSON (${why})`, { cause: e });
  }
  const r = thresholdsSchema.safeParse(json);
  if (r.success) return r.data;
  const known = Object.keys(thresholdFieldsSchema.shape).join(', ');
  const problems = r.error.issues.map((i) =>
    i.code === 'unrecognized_keys'
      ? `unknown field${i.keys.length === 1 ? '' : 's'} ${i.keys.map((k) => `"${k}"`).join(', ')} (known: ${known})`
      : `${i.path.join('.') || '(top level)'}: ${i.message}`,
  );
  throw new WorkflowError(`${source}: ${problems.join('; ')}`);
}
