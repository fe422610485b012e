import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, mock, test } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createLambdaHandler, handler, readConfig, resolveModel } from '../../lambdas/score.ts';
import { SCORING_METRICS } from '../../src/scoring/metric-names.ts';
import { Scorer } from '../../src/scoring/scorer.ts';
import { writeOneVersionRegistry } from '../helpers/registry-fixture.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';

let dir: string;
let uri: string;
const savedEnv = { ...process.env };
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-score-lambda-'));
  uri = await saveTinyModel(dir, 'm');
});
after(() => rm(dir, { recursive: true, force: true }));
beforeEach(() => Scorer.clearCache());
afterEach(() => {
  process.env = { ...savedEnv };
});

/** The URI resolveModel picks (the tests of what it must hold are further down). */
const resolveModelUri = async (...a: Parameters<typeof resolveModel>) => (await resolveModel(...a)).uri;

const REQUEST = {
  context: { user: 'u1' },
  candidates: [
    { item: 'i1', x: 0.3 },
    { item: 'i2', x: 0.7 },
  ],
};

/** A real Metrics whose addMetric/publish are recorded instead of printed. */
function recordingMetrics() {
  const metrics = new Metrics({ namespace: 'test' });
  const recorded: { name: string; unit: string; value: number }[] = [];
  let published = 0;
  mock.method(metrics, 'addMetric', (name: string, unit: string, value: number) => {
    recorded.push({ name, unit, value });
    return metrics;
  });
  mock.method(metrics, 'publishStoredMetrics', () => {
    published++;
  });
  return { metrics, recorded, published: () => published };
}

class QuietLogger extends Logger {
  readonly lines: { message: string; extra: unknown[] }[] = [];
  override info(message: string, ...extra: never[]): void {
    this.lines.push({ message, extra });
  }
  override warn(message: string, ...extra: never[]): void {
    this.lines.push({ message, extra });
  }
  override error(message: string, ...extra: never[]): void {
    this.lines.push({ message, extra });
  }
}

test('readConfig: WDP_MODEL_URI is required; limits and backend have defaults and are checked', () => {
  assert.throws(() => readConfig({}), /environment variable WDP_MODEL_URI is not set/);
  assert.deepEqual(readConfig({ WDP_MODEL_URI: 's3://b/m' }), { modelUri: 's3://b/m', maxCandidates: 1000, backend: 'auto' });
  assert.deepEqual(readConfig({ WDP_MODEL_URI: 's3://b/m', WDP_MAX_CANDIDATES: '50', WDP_SCORING_BACKEND: 'js' }), {
    modelUri: 's3://b/m',
    maxCandidates: 50,
    backend: 'js',
  });
  assert.throws(() => readConfig({ WDP_MODEL_URI: 'x', WDP_MAX_CANDIDATES: '0' }), /WDP_MAX_CANDIDATES must be a positive integer, got 0/);
  assert.throws(
    () => readConfig({ WDP_MODEL_URI: 'x', WDP_SCORING_BACKEND: 'gpu' }),
    /WDP_SCORING_BACKEND must be one of auto, onnx, js, got gpu/,
  );
});

test('the handler records rows and latency metrics with the model version, and logs them', async () => {
  const { metrics, recorded, published } = recordingMetrics();
  const logger = new QuietLogger();
  const h = createLambdaHandler({ modelUri: uri, maxCandidates: 10, backend: 'js' }, logger, metrics);
  const res = (await h(REQUEST)) as { modelVersion: string; scores: number[] };
  assert.equal(res.modelVersion, 'm-m');
  assert.deepEqual(
    recorded.map((m) => [m.name, m.unit]),
    [
      ['rows', 'Count'],
      ['latency', 'Milliseconds'],
      ['planCacheHits', 'Count'],
      ['planCacheMisses', 'Count'],
      ['planCacheEvictions', 'Count'],
      ['planCacheSize', 'Count'],
    ],
  );
  assert.equal(recorded[0]!.value, 2);
  assert.equal(published(), 1);
  const scored = logger.lines.find((l) => l.message === 'scored');
  assert.ok(scored);
  assert.equal((scored.extra[0] as { modelVersion: string }).modelVersion, 'm-m');
  // A bad request still publishes (nothing) and answers 400 without throwing.
  const bad = (await h({ candidates: [] }, { awsRequestId: 'q' } as never)) as { statusCode: number };
  assert.equal(bad.statusCode, 400);
  assert.equal(published(), 2);
});

