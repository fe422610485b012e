import assert from 'node:assert/strict';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createScoreHandler, type FailedEvent, type HandlerLogger, type HttpResult } from '../../src/scoring/handler.ts';
import { Scorer, type ScorerOptions } from '../../src/scoring/scorer.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';

let dir: string;
let good: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-handler-'));
  good = await saveTinyModel(dir, 'good', { overrides: { data: { idColumns: ['rid'] } } });
});
after(async () => {
  Scorer.clearCache();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => Scorer.clearCache());

const REQUEST = {
  context: { user: 'u1' },
  candidates: [
    { item: 'i1', tags: ['t1', 't3'], x: 0.2 },
    { item: 'i2', tags: [], x: 0.9 },
    { item: 'i3', tags: 't2', x: 0.5 },
  ],
};

/** A handler that counts model loads and keeps its log lines. */
function harness(modelUri: string, scorerOptions: ScorerOptions = {}, extra: { maxBodyBytes?: number } = {}) {
  const logs: { level: string; message: string; extra: Record<string, unknown>[] }[] = [];
  const logger: HandlerLogger = {
    info: (message, ...e) => logs.push({ level: 'info', message, extra: e }),
    warn: (message, ...e) => logs.push({ level: 'warn', message, extra: e }),
    error: (message, ...e) => logs.push({ level: 'error', message, extra: e }),
  };
  let loads = 0;
  const handle = createScoreHandler({
    modelUri,
    scorerOptions: { backend: 'js', ...scorerOptions },
    logger,
    ...extra,
    loadScorer: (uri, o) => {
      loads++;
      return Scorer.load(uri, o);
    },
  });
  return { handle, logs, loads: () => loads };
}

const fnUrlEvent = (body: string, isBase64Encoded = false) => ({
  version: '2.0',
  rawPath: '/',
  headers: { 'content-type': 'application/json' },
  requestContext: { http: { method: 'POST', path: '/' } },
  body,
  isBase64Encoded,
});
const apiGwV1Event = (body: string) => ({
  httpMethod: 'POST',
  path: '/score',
  headers: {},
  requestContext: { stage: 'prod' },
  body,
  isBase64Encoded: false,
});

describe('event shapes', () => {
  test('a direct invocation returns the response object', async () => {
    const { handle } = harness(good);
    const res = (await handle({ ...REQUEST, topK: 2 }, { awsRequestId: 'r1' })) as {
      modelVersion: string;
      scores: number[];
      ranked: { index: number; score: number }[];
    };
    assert.equal(res.modelVersion, 'm-good');
    assert.equal(res.scores.length, 3);
    for (const s of res.scores) assert.ok(s > 0 && s < 1);
    assert.equal(res.ranked.length, 2);
    const best = [...res.scores.keys()].sort((a, b) => res.scores[b]! - res.scores[a]!);
    assert.deepEqual(
      res.ranked.map((r) => r.index),
      best.slice(0, 2),
    );
    assert.equal(res.ranked[0]!.score, res.scores[best[0]!]);
  });

  test('Function URL, API Gateway v1 and base64 bodies give the same scores as a direct call', async () => {
    const { handle } = harness(good);
    const direct = (await handle(REQUEST)) as { scores: number[] };
    const body = JSON.stringify(REQUEST);
    for (const event of [fnUrlEvent(body), apiGwV1Event(body), fnUrlEvent(Buffer.from(body).toString('base64'), true)]) {
      const r = (await handle(event, { awsRequestId: 'r2' })) as HttpResult;
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['x-request-id'], 'r2');
      assert.deepEqual((JSON.parse(r.body) as { scores: number[] }).scores, direct.scores);
    }
  });

  test('an {input, output} event is an online request like any other (batch scoring is lambdas/score-batch.ts)', async () => {
    const { handle } = harness(good);
    const r = (await handle({ input: join(dir, 'a.parquet'), output: join(dir, 'b.parquet') }, { awsRequestId: 'b1' })) as {
      statusCode: number;
      requestId: string;
    };
    assert.equal(r.statusCode, 400);
    assert.equal(r.requestId, 'b1');
  });
});

