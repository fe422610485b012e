/**
 * The scoring Lambda: online requests (direct invocation, Function URL or API Gateway). Batch
 * scoring is not here: the batch state machine's Distributed Map calls lambdas/score-batch.ts,
 * and this function may only read the bucket. The event logic lives in src/scoring/handler.ts;
 * this file adds the model URI from configuration and Powertools logs and metrics.
 *
 * Configuration: WDP_MODEL_URI (set by the promotion step when it publishes a new version) names
 * the model folder; it is read once per container and the model is loaded once per container, in
 * the init phase (awaited: see initWaitMs), else on the first event. WDP_MODEL_VERSION (`v3`) and
 * WDP_MODEL_ID, set with it, name the model the folder must hold: a loaded model with another id is
 * refused like one that cannot be loaded (error log, modelLoadFailures, 503), never served; without
 * WDP_MODEL_ID the id is that version's in the registry, and a version whose id nothing names is
 * refused too. The registry's champion, served when WDP_MODEL_URI is empty, is checked against the
 * id the registry gives it. When it is empty — a version published by `cdk deploy` from the
 * template rather than by Promote — the champion named in the registry (WDP_REGISTRY_URI) is
 * served, so a redeploy never leaves `live` without a model. Optional: WDP_MAX_CANDIDATES (default
 * 1000), WDP_SCORING_BACKEND (auto | onnx | js, default auto), WDP_PRELOAD (0: load the model on
 * the first event instead of in the init phase), WDP_WARM_UP (1 or 0: score made-up requests in the
 * init phase, Scorer.warmUp; default only in a provisioned environment), WDP_PLAN_CACHE_SIZE (most
 * scoring plans, one per distinct set of context features, each with an ONNX session; default
 * DEFAULT_PLAN_CACHE_SIZE = 16, ~9 MB each at the paper shape), WDP_CONTEXT_FEATURES
 * (comma-separated: the only features a request may give in `context`, which leaves one plan;
 * default unset: any feature). Metrics per request: rows, latency, planCacheHits/Misses/Evictions
 * (counts) and planCacheSize on success; clientErrors (4xx) or serverErrors (5xx, the 503 of a
 * model that cannot be loaded included) on failure, since a failure is answered rather than thrown
 * and Lambda's own Errors metric never counts it; modelLoadFailures per failed load of the model;
 * ChampionMismatch at cold start. Alarms watch serverErrors and ChampionMismatch
 * (cdk/scoring-service.ts); names in src/scoring/metric-names.ts.
 *
 * Packaging (NodejsFunction / esbuild), so the zip stays far below Lambda's 250 MB unzipped:
 *   - bundle this file with esbuild (format esm, platform node, target node22 as set in
 *     cdk/lambda-defaults.ts, running on the nodejs24.x runtime); only src/scoring,
 *     the features/model loader, storage and zod/hyparquet/onnx-proto/Powertools go in — no
 *     training code, and never tfjs (tfjs-node alone is ~380 MB);
 *   - `onnxruntime-node` stays external (it loads a native binding and libonnxruntime.so from
 *     paths relative to its package); cdk/lambda-defaults.ts copies its JS and only the
 *     linux-x64 binaries (~46 MB of the package's ~290 MB) plus onnxruntime-common into the
 *     bundle's node_modules after bundling — offline, no Docker, no npm install;
 *   - if onnxruntime-node cannot load in some runtime, the scorer falls back to its plain-JS
 *     tower automatically: slower; the same scores as the float32 ONNX tower within float
 *     rounding (max |Δp| 6.7e-8 to 1.5e-7 measured), but an int8 model's JS tower runs the
 *     dequantized weights in float and differs from ORT's int8 kernels by up to 7.2e-4 to 2.1e-3
 *     (README, Scoring).
 */