test('with WDP_MODEL_URI empty, the registry champion is served (a version published by a redeploy)', async () => {
  const { writeFile } = await import('node:fs/promises');
  const registry = join(dir, 'registry.json');
  await writeFile(registry, JSON.stringify({ formatVersion: 1, champion: { version: 3, uri, modelId: 'm' }, history: [] }));
  assert.equal(await resolveModelUri(readConfig({ WDP_MODEL_URI: '', WDP_REGISTRY_URI: registry })), uri);
  assert.equal(await resolveModelUri(readConfig({ WDP_MODEL_URI: 's3://b/m', WDP_REGISTRY_URI: registry })), 's3://b/m');
  await writeFile(registry, JSON.stringify({ formatVersion: 1, champion: null, history: [] }));
  await assert.rejects(
    resolveModelUri(readConfig({ WDP_REGISTRY_URI: registry })),
    /no model promoted yet: .*registry\.json names no champion/,
  );
});

test('cold start: a pinned WDP_MODEL_URI the registry does not name is served, but reported (error log + ChampionMismatch metric)', async () => {
  const { writeFile } = await import('node:fs/promises');
  const { reportChampionMismatch } = await import('../../lambdas/score.ts');
  type Mismatch = Parameters<typeof reportChampionMismatch>[0];
  const registry = join(dir, 'registry-mismatch.json');
  await writeFile(registry, JSON.stringify({ formatVersion: 1, champion: { version: 3, uri, modelId: 'm' }, history: [] }));
  const seen: Mismatch[] = [];
  const config = (modelUri: string) => readConfig({ WDP_MODEL_URI: modelUri, WDP_REGISTRY_URI: registry });
  assert.equal(await resolveModelUri(config(uri), (m) => seen.push(m)), uri);
  assert.equal(seen.length, 0, 'agreeing: nothing reported');
  assert.equal(await resolveModelUri(config('s3://b/old-v2'), (m) => seen.push(m)), 's3://b/old-v2', 'the pinned version serves');
  assert.deepEqual(
    [...seen],
    [{ servedUri: 's3://b/old-v2', championUri: uri, problem: `WDP_MODEL_URI is s3://b/old-v2 but the registry's champion is ${uri}` }],
  );
  await writeFile(registry, '{ not json');
  await resolveModelUri(config(uri), (m) => seen.push(m));
  assert.match(seen[1]?.problem ?? '', /registry .* is unreadable/);

  const errors: unknown[][] = [];
  const metrics: unknown[][] = [];
  reportChampionMismatch(
    seen[0]!,
    { error: (...a: unknown[]) => errors.push(a) } as never,
    { addMetric: (...a: unknown[]) => metrics.push(a), publishStoredMetrics: () => {} } as never,
  );
  assert.match(String(errors[0]?.[0]), /registry does not name as champion/);
  assert.deepEqual(metrics, [['ChampionMismatch', 'Count', 1]]);
});

test('the registry is validated with registrySchema: a missing or malformed registry is a clear error', async () => {
  const { writeFile } = await import('node:fs/promises');
  const missing = join(dir, 'no-registry.json');
  await assert.rejects(
    resolveModelUri(readConfig({ WDP_REGISTRY_URI: missing })),
    /no model promoted yet: .*no-registry\.json does not exist/,
  );
  const registry = join(dir, 'bad-registry.json');
  await writeFile(registry, JSON.stringify({ formatVersion: 1, champion: { version: 3, uri: 42, modelId: 'm' }, history: [] }));
  await assert.rejects(resolveModelUri(readConfig({ WDP_REGISTRY_URI: registry })), /bad-registry\.json[\s\S]*champion[\s\S]*uri/);
  await writeFile(registry, '{"formatVersion": 1,');
  await assert.rejects(resolveModelUri(readConfig({ WDP_REGISTRY_URI: registry })), /bad-registry\.json.*JSON/i);
});

