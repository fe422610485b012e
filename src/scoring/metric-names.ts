/**
 * Names of the scoring Lambda's CloudWatch metrics, shared by the code that publishes them
 * (lambdas/score.ts, through Powertools Metrics) and the alarms that watch them
 * (cdk/scoring-service.ts). An alarm whose namespace, name or dimensions differ from what is
 * published by one character watches a metric that never exists and stays quiet forever, so
 * both sides read them from here. Constants only: the CDK app imports this file.
 */
export const SCORING_METRICS = {
  namespace: 'wdp',
  /** Powertools' `serviceName`; it publishes it as dimension `service` on every metric. */
  service: 'wdp-scoring',
  /** The dimension Powertools Metrics names after the service (`service`, fixed by Powertools). */
  serviceDimension: 'service',
  /** 4xx answers: the caller's request was refused (bad JSON, unknown feature, wrong method, …). */
  clientErrors: 'clientErrors',
  /** 5xx answers: internal errors, and 503 when the model could not be loaded. */
  serverErrors: 'serverErrors',
  /** Failed attempts to load the model (the init phase's preload included), however many requests waited on each. */
  modelLoadFailures: 'modelLoadFailures',
  /** The pinned WDP_MODEL_URI is not the registry's champion (counted at cold start). */
  championMismatch: 'ChampionMismatch',
} as const;