// First: starts reading the model's weights before the imports below are evaluated.
import './shared/prefetch-model.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { readRegistryDocument } from '../src/workflow/bucket/state.ts';
import './shared/runtime.ts'; // applies WDP_ORT_SPIN to ONNX Runtime, as for every Lambda
import {
  checkServedModel,
  createScoreHandler,
  type ExpectedModel,
  MODEL_ID_ENV,
  MODEL_URI_ENV,
  MODEL_VERSION_ENV,
  REGISTRY_URI_ENV,
  SPLIT_TOWER_KINDS,
  type SplitTowerKind,
} from '../src/scoring/index.ts';
import type { Registry } from '../src/workflow/schemas.ts';
import { SCORING_METRICS } from '../src/scoring/metric-names.ts';

const logger = new Logger({ serviceName: SCORING_METRICS.service });
const metrics = new Metrics({ namespace: SCORING_METRICS.namespace, serviceName: SCORING_METRICS.service });

/** Settings read from the environment once, at cold start. */
export interface ScoreLambdaConfig {
  /** Empty means: serve the registry's champion. */
  readonly modelUri: string;
  /** registry.json of the workflow's bucket. */
  readonly registryUri?: string;
  /** WDP_MODEL_VERSION: the registry version WDP_MODEL_URI holds (`v3`); unset: not checked. */
  readonly modelVersion?: string;
  /** WDP_MODEL_ID: the model id of that version; unset: looked up in the registry. */
  readonly modelId?: string;
  readonly maxCandidates: number;
  readonly backend: SplitTowerKind;
  /** WDP_PLAN_CACHE_SIZE; unset: the scorer's default. */
  readonly planCacheSize?: number;
  /** WDP_CONTEXT_FEATURES; unset: any model feature may be context. */
  readonly contextFeatures?: readonly string[];
  /** Whether the init phase's load warms up (warmsUp: WDP_WARM_UP, else only when provisioned). @default false */
  readonly warmUp?: boolean;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): ScoreLambdaConfig {
  const modelUri = env[MODEL_URI_ENV] ?? '';
  const registryUri = env[REGISTRY_URI_ENV] || undefined;
  if (!modelUri && !registryUri) throw new Error(`environment variable ${MODEL_URI_ENV} is not set (nor ${REGISTRY_URI_ENV})`);
  const maxCandidates = Number(env['WDP_MAX_CANDIDATES'] ?? 1000);
  if (!Number.isInteger(maxCandidates) || maxCandidates < 1)
    throw new Error(`WDP_MAX_CANDIDATES must be a positive integer, got ${env['WDP_MAX_CANDIDATES']}`);
  const backend = (env['WDP_SCORING_BACKEND'] ?? 'auto') as SplitTowerKind;
  if (!SPLIT_TOWER_KINDS.includes(backend))
    throw new Error(`WDP_SCORING_BACKEND must be one of ${SPLIT_TOWER_KINDS.join(', ')}, got ${backend}`);
  const planCacheRaw = env['WDP_PLAN_CACHE_SIZE'];
  const planCacheSize = planCacheRaw === undefined || planCacheRaw === '' ? undefined : Number(planCacheRaw);
  if (planCacheSize !== undefined && (!Number.isInteger(planCacheSize) || planCacheSize < 1))
    throw new Error(`WDP_PLAN_CACHE_SIZE must be a positive integer, got ${planCacheRaw}`);
  const contextRaw = env['WDP_CONTEXT_FEATURES'];
  const contextFeatures = contextRaw
    ? contextRaw
        .split(',')
        .map((f) => f.trim())
        .filter((f) => f.length > 0)
    : undefined;
  const warmUp = warmsUp(env);
  const modelVersion = env[MODEL_VERSION_ENV] || undefined;
  const modelId = env[MODEL_ID_ENV] || undefined;
  return {
    modelUri,
    ...(registryUri ? { registryUri } : {}),
    ...(modelVersion ? { modelVersion } : {}),
    ...(modelId ? { modelId } : {}),
    maxCandidates,
    backend,
    ...(planCacheSize !== undefined ? { planCacheSize } : {}),
    ...(contextFeatures ? { contextFeatures } : {}),
    ...(warmUp ? { warmUp } : {}),
  };
}

/** What the cold start found when the pinned model and the registry's champion disagree. */
export interface ChampionMismatch {
  readonly servedUri: string;
  /** The registry's champion URI; null when it names none, or could not be read (see `problem`). */
  readonly championUri: string | null;
  readonly problem: string;
}

