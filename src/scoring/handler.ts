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
 *     headers, body }` with the same JSON in `body`.
 * Bad requests answer 400 with a message naming the problem; an unavailable model 503; anything
 * else 500 with a generic message and the request id (details only in the logs).
 */
import { randomUUID } from 'node:crypto';
import { RequestError } from './errors.ts';
import type { ScoreResponse } from './request.ts';
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

export interface ScoreHandlerOptions {
  /** URI of the model folder (the Lambda reads it from WDP_MODEL_URI once). */
  readonly modelUri: string;
  readonly scorerOptions?: ScorerOptions;
  /** Largest request body accepted, in bytes (after base64 decoding). @default 6 MiB (Lambda's own payload limit) */
  readonly maxBodyBytes?: number;
  readonly logger?: HandlerLogger;
  /** Called after each successful scoring (metrics). */
  readonly onScored?: (e: ScoredEvent) => void;
  /** How to load the model. @default Scorer.load */
  readonly loadScorer?: (uri: string, options: ScorerOptions) => Promise<Scorer>;
  /**
   * Start loading the model now rather than on the first event. The scoring Lambda does this in
   * its init phase, which provisioned concurrency runs before any request arrives, so a
   * provisioned environment serves its first request with the model already read and checked.
   * A failed preload is logged and not kept: the first event tries again. @default false
   */
  readonly preload?: boolean;
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

function isHttpEvent(event: unknown): boolean {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
  const e = event as Record<string, unknown>;
  return 'body' in e && ('requestContext' in e || 'headers' in e || 'isBase64Encoded' in e || 'httpMethod' in e || 'rawPath' in e);
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
export function createScoreHandler(options: ScoreHandlerOptions): ScoreHandler {
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

  const getScorer = (): Promise<Scorer> => {
    if (!scorer) {
      const load = options.loadScorer ?? ((uri: string, o: ScorerOptions) => Scorer.load(uri, o));
      const started = performance.now();
      const p = load(options.modelUri, scorerOptions);
      scorer = p;
      p.then(
        (s) =>
          log.info('model loaded', {
            modelUri: options.modelUri,
            modelVersion: s.modelVersion,
            loadMs: Math.round(performance.now() - started),
          }),
        (e: unknown) => {
          if (scorer === p) scorer = undefined;
          log.error('model failed to load', { modelUri: options.modelUri, error: (e as Error).message });
        },
      );
    }
    return scorer;
  };

  // The rejection is logged by getScorer and forgotten; the first event loads again.
  if (options.preload) getScorer().catch(() => {});

  const scoreOnline = async (body: unknown, requestId: string): Promise<{ status: number; payload: ScoreResponse | ErrorBody }> => {
    const started = performance.now();
    let s: Scorer;
    try {
      s = await getScorer();
    } catch {
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
        return { status: 400, payload: { statusCode: 400, error: e.message, requestId } };
      }
      log.error('scoring failed', { requestId, error: (e as Error).message, stack: (e as Error).stack ?? '' });
      return { status: 500, payload: { statusCode: 500, error: `internal error (request id ${requestId})`, requestId } };
    }
  };

  return async (event, context) => {
    const requestId = context?.awsRequestId ?? randomUUID();
    if (!isHttpEvent(event)) {
      const { payload } = await scoreOnline(event, requestId);
      return payload;
    }
    // HTTP: decode, limit, parse, then the same path.
    const http = event as { body?: unknown; isBase64Encoded?: boolean };
    const reply = (status: number, payload: unknown): HttpResult => ({
      statusCode: status,
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify(payload),
    });
    const bad = (message: string) => reply(400, { statusCode: 400, error: message, requestId });
    if (typeof http.body !== 'string' || http.body.length === 0) return bad('request body is empty; send a JSON object with "candidates"');
    // Reject on the raw size before decoding or parsing anything.
    // A UTF-16 code unit is at most 3 UTF-8 bytes, so a body with length × 3 within the limit
    // needs no pass over its bytes to count them (~0.1 ms for 0.8 MB).
    const rawBytes = http.isBase64Encoded
      ? Math.floor((http.body.length * 3) / 4)
      : http.body.length * 3 <= maxBody
        ? http.body.length
        : Buffer.byteLength(http.body, 'utf8');
    if (rawBytes > maxBody) return bad(`request body is too large: ${rawBytes} bytes (the limit is ${maxBody})`);
    const text = http.isBase64Encoded ? Buffer.from(http.body, 'base64').toString('utf8') : http.body;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return bad('request body is not valid JSON');
    }
    const { status, payload } = await scoreOnline(parsed, requestId);
    return reply(status, payload);
  };
}