test('the model is loaded once per handler and reused', async () => {
  const { handle, loads } = harness(good);
  await Promise.all([handle(REQUEST), handle(REQUEST)]);
  await handle(REQUEST);
  assert.equal(loads(), 1);
});

describe('bad requests answer 400 with an exact message and no stack trace', () => {
  const cases: [string, unknown, string][] = [
    ['empty candidates', { context: { user: 'u1' }, candidates: [] }, 'candidates must not be empty'],
    [
      'too many candidates',
      { candidates: Array.from({ length: 6 }, () => ({ item: 'i1', x: 1 })) },
      'too many candidates: 6 (the limit is 5)',
    ],
    [
      'unknown feature',
      {
        context: { user: 'u1', age: 3 },
        candidates: [
          { item: 'i1', x: 1 },
          { item: 'i2', colour: 'red', x: 1 },
        ],
      },
      'unknown feature(s): context.age, candidates[1].colour',
    ],
    [
      'wrong type',
      { context: { user: 'u1' }, candidates: [{ item: 'i1', x: 'high' }] },
      'wrong type(s): candidates[0].x must be a number or null, got string',
    ],
    [
      'wrong type of a list',
      { candidates: [{ item: 'i1', x: 1, tags: { a: 1 } }] },
      'wrong type(s): candidates[0].tags must be an array of strings, numbers or booleans, a single string, number or boolean, or null, got object',
    ],
    [
      'wrong type of a categorical',
      { context: { user: ['u1'] }, candidates: [{ item: 'i1', x: 1 }] },
      'wrong type(s): context.user must be a string, number, boolean or null, got array',
    ],
    [
      'numeric without a default missing',
      { context: { user: 'u1' }, candidates: [{ item: 'i1', x: 1 }, { item: 'i2' }, { item: 'i3', x: null }] },
      'missing value for numeric feature(s) without a default: candidates[1].x (and 1 more candidates)',
    ],
    [
      'numeric without a default in no candidate and not in context',
      { context: { user: 'u1' }, candidates: [{ item: 'i1' }, { item: 'i2' }] },
      'missing value for numeric feature(s) without a default: x (not in context nor in any candidate: give it once in context, or in each candidate)',
    ],
    [
      'feature on both sides',
      { context: { user: 'u1', item: 'i1' }, candidates: [{ item: 'i2', x: 1 }] },
      'feature(s) given in both context and candidates: item',
    ],
    ['not an object', 'hello', 'the request must be a JSON object with "candidates"'],
    ['no candidates', { context: {} }, 'candidates must be an array of objects'],
    ['candidate not an object', { candidates: [1] }, 'candidates[0] must be a JSON object'],
    ['context not an object', { context: [1], candidates: [{ item: 'i1', x: 1 }] }, 'context must be a JSON object'],
    [
      'unknown top-level field',
      { candidates: [{ item: 'i1', x: 1 }], limit: 3 },
      'unknown request field(s): limit (expected context, candidates, topK)',
    ],
    ['bad topK', { candidates: [{ item: 'i1', x: 1 }], topK: 0 }, 'topK must be a positive integer'],
  ];
  for (const [name, body, message] of cases) {
    test(`${name} (direct and HTTP)`, async () => {
      const { handle } = harness(good, { maxCandidates: 5 });
      const direct = await handle(body, { awsRequestId: 'req-1' });
      assert.deepEqual(direct, { statusCode: 400, error: message, requestId: 'req-1' });
      const http = (await handle(fnUrlEvent(JSON.stringify(body)), { awsRequestId: 'req-1' })) as HttpResult;
      assert.equal(http.statusCode, 400);
      assert.deepEqual(JSON.parse(http.body), { statusCode: 400, error: message, requestId: 'req-1' });
      assert.doesNotMatch(http.body, /\n\s+at /);
    });
  }

  test('malformed JSON', async () => {
    const { handle } = harness(good);
    const r = (await handle(fnUrlEvent('{"candidates": [{"item": "i1"'), { awsRequestId: 'r' })) as HttpResult;
    assert.equal(r.statusCode, 400);
    assert.deepEqual(JSON.parse(r.body), { statusCode: 400, error: 'request body is not valid JSON', requestId: 'r' });
  });

  test('an empty body and an oversized body', async () => {
    const { handle } = harness(good, {}, { maxBodyBytes: 100 });
    const empty = (await handle(fnUrlEvent(''), { awsRequestId: 'r' })) as HttpResult;
    assert.equal(JSON.parse(empty.body).error, 'request body is empty; send a JSON object with "candidates"');
    // A hand-built event (a console's test event) with the request as an object, not its JSON text.
    for (const [body, got] of [
      [REQUEST, 'object'],
      [5, 'number'],
      [[REQUEST], 'array'],
    ] as const) {
      const r = (await handle({ ...fnUrlEvent(''), body }, { awsRequestId: 'r' })) as HttpResult;
      assert.equal(r.statusCode, 400);
      assert.equal(
        JSON.parse(r.body).error,
        `request body must be a string, the request's JSON text, got ${got}; send a JSON object with "candidates"`,
      );
    }
    for (const body of [null, undefined]) {
      const r = (await handle({ ...fnUrlEvent(''), body }, { awsRequestId: 'r' })) as HttpResult;
      assert.equal(JSON.parse(r.body).error, 'request body is empty; send a JSON object with "candidates"');
    }
    const big = (await handle(fnUrlEvent(JSON.stringify(REQUEST)), { awsRequestId: 'r' })) as HttpResult;
    assert.equal(big.statusCode, 413);
    assert.equal(JSON.parse(big.body).error, `request body is too large: ${JSON.stringify(REQUEST).length} bytes (the limit is 100)`);
  });
});