/** The model to serve, and what it must be (checked once it is loaded). */
export interface ResolvedModel {
  readonly uri: string;
  /** Unset: nothing names the model's id (a WDP_MODEL_URI set by hand without WDP_MODEL_VERSION). */
  readonly expected?: ExpectedModel;
}

/** The registry as read: null when it does not exist, the Error when it cannot be read or parsed. */
type RegistryRead = Registry | null | Error;

/**
 * The model to serve: WDP_MODEL_URI, else the registry's champion.
 *
 * With both, the pinned WDP_MODEL_URI wins even when the registry's champion differs: that
 * version is what Promote validated and published, and the registry is the thing more likely to
 * be wrong or mid-update (or rebuilt). The disagreement is not silent, though: `onMismatch` gets
 * it (the handler logs an error and emits the ChampionMismatch metric, which an alarm watches:
 * cdk/scoring-service.ts). Which model the folder must hold comes from WDP_MODEL_VERSION and
 * WDP_MODEL_ID (pinnedExpectation), or the registry's champion entry.
 */
export async function resolveModel(config: ScoreLambdaConfig, onMismatch?: (m: ChampionMismatch) => void): Promise<ResolvedModel> {
  const uri = config.registryUri;
  if (config.modelUri) {
    // Read once, for the mismatch report and for the id of a version WDP_MODEL_ID does not name.
    const needed = uri && (onMismatch || (config.modelVersion && !config.modelId));
    const registry: RegistryRead | undefined = needed ? await readRegistryDocument(uri).catch((e: Error) => e) : undefined;
    if (uri && onMismatch && registry !== undefined) {
      const problem = championProblem(config.modelUri, uri, registry);
      if (problem) onMismatch({ servedUri: config.modelUri, ...problem });
    }
    return { uri: config.modelUri, ...(config.modelVersion ? { expected: pinnedExpectation(config, config.modelVersion, registry) } : {}) };
  }
  if (!uri) throw new Error(`environment variable ${MODEL_URI_ENV} is not set (nor ${REGISTRY_URI_ENV})`);
  // Resolved: a local bucket's registry records bucket-relative keys, not URIs (bucket/keys.ts).
  const registry = await readRegistryDocument(uri);
  if (!registry) throw new Error(`no model promoted yet: ${uri} does not exist`);
  const c = registry.champion;
  if (!c) throw new Error(`no model promoted yet: ${uri} names no champion`);
  return { uri: c.uri, expected: { version: `v${c.version}`, modelId: c.modelId, source: `the registry ${uri}` } };
}

/** Why the pinned model is not the registry's champion as far as `registry` tells; undefined when it is. */
function championProblem(servedUri: string, uri: string, registry: RegistryRead): Omit<ChampionMismatch, 'servedUri'> | undefined {
  if (registry instanceof Error) return { championUri: null, problem: `the registry ${uri} is unreadable: ${registry.message}` };
  if (registry === null) return { championUri: null, problem: `the registry ${uri} is missing` };
  const champion = registry.champion?.uri ?? null;
  // One folder however spelled: a WDP_MODEL_URI set by hand may end in a slash the registry's does not.
  if (champion !== null && withoutTrailingSlash(champion) === withoutTrailingSlash(servedUri)) return undefined;
  return { championUri: champion, problem: `${MODEL_URI_ENV} is ${servedUri} but the registry's champion is ${champion ?? 'none'}` };
}

const withoutTrailingSlash = (u: string) => u.replace(/\/+$/, '');

/**
 * The model WDP_MODEL_URI must hold: WDP_MODEL_ID when set (Promote sets it), else the id the
 * registry records for WDP_MODEL_VERSION. When neither can say, the id is null and the model is
 * refused once loaded: a version nobody can vouch for is not served.
 */
