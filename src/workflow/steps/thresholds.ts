/**
 * The gates a candidate must pass before it serves, in the spirit of TFX Evaluator: absolute
 * value thresholds, change thresholds against the champion, and a serving dry run. Set in AWS by
 * the CDK context `validation` (the Validate Lambda's WDP_VALIDATION env), locally by
 * `wdp pipeline --thresholds FILE`.
 */
import { z } from 'zod';

export const thresholdsSchema = z
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

export type ValidationThresholds = z.output<typeof thresholdsSchema>;
export type ValidationThresholdsInput = z.input<typeof thresholdsSchema>;

/**
 * The check a holdout fails when it cannot validate any model (one label class, or no rows): it
 * comes first in the report, and a rejection by it holds only the holdout (days.ts).
 */
export const HOLDOUT_LABELS_CHECK = 'holdout_labels';

export const DEFAULT_THRESHOLDS: ValidationThresholds = thresholdsSchema.parse({});