test('missing categoricals and numerics with a default follow the model rules (OOV / default)', async () => {
  const uri = await saveTinyModel(dir, 'with-default', {
    overrides: {
      features: {
        user: { kind: 'categorical', vocab: { minCount: 1 } },
        item: { kind: 'categorical', vocab: { minCount: 1 } },
        tags: { kind: 'categorical_list', hashBuckets: 64, combiner: 'mean' },
        x: { kind: 'numeric', quantiles: 10, wideBuckets: 4, default: 0.25 },
      },
    },
  });
  const { handle } = harness(uri);
  const r = (await handle({
    candidates: [{ item: 'i1' }, { item: null, user: 'never-seen', x: 0.25 }, { item: 'unknown-item', x: 0.25 }],
  })) as { scores: number[] };
  assert.equal(r.scores.length, 3);
  const explicit = (await handle({ candidates: [{ item: 'i1', x: 0.25, user: null, tags: null }] })) as { scores: number[] };
  assert.equal(r.scores[0], explicit.scores[0], 'absent = null = default');
  // An unseen user token and a missing one both map to the OOV id (vocabulary features).
  const oov = (await handle({ candidates: [{ item: null, x: 0.25 }] })) as { scores: number[] };
  assert.equal(r.scores[1], oov.scores[0]);
});

test('an internal error answers 500 with a generic message and the request id, details only in the logs', async () => {
  const logs: string[] = [];
  const handle = createScoreHandler({
    modelUri: 'mem://fake',
    logger: { info: () => {}, warn: () => {}, error: (m, ...e) => logs.push(`${m} ${JSON.stringify(e)}`) },
    loadScorer: async () =>
      ({
        modelVersion: 'fake',
        model: { mappedTableBytes: 0 },
        score: async () => {
          throw new TypeError('secret internals at line 42');
        },
      }) as unknown as Scorer,
  });
  const direct = await handle(REQUEST, { awsRequestId: 'abc' });
  assert.deepEqual(direct, { statusCode: 500, error: 'internal error (request id abc)', requestId: 'abc' });
  const http = (await handle(fnUrlEvent(JSON.stringify(REQUEST)), { awsRequestId: 'abc' })) as HttpResult;
  assert.equal(http.statusCode, 500);
  assert.doesNotMatch(http.body, /secret|line 42/);
  assert.match(logs.join('\n'), /secret internals/);
});