function pinnedExpectation(config: ScoreLambdaConfig, version: string, registry: RegistryRead | undefined): ExpectedModel {
  const source = `${MODEL_VERSION_ENV}=${version}`;
  if (config.modelId) return { version, modelId: config.modelId, source: `${source} with ${MODEL_ID_ENV}` };
  const unknown = (why: string): ExpectedModel => ({
    version,
    modelId: null,
    source,
    unknownBecause: `${MODEL_ID_ENV} is not set and ${why}`,
  });
  const n = /^v([1-9]\d*)$/.exec(version)?.[1];
  if (!n) return unknown(`${MODEL_VERSION_ENV} is not of the form v<N>`);
  const uri = config.registryUri;
  if (!uri || registry === undefined) return unknown(`${REGISTRY_URI_ENV} is not set`);
  if (registry instanceof Error) return unknown(`the registry ${uri} is unreadable: ${registry.message}`);
  if (registry === null) return unknown(`the registry ${uri} is missing`);
  const entry = registry.history.find((e) => e.version === Number(n) && e.status === 'promoted');
  if (!entry) return unknown(`the registry ${uri} records no promoted ${version}`);
  return { version, modelId: entry.modelId, source: `${source} (its model id from the registry ${uri})` };
}

/** What to do about a model that is not the one named (in the refusal's message). */
const MISMATCH_HINT = `Promote sets ${MODEL_URI_ENV}, ${MODEL_VERSION_ENV} and ${MODEL_ID_ENV} together; \`wdp models promote V --force\` publishes a version that serves V`;

/** Logs the disagreement as an error and counts it (metric ChampionMismatch); the pinned model is served. */
export function reportChampionMismatch(m: ChampionMismatch, log: Logger = logger, mt: Metrics = metrics): void {
  log.error('serving a model the registry does not name as champion (serving the pinned, validated version)', { ...m });
  mt.addMetric(SCORING_METRICS.championMismatch, MetricUnit.Count, 1);
  mt.publishStoredMetrics();
}

/** The handler with its logs and metrics, for a given configuration (tests build their own). */
export function createLambdaHandler(
  config: ScoreLambdaConfig & { readonly expected?: ExpectedModel },
  log: Logger = logger,
  m: Metrics = metrics,
  preload = false,
  warmUp = false,
): ((event: unknown, context?: Context) => Promise<unknown>) & { readonly ready: () => Promise<void> } {
  const expected = config.expected;
  const inner = createScoreHandler({
    modelUri: config.modelUri,
    preload,
    warmUp,
    ...(expected
      ? { verifyModel: (s: { modelVersion: string }) => checkServedModel(expected, config.modelUri, s.modelVersion, MISMATCH_HINT) }
      : {}),
    scorerOptions: {
      backend: config.backend,
      maxCandidates: config.maxCandidates,
      ...(config.planCacheSize !== undefined ? { planCacheSize: config.planCacheSize } : {}),
      ...(config.contextFeatures ? { contextFeatures: config.contextFeatures } : {}),
    },
    logger: log,
    onScored: (e) => {
      m.addDimension('kind', e.kind);
      m.addMetadata('modelVersion', e.modelVersion);
      m.addMetric('rows', MetricUnit.Count, e.rows);
      m.addMetric('latency', MetricUnit.Milliseconds, e.latencyMs);
      m.addMetric('planCacheHits', MetricUnit.Count, e.planCache.hits);
      m.addMetric('planCacheMisses', MetricUnit.Count, e.planCache.misses);
      m.addMetric('planCacheEvictions', MetricUnit.Count, e.planCache.evictions);
      m.addMetric('planCacheSize', MetricUnit.Count, e.planCache.size);
      log.info('scored', { modelVersion: e.modelVersion, rows: e.rows, latencyMs: Math.round(e.latencyMs * 100) / 100, kind: e.kind });
    },
    // Only the `service` dimension (no `kind`): the alarms watch exactly that series.
    onFailed: (e) => {
      m.addMetric(e.status >= 500 ? SCORING_METRICS.serverErrors : SCORING_METRICS.clientErrors, MetricUnit.Count, 1);
    },
    onModelLoad: (e) => {
      if (!e.error) return;
      // Published at once: a preload fails in the init phase, where no event's publish follows.
      m.addMetric(SCORING_METRICS.modelLoadFailures, MetricUnit.Count, 1);
      m.publishStoredMetrics();
    },
  });
  const handle = async (event: unknown, context?: Context): Promise<unknown> => {
    if (context) log.addContext(context);
    try {
      return await inner(event, context);
    } finally {
      m.publishStoredMetrics();
    }
  };
  return Object.assign(handle, { ready: inner.ready });
}