test('without WDP_MODEL_URI the exported handler answers 500 with no stack trace', async () => {
  delete process.env['WDP_MODEL_URI'];
  process.env['POWERTOOLS_LOG_LEVEL'] = 'SILENT';
  assert.deepEqual(await handler(REQUEST, { awsRequestId: 'c1' } as never), {
    statusCode: 500,
    error: 'scoring is misconfigured (request id c1)',
    requestId: 'c1',
  });
});

test('the exported handler reads the model from WDP_MODEL_URI and answers a Function URL event', async () => {
  process.env['WDP_MODEL_URI'] = uri;
  process.env['WDP_SCORING_BACKEND'] = 'js';
  process.env['POWERTOOLS_LOG_LEVEL'] = 'SILENT';
  const r = (await handler({
    requestContext: { http: { method: 'POST' } },
    headers: {},
    body: JSON.stringify(REQUEST),
    isBase64Encoded: false,
  })) as { statusCode: number; body: string };
  assert.equal(r.statusCode, 200);
  assert.equal((JSON.parse(r.body) as { scores: number[] }).scores.length, 2);
});

test('WDP_PLAN_CACHE_SIZE and WDP_CONTEXT_FEATURES are read and checked', () => {
  assert.deepEqual(readConfig({ WDP_MODEL_URI: 's3://b/m', WDP_PLAN_CACHE_SIZE: '4', WDP_CONTEXT_FEATURES: 'user, x' }), {
    modelUri: 's3://b/m',
    maxCandidates: 1000,
    backend: 'auto',
    planCacheSize: 4,
    contextFeatures: ['user', 'x'],
  });
  assert.throws(
    () => readConfig({ WDP_MODEL_URI: 'x', WDP_PLAN_CACHE_SIZE: '0' }),
    /WDP_PLAN_CACHE_SIZE must be a positive integer, got 0/,
  );
  assert.throws(
    () => readConfig({ WDP_MODEL_URI: 'x', WDP_PLAN_CACHE_SIZE: 'lots' }),
    /WDP_PLAN_CACHE_SIZE must be a positive integer, got lots/,
  );
});

test('plan cache metrics: per request one hit or miss, evictions as they happen, the size', async () => {
  const { metrics, recorded } = recordingMetrics();
  const h = createLambdaHandler({ modelUri: uri, maxCandidates: 10, backend: 'js', planCacheSize: 2 }, new QuietLogger(), metrics);
  // Context subsets: {user}, {user}, {x}, {user, x}, {user}: miss, hit, miss, miss (evicts {user}), miss (evicts {x}).
  const bodies = [
    REQUEST,
    REQUEST,
    { context: { x: 0.5 }, candidates: [{ item: 'i1', user: 'u1' }] },
    { context: { user: 'u1', x: 0.5 }, candidates: [{ item: 'i1' }] },
    REQUEST,
  ];
  for (const b of bodies) await h(b);
  const series = (name: string) => recorded.filter((m) => m.name === name).map((m) => m.value);
  assert.deepEqual(series('planCacheHits'), [0, 1, 0, 0, 0]);
  assert.deepEqual(series('planCacheMisses'), [1, 0, 1, 1, 1]);
  assert.deepEqual(series('planCacheEvictions'), [0, 0, 0, 1, 1]);
  assert.deepEqual(series('planCacheSize'), [1, 1, 2, 2, 2]);
});