describe('a model that fails to load', () => {
  test('answers 503 with a clear message, logs why, serves nothing, and loads once repaired', async () => {
    const broken = join(dir, 'broken');
    await mkdir(broken, { recursive: true });
    for (const f of [
      'manifest.json',
      'manifest.sha256',
      'wide.safetensors',
      'embeddings.safetensors',
      'tower.safetensors',
      'serving.safetensors',
    ]) {
      await copyFile(join(good, f), join(broken, f));
    }
    const serving = join(broken, 'serving.safetensors');
    const bytes = await readFile(serving);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
    await writeFile(serving, bytes);

    const { handle, logs, loads } = harness(broken);
    const r1 = await handle(REQUEST, { awsRequestId: 'r1' });
    assert.deepEqual(r1, { statusCode: 503, error: 'model could not be loaded (request id r1)', requestId: 'r1' });
    const http = (await handle(fnUrlEvent(JSON.stringify(REQUEST)), { awsRequestId: 'r2' })) as HttpResult;
    assert.equal(http.statusCode, 503);
    const failure = logs.find((l) => l.message === 'model failed to load');
    assert.ok(failure);
    assert.match(String(failure.extra[0]?.['error']), /serving\.safetensors is corrupted: its sha256 does not match the manifest/);
    assert.equal(loads(), 2, 'a failed load is not cached: each request retries');

    await copyFile(join(good, 'serving.safetensors'), serving);
    const ok = (await handle(REQUEST)) as { modelVersion: string; scores: number[] };
    assert.equal(ok.modelVersion, 'm-good');
    assert.equal(ok.scores.length, 3);
  });

  test('a missing model folder fails the same way', async () => {
    const { handle } = harness(join(dir, 'nowhere'));
    assert.deepEqual(await handle(REQUEST, { awsRequestId: 'x' }), {
      statusCode: 503,
      error: 'model could not be loaded (request id x)',
      requestId: 'x',
    });
  });
});