let cached: ReturnType<typeof createLambdaHandler> | undefined;
let starting: Promise<void> | undefined;

/** Reads the configuration, resolves the model and builds the handler (once; again after a failure). */
function start(preload: boolean): Promise<void> {
  starting ??= (async () => {
    const config = readConfig();
    const { uri: modelUri, expected } = await resolveModel(config, (m) => reportChampionMismatch(m));
    // Only the init phase's load warms up: a load an event starts has a caller waiting.
    const warmUp = preload && config.warmUp === true;
    cached = createLambdaHandler({ ...config, modelUri, ...(expected ? { expected } : {}) }, logger, metrics, preload, warmUp);
  })().catch((e: unknown) => {
    starting = undefined;
    throw e;
  });
  return starting;
}

/**
 * How long the init phase waits for the model, in ms, by AWS_LAMBDA_INITIALIZATION_TYPE. Lambda
 * freezes an environment once its init code returns and no event is pending, so a load that is
 * merely started there is not sure to finish before the first event; the module awaits it instead
 * (top-level await, which an ES module handler's init honours). On demand, the init phase is
 * limited to 10 s (past it Lambda starts init again at the first event, and the load with it),
 * so it waits at most 8 s and the rest of a longer load happens in the first event. Provisioned
 * concurrency allows at least 130 s of init, which runs before any traffic.
 */
export function initWaitMs(initType: string | undefined): number {
  return initType === 'provisioned-concurrency' ? 120_000 : 8_000;
}

/**
 * Whether the init phase also warms the scoring path up (Scorer.warmUp): by default only where it
 * costs callers nothing, a provisioned environment. WDP_WARM_UP=1 forces it, 0 turns it off.
 */
export function warmsUp(env: NodeJS.ProcessEnv): boolean {
  const raw = env['WDP_WARM_UP'];
  if (raw === '1') return true;
  if (raw === '0') return false;
  if (raw !== undefined && raw !== '') throw new Error(`WDP_WARM_UP must be 1 or 0, got ${raw}`);
  return env['AWS_LAMBDA_INITIALIZATION_TYPE'] === 'provisioned-concurrency';
}

/** Waits for `p` (its failure is handled elsewhere) or `ms`, whichever comes first. */
async function waitAtMost(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.then(noop, noop), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
const noop = (): void => {};

// Inside Lambda, load during the init phase: the model is read and checked (and, provisioned,
// warmed up) before the first event. On demand, init also runs at full CPU. WDP_PRELOAD=0 turns
// it off. Outside Lambda (tests, tools importing this module) nothing starts.
if (process.env.AWS_LAMBDA_FUNCTION_NAME && process.env.WDP_PRELOAD !== '0') {
  const init = start(true).then(() => cached?.ready());
  await waitAtMost(init, initWaitMs(process.env['AWS_LAMBDA_INITIALIZATION_TYPE']));
}

/** The Lambda entry point. */
export const handler = async (event: unknown, context?: Context): Promise<unknown> => {
  if (!cached) {
    try {
      await start(false);
    } catch (e) {
      // A deployment fault, not the caller's: log it, and answer without a stack trace.
      logger.error('scoring function is misconfigured', { error: (e as Error).message });
      // A 500 like any other: the serverErrors alarm must see it.
      metrics.addMetric(SCORING_METRICS.serverErrors, MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
      const requestId = context?.awsRequestId ?? 'unknown';
      const payload = { statusCode: 500, error: `scoring is misconfigured (request id ${requestId})`, requestId };
      const e2 = event as { body?: unknown } | null;
      if (typeof e2 === 'object' && e2 !== null && 'body' in e2)
        return { statusCode: 500, headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) };
      return payload;
    }
  }
  return cached!(event, context);
};