/** A real Metrics (the Lambda's namespace and service) whose published EMF documents are kept. */
function emfMetrics() {
  const metrics = new Metrics({ namespace: SCORING_METRICS.namespace, serviceName: SCORING_METRICS.service });
  const emitted: ReturnType<Metrics['serializeMetrics']>[] = [];
  mock.method(metrics, 'publishStoredMetrics', () => {
    if (metrics.hasStoredMetrics()) emitted.push(metrics.serializeMetrics());
    metrics.clearMetrics();
    metrics.clearDimensions();
    metrics.clearMetadata();
  });
  /** The published documents as `name[dimension names]` strings, in order. */
  const names = () =>
    emitted.flatMap((d) =>
      d._aws.CloudWatchMetrics.flatMap((c) => c.Metrics.map((m) => `${m.Name}[${c.Dimensions.map((set) => set.join(',')).join(';')}]`)),
    );
  return { metrics, emitted, names };
}

const httpEvent = (method: string, body: string) => ({
  requestContext: { http: { method } },
  headers: {},
  body,
  isBase64Encoded: false,
});

test('failures are counted: clientErrors for 4xx, serverErrors for 5xx, only the service dimension (what the alarms watch)', async () => {
  const { metrics, emitted, names } = emfMetrics();
  const h = createLambdaHandler({ modelUri: uri, maxCandidates: 10, backend: 'js' }, new QuietLogger(), metrics);
  assert.equal(((await h(httpEvent('GET', ''))) as { statusCode: number }).statusCode, 405);
  assert.equal(((await h(httpEvent('POST', '{oops'))) as { statusCode: number }).statusCode, 400);
  assert.equal(((await h({ candidates: [] })) as { statusCode: number }).statusCode, 400);
  await h(REQUEST);
  assert.deepEqual(names(), [
    'clientErrors[service]',
    'clientErrors[service]',
    'clientErrors[service]',
    // Success metrics unchanged, with their `kind` dimension.
    ...['rows', 'latency', 'planCacheHits', 'planCacheMisses', 'planCacheEvictions', 'planCacheSize'].map((n) => `${n}[service,kind]`),
  ]);
  // Exactly the series cdk/scoring-service.ts alarms on (test/cdk/stack.test.ts has the other side).
  const doc = emitted[0]!;
  assert.equal(doc._aws.CloudWatchMetrics[0]!.Namespace, 'wdp');
  assert.deepEqual(doc._aws.CloudWatchMetrics[0]!.Dimensions, [['service']]);
  assert.equal((doc as Record<string, unknown>)['service'], 'wdp-scoring');
  assert.equal((doc as Record<string, unknown>)['clientErrors'], 1);
});

test('a model that cannot be loaded: every 503 is a serverError, each failed load a modelLoadFailure', async () => {
  const { metrics, names } = emfMetrics();
  const missing = join(dir, 'nowhere');
  const h = createLambdaHandler({ modelUri: missing, maxCandidates: 10, backend: 'js' }, new QuietLogger(), metrics);
  const direct = (await h(REQUEST, { awsRequestId: 'd1' } as never)) as { statusCode: number };
  assert.equal(direct.statusCode, 503);
  const http = (await h(httpEvent('POST', JSON.stringify(REQUEST)))) as { statusCode: number };
  assert.equal(http.statusCode, 503);
  assert.deepEqual(names(), ['modelLoadFailures[service]', 'serverErrors[service]', 'modelLoadFailures[service]', 'serverErrors[service]']);
});