describe('caller input in an error is clipped (issue 9, finding 8)', () => {
  const huge = 'k'.repeat(5 * 1024 * 1024);
  const clipped = `${'k'.repeat(64)}…(${huge.length} chars)`;
  const cases: [string, unknown, string][] = [
    [
      'a 5 MB unknown top-level field',
      { candidates: [{ item: 'i1', x: 1 }], [huge]: 1 },
      `unknown request field(s): ${clipped} (expected context, candidates, topK)`,
    ],
    [
      'a 5 MB unknown context feature',
      { context: { [huge]: 'v' }, candidates: [{ item: 'i1', x: 1 }] },
      `unknown feature(s): context.${clipped}`,
    ],
    [
      'a 5 MB unknown candidate feature',
      { candidates: [{ item: 'i1', x: 1, [huge]: 'v' }] },
      `unknown feature(s): candidates[0].${clipped}`,
    ],
    [
      'many unknown top-level fields are listed up to 10',
      { candidates: [{ item: 'i1', x: 1 }], ...Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`f${i}`, 1])) },
      `unknown request field(s): ${Array.from({ length: 10 }, (_, i) => `f${i}`).join(', ')} and 490 more (expected context, candidates, topK)`,
    ],
  ];
  for (const [name, body, message] of cases) {
    test(`${name}: the 400 body and the log line stay short`, async () => {
      const { handle, logs } = harness(good);
      const http = (await handle(fnUrlEvent(JSON.stringify(body)), { awsRequestId: 'e1' })) as HttpResult;
      assert.equal(http.statusCode, 400);
      assert.deepEqual(JSON.parse(http.body), { statusCode: 400, error: message, requestId: 'e1' });
      assert.ok(http.body.length < 1000, `body of ${http.body.length} chars`);
      const line = logs.find((l) => l.message === 'bad request');
      assert.ok(line);
      assert.ok(JSON.stringify(line.extra).length < 1000);
    });
  }

  test('1e999 (Infinity after JSON.parse) is named as not finite, for numerics, categoricals and lists', async () => {
    const { handle } = harness(good);
    const send = async (body: string) => JSON.parse(((await handle(fnUrlEvent(body), { awsRequestId: 'n' })) as HttpResult).body).error;
    const why = 'not a finite number: JSON numbers beyond ±1.8e308, such as 1e999, overflow to Infinity';
    assert.equal(
      await send('{"candidates":[{"item":"i1","x":1e999}]}'),
      `wrong type(s): candidates[0].x must be a number or null, got Infinity (${why})`,
    );
    assert.equal(
      await send('{"context":{"user":-1e999},"candidates":[{"item":"i1","x":1}]}'),
      `wrong type(s): context.user must be a string, number, boolean or null, got -Infinity (${why})`,
    );
    assert.equal(
      await send('{"candidates":[{"item":"i1","x":1,"tags":["t1",1e999]}]}'),
      `wrong type(s): candidates[0].tags[1] must be a string, number, boolean or null, got Infinity (${why})`,
    );
  });
});

describe('HTTP methods: only POST is scored', () => {
  const get = { version: '2.0', rawPath: '/', headers: {}, requestContext: { http: { method: 'GET', path: '/' } }, isBase64Encoded: false };
  test('a Function URL GET (no body at all) answers 405 with allow: POST', async () => {
    const { handle } = harness(good);
    const r = (await handle(get, { awsRequestId: 'm1' })) as HttpResult;
    assert.equal(r.statusCode, 405);
    assert.equal(r.headers['allow'], 'POST');
    assert.equal(r.headers['x-request-id'], 'm1');
    assert.deepEqual(JSON.parse(r.body), {
      statusCode: 405,
      error: 'method GET is not allowed: only POST is scored (send a JSON object with "candidates")',
      requestId: 'm1',
    });
  });

  test('PUT and DELETE through a Function URL and API Gateway v1, even with a valid body, answer 405', async () => {
    const { handle } = harness(good);
    const body = JSON.stringify(REQUEST);
    for (const event of [
      { ...fnUrlEvent(body), requestContext: { http: { method: 'PUT', path: '/' } } },
      { ...apiGwV1Event(body), httpMethod: 'DELETE' },
    ]) {
      const r = (await handle(event)) as HttpResult;
      assert.equal(r.statusCode, 405);
      assert.equal(r.headers['allow'], 'POST');
    }
  });

  test('POST in any case is scored; a direct invocation has no method and is scored', async () => {
    const { handle } = harness(good);
    const lower = { ...fnUrlEvent(JSON.stringify(REQUEST)), requestContext: { http: { method: 'post', path: '/' } } };
    assert.equal(((await handle(lower)) as HttpResult).statusCode, 200);
    assert.equal(((await handle(apiGwV1Event(JSON.stringify(REQUEST)))) as HttpResult).statusCode, 200);
    assert.equal(((await handle(REQUEST)) as { scores: number[] }).scores.length, 3);
  });
});

