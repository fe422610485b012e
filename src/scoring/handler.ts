/**
 * The scoring handler, independent of transport: one function for every event the scoring
 * Lambda receives, also served over HTTP by `wdp serve`. Online requests only: batch scoring is
 * the batch state machine's own function (lambdas/score-batch.ts), which may write its outputs;
 * the scoring function may only read.
 *
 * Event shapes:
 *   - direct invocation:  `{ context, candidates, topK? }` → `{ modelVersion, scores, ranked }`,
 *     or `{ statusCode, error, requestId }` for a bad request (returned, not thrown: a thrown
 *     error would reach the caller with its stack trace);
 *   - Function URL / API Gateway (v1 or v2): `{ body, isBase64Encoded, … }` → `{ statusCode,
 *     headers, body }` with the same JSON in `body`. Only POST is scored: any other method
 *     answers 405 with `allow: POST` (v2 names it in `requestContext.http.method`, v1 in
 *     `httpMethod`; a direct invocation has none and is not checked).
 * Bad requests answer 400 with a message naming the problem (413 for an HTTP body over the
 * limit); an unavailable model 503; anything else 500 with a generic message and the request id
 * (details only in the logs).
 *
 * Failures are answered, not thrown, so Lambda's own Errors metric never sees them: every
 * non-2xx answer is reported once through `onFailed`, which the Lambda turns into metrics that
 * alarms watch (lambdas/score.ts, cdk/scoring-service.ts).
 */
import { randomUUID } from 'node:crypto';
import { RequestError } from './errors.ts';
import { clip, type ScoreResponse } from './request.ts';
import type { PlanCacheStats } from './serving-model.ts';
import { Scorer, type ScorerOptions } from './scorer.ts';