test('a failed preload (the init phase, no event yet) is published at once as a modelLoadFailure', async () => {
  const { metrics, names } = emfMetrics();
  createLambdaHandler({ modelUri: join(dir, 'nowhere'), maxCandidates: 10, backend: 'js' }, new QuietLogger(), metrics, true);
  for (let i = 0; i < 50 && names().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(names(), ['modelLoadFailures[service]']);
});

test('an internal error is a serverError', async () => {
  const { metrics, names } = emfMetrics();
  const h = createLambdaHandler({ modelUri: uri, maxCandidates: 10, backend: 'js' }, new QuietLogger(), metrics);
  await h(REQUEST); // loads the model
  const scorer = await Scorer.load(uri, { backend: 'js', maxCandidates: 10 });
  mock.method(scorer, 'score', async () => {
    throw new TypeError('boom');
  });
  const r = (await h(REQUEST, { awsRequestId: 'e' } as never)) as { statusCode: number };
  assert.equal(r.statusCode, 500);
  assert.equal(names().at(-1), 'serverErrors[service]');
});

test('resolveModel: the model WDP_MODEL_URI must hold comes from WDP_MODEL_ID, else the registry entry of WDP_MODEL_VERSION', async () => {
  const registry = await writeOneVersionRegistry(join(dir, 'registry-v3.json'), uri, 3, 'm-other');
  const resolve = (env: NodeJS.ProcessEnv) => resolveModel(readConfig({ WDP_MODEL_URI: uri, WDP_REGISTRY_URI: registry, ...env }));
  assert.deepEqual((await resolve({ WDP_MODEL_VERSION: 'v3', WDP_MODEL_ID: 'm-m' })).expected, {
    version: 'v3',
    modelId: 'm-m',
    source: 'WDP_MODEL_VERSION=v3 with WDP_MODEL_ID',
  });
  assert.deepEqual((await resolve({ WDP_MODEL_VERSION: 'v3' })).expected, {
    version: 'v3',
    modelId: 'm-other',
    source: `WDP_MODEL_VERSION=v3 (its model id from the registry ${registry})`,
  });
  const unknown = (await resolve({ WDP_MODEL_VERSION: 'v9' })).expected;
  assert.equal(unknown?.modelId, null);
  assert.match(unknown?.unknownBecause ?? '', /WDP_MODEL_ID is not set and the registry .* records no promoted v9/);
  assert.equal((await resolve({})).expected, undefined, 'a URI set by hand without a version is not checked');
  // Serving the champion (WDP_MODEL_URI empty): the registry's id for it.
  assert.deepEqual((await resolveModel(readConfig({ WDP_REGISTRY_URI: registry }))).expected, {
    version: 'v3',
    modelId: 'm-other',
    source: `the registry ${registry}`,
  });
});

test('a loaded model that is not the version the environment names is refused: error log, modelLoadFailures, 503', async () => {
  const { metrics, names } = emfMetrics();
  const logger = new QuietLogger();
  const expected = { version: 'v3', modelId: 'm-other', source: 'WDP_MODEL_VERSION=v3 with WDP_MODEL_ID' };
  const h = createLambdaHandler({ modelUri: uri, maxCandidates: 10, backend: 'js', expected }, logger, metrics);
  const direct = (await h(REQUEST, { awsRequestId: 'v1' } as never)) as { statusCode: number; error: string };
  assert.equal(direct.statusCode, 503);
  assert.equal(direct.error, 'model could not be loaded (request id v1)');
  const http = (await h(httpEvent('POST', JSON.stringify(REQUEST)))) as { statusCode: number };
  assert.equal(http.statusCode, 503, 'checked again on the next event, refused again');
  assert.deepEqual(names(), ['modelLoadFailures[service]', 'serverErrors[service]', 'modelLoadFailures[service]', 'serverErrors[service]']);
  const logged = logger.lines.find((l) => l.message === 'model failed to load');
  assert.match(
    String((logged?.extra[0] as { error?: string } | undefined)?.error),
    /WDP_MODEL_VERSION=v3 with WDP_MODEL_ID says v3 is model m-other, but .* holds model m-m; not serving it/,
  );
  // The same handler with the right id serves.
  const ok = createLambdaHandler(
    { modelUri: uri, maxCandidates: 10, backend: 'js', expected: { ...expected, modelId: 'm-m' } },
    logger,
    metrics,
  );
  assert.equal(((await ok(REQUEST)) as { modelVersion: string }).modelVersion, 'm-m');
});