describe('body decoding', () => {
  test('a UTF-8 byte order mark before valid JSON is accepted, plain and base64', async () => {
    const { handle } = harness(good);
    const plain = (await handle(REQUEST)) as { scores: number[] };
    const withBom = `\uFEFF${JSON.stringify(REQUEST)}`;
    for (const event of [fnUrlEvent(withBom), fnUrlEvent(Buffer.from(withBom, 'utf8').toString('base64'), true)]) {
      const r = (await handle(event)) as HttpResult;
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual((JSON.parse(r.body) as { scores: number[] }).scores, plain.scores);
    }
  });

  test('only a boolean true isBase64Encoded means base64: the string "false" (or "true") does not', async () => {
    const { handle } = harness(good);
    const body = JSON.stringify(REQUEST);
    for (const flag of ['false', 'true', 1]) {
      const r = (await handle({ ...fnUrlEvent(body), isBase64Encoded: flag })) as HttpResult;
      assert.equal(r.statusCode, 200, `isBase64Encoded: ${JSON.stringify(flag)}: ${r.body}`);
    }
  });

  test('a body over the limit answers 413 with its size in bytes (UTF-8, and base64 decoded)', async () => {
    const { handle } = harness(good, {}, { maxBodyBytes: 100 });
    const text = JSON.stringify({ ...REQUEST, context: { user: 'ü'.repeat(40) } });
    const bytes = Buffer.byteLength(text, 'utf8');
    const r = (await handle(fnUrlEvent(text), { awsRequestId: 'b' })) as HttpResult;
    assert.equal(r.statusCode, 413);
    assert.deepEqual(JSON.parse(r.body), {
      statusCode: 413,
      error: `request body is too large: ${bytes} bytes (the limit is 100)`,
      requestId: 'b',
    });
    const b64 = (await handle(fnUrlEvent(Buffer.from(text).toString('base64'), true))) as HttpResult;
    assert.equal(b64.statusCode, 413);
  });
});

describe('onFailed: once for every non-2xx answer, never for a 200', () => {
  /** A handler whose failure reports are kept. */
  const failing = (modelUri: string, extra: { maxBodyBytes?: number } = {}) => {
    const failures: FailedEvent[] = [];
    const handle = createScoreHandler({ modelUri, scorerOptions: { backend: 'js' }, ...extra, onFailed: (e) => failures.push(e) });
    return { handle, failures };
  };

  test('each HTTP refusal and each bad request is one report with its kind, status and request id', async () => {
    const { handle, failures } = failing(good, { maxBodyBytes: 1000 });
    const cases: [unknown, string, number][] = [
      [{ ...fnUrlEvent(''), requestContext: { http: { method: 'GET' } } }, 'method_not_allowed', 405],
      [fnUrlEvent(''), 'empty_body', 400],
      [fnUrlEvent('x'.repeat(1001)), 'body_too_large', 413],
      [fnUrlEvent('{nope'), 'invalid_json', 400],
      [fnUrlEvent('{"candidates": []}'), 'bad_request', 400],
      [{ candidates: [] }, 'bad_request', 400],
    ];
    for (const [i, [event, kind, status]] of cases.entries()) {
      const r = (await handle(event, { awsRequestId: `f${i}` })) as { statusCode: number };
      assert.equal(r.statusCode, status);
      assert.deepEqual(failures.at(-1), { kind, status, requestId: `f${i}` });
    }
    assert.equal(failures.length, cases.length);
    await handle(REQUEST);
    await handle(fnUrlEvent(JSON.stringify(REQUEST)));
    assert.equal(failures.length, cases.length, 'a 200 reports nothing');
  });

  test('a model that fails to load: model_unavailable 503 per request, and one onModelLoad error per attempt', async () => {
    const failures: FailedEvent[] = [];
    const loads: { error?: Error; modelVersion?: string }[] = [];
    const handle = createScoreHandler({
      modelUri: join(dir, 'nowhere'),
      scorerOptions: { backend: 'js' },
      onFailed: (e) => failures.push(e),
      onModelLoad: (e) => loads.push(e),
    });
    await Promise.all([handle(REQUEST, { awsRequestId: 'a' }), handle(fnUrlEvent(JSON.stringify(REQUEST)), { awsRequestId: 'b' })]);
    assert.deepEqual(
      failures.map((f) => [f.kind, f.status, f.requestId]),
      [
        ['model_unavailable', 503, 'a'],
        ['model_unavailable', 503, 'b'],
      ],
    );
    assert.equal(loads.length, 1, 'two requests shared one failed load');
    assert.match(loads[0]!.error!.message, /nowhere/);
  });

  test('an internal error is one internal 500', async () => {
    const failures: FailedEvent[] = [];
    const handle = createScoreHandler({
      modelUri: 'mem://fake',
      onFailed: (e) => failures.push(e),
      loadScorer: async () =>
        ({
          modelVersion: 'fake',
          model: { mappedTableBytes: 0 },
          score: async () => {
            throw new TypeError('boom');
          },
        }) as unknown as Scorer,
    });
    await handle(REQUEST, { awsRequestId: 'i' });
    assert.deepEqual(failures, [{ kind: 'internal', status: 500, requestId: 'i' }]);
  });
});