/** The slice of a logger the handler uses (Powertools' Logger and the console both fit). */
export interface HandlerLogger {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export interface ScoredEvent {
  /** Always 'online' (kept as the metrics' `kind` dimension). */
  readonly kind: 'online';
  readonly modelVersion: string;
  readonly rows: number;
  readonly latencyMs: number;
  /**
   * The plan cache: hits, misses and evictions since the previous ScoredEvent of this handler
   * (so summing them over events counts each once), its size and capacity now.
   */
  readonly planCache: PlanCacheStats;
}

/** Why a request was not scored; each is one kind of non-2xx answer. */
export const FAILURE_KINDS = {
  /** 405: an HTTP method other than POST. */
  methodNotAllowed: 'method_not_allowed',
  /** 400: an HTTP event without a body. */
  emptyBody: 'empty_body',
  /** 413: an HTTP body over `maxBodyBytes`. */
  bodyTooLarge: 'body_too_large',
  /** 400: an HTTP body that is not JSON. */
  invalidJson: 'invalid_json',
  /** 400: a RequestError (envelope, features, types, limits). */
  badRequest: 'bad_request',
  /** 503: the model could not be loaded. */
  modelUnavailable: 'model_unavailable',
  /** 500: anything else, a fault of ours. */
  internal: 'internal',
} as const;
export type FailureKind = (typeof FAILURE_KINDS)[keyof typeof FAILURE_KINDS];

export interface FailedEvent {
  readonly kind: FailureKind;
  /** The HTTP status answered (or the `statusCode` of a direct invocation's error body). */
  readonly status: number;
  readonly requestId: string;
}

/** One attempt to load the model: `error` is set when it failed. */
export interface ModelLoadEvent {
  readonly modelUri: string;
  readonly loadMs: number;
  /** Set when the load succeeded. */
  readonly modelVersion?: string;
  /** Set when the load failed (nothing is kept; the next event tries again). */
  readonly error?: Error;
}

export interface ScoreHandlerOptions {
  /** URI of the model folder (the Lambda reads it from WDP_MODEL_URI once). */
  readonly modelUri: string;
  readonly scorerOptions?: ScorerOptions;
  /** Largest request body accepted, in bytes (after base64 decoding). @default 6 MiB (Lambda's own payload limit) */
  readonly maxBodyBytes?: number;
  readonly logger?: HandlerLogger;
  /** Called after each successful scoring (metrics). */
  readonly onScored?: (e: ScoredEvent) => void;
  /**
   * Called once for every non-2xx answer, of either event shape (metrics and alarms: failures are
   * returned, not thrown, so nothing else counts them).
   */
  readonly onFailed?: (e: FailedEvent) => void;
  /**
   * Called when a load of the model settles, the preload's included: once per attempt, however
   * many events wait on it (a failed load answers each of them 503, each reported to onFailed).
   */
  readonly onModelLoad?: (e: ModelLoadEvent) => void;
  /** How to load the model. @default Scorer.load */
  readonly loadScorer?: (uri: string, options: ScorerOptions) => Promise<Scorer>;
  /**
   * Checks the loaded model before anything is scored with it (the Lambda: is it the version its
   * environment names? see expected-model.ts). A throw is a failed load: logged, reported to
   * onModelLoad, every waiting event answered 503, and the next event loads and checks again.
   */
  readonly verifyModel?: (scorer: Scorer) => void | Promise<void>;
  /**
   * Start loading the model now rather than on the first event. The scoring Lambda does this in
   * its init phase, which provisioned concurrency runs before any request arrives, so a
   * provisioned environment serves its first request with the model already read and checked.
   * A failed preload is logged and not kept: the first event tries again. @default false
   */
  readonly preload?: boolean;
  /**
   * With `preload`: once the preload has loaded (and verified) the model, score made-up requests
   * (Scorer.warmUp) before the load counts as done, so the first real request finds the request
   * path compiled, the plan's session built (with fixed context features) and ONNX Runtime's
   * buffers allocated. For environments that load before any traffic (a provisioned Lambda). A
   * load an event started (the preload failed) does not warm up: a caller is waiting. A failed
   * warm-up is logged and the model serves anyway. @default false
   */
  readonly warmUp?: boolean;
}

export interface HttpResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface ErrorBody {
  readonly statusCode: number;
  readonly error: string;
  readonly requestId: string;
}

export type ScoreHandler = (event: unknown, context?: { awsRequestId?: string }) => Promise<ScoreResponse | ErrorBody | HttpResult>;

export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;

/** The fields of a Function URL (payload v2) or API Gateway (v1 or v2) event the handler reads. */
interface HttpEvent {
  readonly body?: unknown;
  readonly isBase64Encoded?: unknown;
  readonly httpMethod?: unknown;
  readonly requestContext?: { readonly http?: { readonly method?: unknown } };
}

function isHttpEvent(event: unknown): event is HttpEvent {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
  const e = event as Record<string, unknown>;
  // A GET through a Function URL carries no `body` at all, only its method.
  if (httpMethod(e as HttpEvent) !== undefined) return true;
  return 'body' in e && ('requestContext' in e || 'headers' in e || 'isBase64Encoded' in e || 'rawPath' in e);
}

/** The request's method: v2 puts it in requestContext.http.method, v1 in httpMethod. */
function httpMethod(e: HttpEvent): string | undefined {
  const ctx = e.requestContext;
  const v2 = typeof ctx === 'object' && ctx !== null && typeof ctx.http === 'object' && ctx.http !== null ? ctx.http.method : undefined;
  const m = typeof v2 === 'string' ? v2 : e.httpMethod;
  return typeof m === 'string' ? m.toUpperCase() : undefined;
}

/** U+FEFF: some clients (PowerShell, Windows editors) start a UTF-8 body with a byte order mark. */
const BOM = '\uFEFF';

/** The message of a 413, shared with `wdp serve` (which counts the bytes itself). */
export function bodyTooLargeMessage(bytes: number, maxBodyBytes: number, atLeast = false): string {
  return `request body is too large: ${atLeast ? 'at least ' : ''}${bytes} bytes (the limit is ${maxBodyBytes})`;
}

const silent: HandlerLogger = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * Builds the handler. The model is loaded on first use and kept for the life of the process
 * (the Lambda container); a failed load is not kept, so the next event tries again, and nothing
 * is scored until a load has fully succeeded.
 * @example
 *   const handle = createScoreHandler({ modelUri: process.env.WDP_MODEL_URI! });
 *   await handle({ context: { user: 'u1' }, candidates: [{ item: 'i1' }] });
 */
export function createScoreHandler(options: ScoreHandlerOptions): ScoreHandler & {
  /** Settles (never rejects) when the load in progress, warm-up included, has; at once when none is. */
  readonly ready: () => Promise<void>;
} {
  const log = options.logger ?? silent;
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const scorerOptions = options.scorerOptions ?? {};
  let scorer: Promise<Scorer> | undefined;
  // Counters already reported, per loaded scorer (a reload starts from zero).
  const reported = new WeakMap<Scorer, PlanCacheStats>();
  const planCacheDelta = (s: Scorer): PlanCacheStats => {
    const now = s.planCacheStats();
    const last = reported.get(s);
    reported.set(s, now);
    if (!last) return now;
    return { ...now, hits: now.hits - last.hits, misses: now.misses - last.misses, evictions: now.evictions - last.evictions };
  };

  const warmUp = async (s: Scorer): Promise<void> => {
    try {
      const w = await s.warmUp();
      log.info('warmed up', {
        modelVersion: s.modelVersion,
        requests: w.requests,
        candidates: w.candidates,
        warmUpMs: Math.round(w.ms),
      });
    } catch (e) {
      log.warn('warm-up failed; the model serves without it', { modelVersion: s.modelVersion, error: (e as Error).message });
    }
    // The made-up requests are not traffic: the first event's plan-cache counts start after them.
    planCacheDelta(s);
  };

  /** @param preloading the preload's call: only that load warms up (an event waiting on a load should not wait for a warm-up too) */
  const getScorer = (preloading = false): Promise<Scorer> => {
    if (!scorer) {
      const load = options.loadScorer ?? ((uri: string, o: ScorerOptions) => Scorer.load(uri, o));
      const started = performance.now();
      const verify = options.verifyModel;
      const loaded = verify
        ? load(options.modelUri, scorerOptions).then(async (s) => {
            await verify(s);
            return s;
          })
        : load(options.modelUri, scorerOptions);
      // Events wait for the warm-up too: it never fails, so this settles as the load does.
      const p =
        options.warmUp && preloading
          ? loaded.then(async (s) => {
              await warmUp(s);
              return s;
            })
          : loaded;
      scorer = p;
      loaded.then(
        (s) => {
          const loadMs = performance.now() - started;
          // mappedTablesMB: how much of the weights stays in the file for ONNX Runtime to map (model/mapped-tables.ts).
          const mappedTablesMB = Math.round(s.model.mappedTableBytes / 1e6);
          log.info('model loaded', {
            modelUri: options.modelUri,
            modelVersion: s.modelVersion,
            loadMs: Math.round(loadMs),
            ...(mappedTablesMB > 0 ? { mappedTablesMB } : {}),
          });
          options.onModelLoad?.({ modelUri: options.modelUri, loadMs, modelVersion: s.modelVersion });
        },
        (e: unknown) => {
          if (scorer === p) scorer = undefined;
          const error = e instanceof Error ? e : new Error(String(e));
          log.error('model failed to load', { modelUri: options.modelUri, error: error.message });
          options.onModelLoad?.({ modelUri: options.modelUri, loadMs: performance.now() - started, error });
        },
      );
      // `p` rejects exactly when `loaded` does, handled above.
      p.catch(() => {});
    }
    return scorer;
  };

  // The rejection is logged by getScorer and forgotten; the first event loads again.
  if (options.preload) getScorer(true).catch(() => {});

  const failed = (kind: FailureKind, status: number, requestId: string): void => options.onFailed?.({ kind, status, requestId });

  const scoreOnline = async (body: unknown, requestId: string): Promise<{ status: number; payload: ScoreResponse | ErrorBody }> => {
    const started = performance.now();
    let s: Scorer;
    try {
      s = await getScorer();
    } catch {
      failed(FAILURE_KINDS.modelUnavailable, 503, requestId);
      return { status: 503, payload: { statusCode: 503, error: `model could not be loaded (request id ${requestId})`, requestId } };
    }
    try {
      const res = await s.score(body);
      const latencyMs = performance.now() - started;
      options.onScored?.({
        kind: 'online',
        modelVersion: s.modelVersion,
        rows: res.scores.length,
        latencyMs,
        planCache: planCacheDelta(s),
      });
      return { status: 200, payload: res };
    } catch (e) {
      if (e instanceof RequestError) {
        log.warn('bad request', { requestId, error: e.message });
        failed(FAILURE_KINDS.badRequest, 400, requestId);
        return { status: 400, payload: { statusCode: 400, error: e.message, requestId } };
      }
      log.error('scoring failed', { requestId, error: (e as Error).message, stack: (e as Error).stack ?? '' });
      failed(FAILURE_KINDS.internal, 500, requestId);
      return { status: 500, payload: { statusCode: 500, error: `internal error (request id ${requestId})`, requestId } };
    }
  };

  const handle: ScoreHandler = async (event, context) => {
    const requestId = context?.awsRequestId ?? randomUUID();
    if (!isHttpEvent(event)) {
      const { payload } = await scoreOnline(event, requestId);
      return payload;
    }
    // HTTP: method, decode, limit, parse, then the same path.
    const reply = (status: number, payload: unknown, headers: Record<string, string> = {}): HttpResult => ({
      statusCode: status,
      headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...headers },
      body: JSON.stringify(payload),
    });
    const refuse = (kind: FailureKind, status: number, message: string, headers?: Record<string, string>): HttpResult => {
      failed(kind, status, requestId);
      return reply(status, { statusCode: status, error: message, requestId }, headers);
    };
    const method = httpMethod(event);
    if (method !== undefined && method !== 'POST')
      return refuse(
        FAILURE_KINDS.methodNotAllowed,
        405,
        `method ${clip(method)} is not allowed: only POST is scored (send a JSON object with "candidates")`,
        { allow: 'POST' },
      );
    // A Function URL or API Gateway always gives a string; a hand-built event (a console's test
    // event) may hold the request itself, which is not an empty body and must not be called one.
    if (event.body !== undefined && event.body !== null && typeof event.body !== 'string')
      return refuse(
        FAILURE_KINDS.invalidJson,
        400,
        `request body must be a string, the request's JSON text, got ${Array.isArray(event.body) ? 'array' : typeof event.body}; send a JSON object with "candidates"`,
      );
    if (typeof event.body !== 'string' || event.body.length === 0)
      return refuse(FAILURE_KINDS.emptyBody, 400, 'request body is empty; send a JSON object with "candidates"');
    // Only boolean true means base64: a string "false" (a hand-built event) is truthy but is not.
    const base64 = event.isBase64Encoded === true;
    const raw = event.body;
    // Reject on the raw size before decoding or parsing anything.
    // A UTF-16 code unit is at most 3 UTF-8 bytes, so a body with length × 3 within the limit
    // needs no pass over its bytes to count them (~0.1 ms for 0.8 MB).
    const rawBytes = base64 ? Math.floor((raw.length * 3) / 4) : raw.length * 3 <= maxBody ? raw.length : Buffer.byteLength(raw, 'utf8');
    if (rawBytes > maxBody) return refuse(FAILURE_KINDS.bodyTooLarge, 413, bodyTooLargeMessage(rawBytes, maxBody));
    const decoded = base64 ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    // JSON.parse refuses a leading byte order mark; it carries no meaning, so drop it.
    const text = decoded.startsWith(BOM) ? decoded.slice(1) : decoded;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return refuse(FAILURE_KINDS.invalidJson, 400, 'request body is not valid JSON');
    }
    const { status, payload } = await scoreOnline(parsed, requestId);
    return reply(status, payload);
  };
  const ready = async (): Promise<void> => {
    await scorer?.catch(() => undefined);
  };
  return Object.assign(handle, { ready });
}
