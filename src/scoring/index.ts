/**
 * The scoring area's public surface: what the scoring Lambda, `wdp score|serve|bench score` and
 * the workflow's dry run need. Nothing here imports training code or tfjs.
 */
export { Scorer } from './scorer.ts';
export type { RequestTimings, ScorerOptions } from './scorer.ts';
export type { AnyScoreRequest, ColumnarScoreRequest, ScoreRequest, ScoreResponse } from './request.ts';
export { DEFAULT_PLAN_CACHE_SIZE, ServingModel } from './serving-model.ts';
export type { PlanCacheStats, PlanLease, ServingModelOptions, SplitPlan } from './serving-model.ts';
export { SPLIT_TOWER_KINDS } from './split-tower.ts';
export type { SplitTowerKind } from './split-tower.ts';
export type { ScoreParquetOptions, ScoreParquetResult } from './batch.ts';
export { bodyTooLargeMessage, createScoreHandler, DEFAULT_MAX_BODY_BYTES, FAILURE_KINDS } from './handler.ts';
export type {
  ErrorBody,
  FailedEvent,
  FailureKind,
  HandlerLogger,
  HttpResult,
  ModelLoadEvent,
  ScoreHandler,
  ScoreHandlerOptions,
  ScoredEvent,
} from './handler.ts';
export { ModelUnavailableError, RequestError, ScoringError, ServedModelMismatchError } from './errors.ts';
export { checkServedModel } from './expected-model.ts';
export { MODEL_ID_ENV, MODEL_URI_ENV, MODEL_VERSION_ENV, REGISTRY_URI_ENV } from './env-names.ts';
export type { ExpectedModel } from './expected-model.ts';

import type { ScoreParquetOptions, ScoreParquetResult } from './batch.ts';
import { MODEL_URI_ENV } from './env-names.ts';
import type { ExpectedModel } from './expected-model.ts';

/** Batch scoring (see batch.ts); loaded on first use so online paths never load the Parquet writer. */
export async function scoreParquet(options: ScoreParquetOptions): Promise<ScoreParquetResult> {
  return (await import('./batch.ts')).scoreParquet(options);
}

/**
 * One Parquet object through batch scoring, with the model from `modelUri` or $WDP_MODEL_URI
 * (the workflow's per-object step).
 */
export async function scoreParquetObject(args: {
  input: string;
  output: string;
  modelUri?: string;
  /** The model `modelUri` was named as (see ScoreParquetOptions.expectedModel). */
  expectedModel?: ExpectedModel;
}): Promise<ScoreParquetResult> {
  const model = args.modelUri ?? process.env[MODEL_URI_ENV];
  if (!model) throw new Error(`no model: pass modelUri or set ${MODEL_URI_ENV}`);
  return scoreParquet({
    model,
    input: args.input,
    output: args.output,
    ...(args.expectedModel ? { expectedModel: args.expectedModel } : {}),
  });
}