describe('list values (categorical_list)', () => {
  const error = async (handle: ReturnType<typeof harness>['handle'], body: unknown) =>
    (JSON.parse(((await handle(fnUrlEvent(JSON.stringify(body)), { awsRequestId: 'l' })) as HttpResult).body) as { error?: string }).error;

  test('a bad element is named by its index and its type, in context and in candidates', async () => {
    const { handle } = harness(good);
    assert.equal(
      await error(handle, { context: { user: 'u1', tags: ['t1', { x: 1 }] }, candidates: [{ item: 'i1', x: 1 }] }),
      'wrong type(s): context.tags[1] must be a string, number, boolean or null, got object',
    );
    assert.equal(
      await error(handle, { candidates: [{ item: 'i1', x: 1, tags: ['t1', 't2', ['t3']] }] }),
      'wrong type(s): candidates[0].tags[2] must be a string, number, boolean or null, got array',
    );
    assert.equal(
      await error(handle, { candidates: { item: ['i1', 'i2'], x: [1, 2], tags: [['t1'], [null, 't2', { y: 2 }]] } }),
      'wrong type(s): candidates[1].tags[2] must be a string, number, boolean or null, got object',
    );
  });

  test('booleans are tokens in a list as in a categorical ("true"/"false", as the log reader makes them); null elements are dropped', async () => {
    const { handle } = harness(good);
    const score = async (context: Record<string, unknown>, tags: unknown) =>
      ((await handle({ context, candidates: [{ item: 'i1', x: 0.5, tags }] })) as { scores: number[] }).scores[0];
    assert.equal(await score({ user: 'u1' }, [true, 't1']), await score({ user: 'u1' }, ['true', 't1']));
    assert.equal(await score({ user: 'u1' }, false), await score({ user: 'u1' }, ['false']));
    assert.equal(await score({ user: 'u1' }, [null, 't1', null]), await score({ user: 'u1' }, ['t1']));
    assert.equal(await score({ user: true }, ['t1']), await score({ user: 'true' }, ['t1']));
  });

  test('a list over the element limit is refused on its length alone (1.4 million elements, none of them read)', async () => {
    const { handle } = harness(good);
    // The first element is not even a token: the length is checked before any element is.
    const huge: unknown[] = new Array(1_400_000).fill('t1');
    huge[0] = { not: 'a token' };
    const direct = (await handle({ context: { user: 'u1', tags: huge }, candidates: [{ item: 'i1', x: 1 }] }, { awsRequestId: 'h' })) as {
      error: string;
    };
    assert.equal(direct.error, 'list(s) longer than the limit of 100000 elements: context.tags (1400000 elements)');
    const cand = (await handle({ candidates: [{ item: 'i1', x: 1, tags: huge }] }, { awsRequestId: 'h' })) as { error: string };
    assert.equal(cand.error, 'list(s) longer than the limit of 100000 elements: candidates[0].tags (1400000 elements)');
  });

  test('ScorerOptions.maxListLength sets the limit; a list at the limit is scored (the model reads its first maxLength)', async () => {
    const { handle } = harness(good, { maxListLength: 3 });
    assert.equal(
      await error(handle, { candidates: [{ item: 'i1', x: 1, tags: ['a', 'b', 'c', 'd'] }] }),
      'list(s) longer than the limit of 3 elements: candidates[0].tags (4 elements)',
    );
    const ok = (await handle({ candidates: [{ item: 'i1', x: 1, tags: ['a', 'b', 'c'] }] })) as { scores: number[] };
    assert.equal(ok.scores.length, 1);
  });
});

describe('warm-up (a provisioned environment)', () => {
  const logged = () => {
    const logs: { level: string; message: string; extra: Record<string, unknown>[] }[] = [];
    const logger: HandlerLogger = {
      info: (message, ...e) => logs.push({ level: 'info', message, extra: e }),
      warn: (message, ...e) => logs.push({ level: 'warn', message, extra: e }),
      error: (message, ...e) => logs.push({ level: 'error', message, extra: e }),
    };
    return { logs, logger };
  };

  test('the preload warms up before it is ready; the first event finds the plan built and reports only its own plan lookups', async () => {
    const { logs, logger } = logged();
    const scored: { hits: number; misses: number }[] = [];
    const handle = createScoreHandler({
      modelUri: good,
      scorerOptions: { backend: 'onnx', contextFeatures: ['user'], maxCandidates: 20 },
      logger,
      preload: true,
      warmUp: true,
      onScored: (e) => scored.push({ hits: e.planCache.hits, misses: e.planCache.misses }),
    });
    await handle.ready();
    assert.deepEqual(
      logs.map((l) => l.message),
      ['model loaded', 'warmed up'],
    );
    const warm = logs[1]!.extra[0]!;
    assert.equal(warm['requests'], 8);
    assert.equal(warm['candidates'], 20);
    assert.equal(typeof warm['warmUpMs'], 'number');
    const res = (await handle(REQUEST)) as { scores: number[] };
    assert.equal(res.scores.length, 3);
    assert.deepEqual(scored, [{ hits: 1, misses: 0 }], 'the made-up requests are not counted as traffic');
  });

  test('a warm-up that fails is logged and the model serves anyway', async () => {
    const { logs, logger } = logged();
    const handle = createScoreHandler({
      modelUri: good,
      scorerOptions: { backend: 'js' },
      logger,
      preload: true,
      warmUp: true,
      loadScorer: async (uri, o) => {
        const s = await Scorer.load(uri, { ...o, cache: false });
        s.warmUp = async () => {
          throw new Error('made-up failure');
        };
        return s;
      },
    });
    await handle.ready();
    const warn = logs.find((l) => l.level === 'warn');
    assert.equal(warn?.message, 'warm-up failed; the model serves without it');
    assert.equal(warn?.extra[0]?.['error'], 'made-up failure');
    const res = (await handle(REQUEST)) as { scores: number[] };
    assert.equal(res.scores.length, 3);
  });

  test('a load an event starts (the preload failed) does not warm up: that caller is waiting', async () => {
    const { logs, logger } = logged();
    const later = join(dir, 'appears-later');
    const handle = createScoreHandler({ modelUri: later, scorerOptions: { backend: 'js' }, logger, preload: true, warmUp: true });
    await handle.ready();
    assert.equal(logs.at(-1)?.message, 'model failed to load');
    await cp(good, later, { recursive: true });
    const res = (await handle(REQUEST)) as { scores: number[] };
    assert.equal(res.scores.length, 3);
    assert.deepEqual(
      logs.map((l) => l.message),
      ['model failed to load', 'model loaded'],
    );
  });

  test('without preload, ready() settles at once and nothing is loaded', async () => {
    const { logs, logger } = logged();
    const handle = createScoreHandler({ modelUri: good, logger, warmUp: true });
    await handle.ready();
    assert.deepEqual(logs, []);
  });
});
