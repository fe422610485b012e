/**
 * `wdp serve`: the scoring handler over plain HTTP on 127.0.0.1, for trying a model by hand.
 * Each request becomes a Function URL event, so it takes exactly the Lambda's path (methods,
 * limits, messages).
 *
 *   curl -s localhost:8080/ -d '{"context":{"user":"u1"},"candidates":[{"item":"i1"},{"item":"i2"}]}'
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  bodyTooLargeMessage,
  createScoreHandler,
  DEFAULT_MAX_BODY_BYTES,
  type HandlerLogger,
  type HttpResult,
  type ModelLoadEvent,
} from './handler.ts';
import type { ScorerOptions } from './scorer.ts';

export interface ServeOptions {
  readonly modelUri: string;
  /** @default 8080; 0 picks a free port */
  readonly port?: number;
  /** @default '127.0.0.1' (local only: there is no authentication) */
  readonly host?: string;
  readonly scorerOptions?: ScorerOptions;
  readonly logger?: HandlerLogger;
  /** Load the model now rather than on the first request (createScoreHandler's preload). @default false */
  readonly preload?: boolean;
  /** Score made-up requests after the load, before the first real one (createScoreHandler's warmUp). @default false */
  readonly warmUp?: boolean;
  /** Largest request body accepted, in bytes; a larger one answers 413. @default DEFAULT_MAX_BODY_BYTES (6 MiB) */
  readonly maxBodyBytes?: number;
  /**
   * Longest a request may take to arrive, headers and body, before it is answered 408 and its
   * connection closed (checked about every second). @default DEFAULT_REQUEST_TIMEOUT_MS
   */
  readonly requestTimeoutMs?: number;
}

/**
 * A whole request body reaches a local server in milliseconds; Node's own default (5 minutes)
 * let a client that sends a byte now and then hold a connection, and its buffer, that long.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Bytes past the limit read and dropped after a 413, so the client sees it, before the connection is closed. */
const DRAIN_BYTES = 16 * 1024 * 1024;

export interface Serving {
  readonly server: Server;
  /** The bound port (the one asked for, or the free one picked for port 0). */
  readonly port: number;
  /**
   * The first load of the model (the preload with `preload`): resolves with its model version,
   * rejects with its error. The server keeps running either way, and after a failure the next
   * request loads again (a model folder that appears later is served); a caller that would rather
   * stop, such as the CLI, awaits this. Never an unhandled rejection when ignored.
   */
  readonly firstLoad: Promise<string>;
  /** Settles (never rejects) once the load in progress, warm-up included, has. */
  readonly ready: () => Promise<void>;
}

/** Starts the server; resolves once it listens, with the bound port. */
export async function serve(options: ServeOptions): Promise<Serving> {
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let settleFirstLoad: ((e: ModelLoadEvent) => void) | undefined;
  const firstLoad = new Promise<string>((resolve, reject) => {
    settleFirstLoad = (e) => (e.error ? reject(e.error) : resolve(e.modelVersion ?? ''));
  });
  firstLoad.catch(() => {}); // the handler logs the failure; awaiting is the caller's choice
  const handle = createScoreHandler({
    modelUri: options.modelUri,
    maxBodyBytes: maxBody,
    ...(options.scorerOptions ? { scorerOptions: options.scorerOptions } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.preload ? { preload: true } : {}),
    ...(options.warmUp ? { warmUp: true } : {}),
    onModelLoad: (e) => {
      settleFirstLoad?.(e);
      settleFirstLoad = undefined;
    },
  });
  const send = (res: ServerResponse, h: HttpResult) => res.writeHead(h.statusCode, h.headers).end(h.body);
  // A body over the limit is answered as soon as that is known: before the body is sent when the
  // client asks first (`expect: 100-continue`, as curl does for large bodies), else from
  // content-length, else when the count passes the limit. What the client goes on sending is read
  // and dropped, so it can read the answer (closing at once made clients fail with EPIPE or
  // ECONNRESET instead of seeing the 413), up to DRAIN_BYTES; past that the connection is closed:
  // reading a 512 MB upload, or a chunked body that never ends, to the end kept it busy for as
  // long as it was sent.
  const refuseTooLarge = (res: ServerResponse, bytes: number, atLeast: boolean, close: boolean) => {
    const requestId = randomUUID();
    send(res, {
      statusCode: 413,
      headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...(close ? { connection: 'close' } : {}) },
      body: JSON.stringify({ statusCode: 413, error: bodyTooLargeMessage(bytes, maxBody, atLeast), requestId }),
    });
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const declared = Number(req.headers['content-length']);
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    if (method === 'POST' && declared > maxBody) {
      // Any other method is refused by the handler before it looks at the body.
      refused = true;
      refuseTooLarge(res, declared, false, false);
    }
    req.on('data', (c: Buffer) => {
      size += c.length;
      // Past the limit the bytes are only counted, not kept.
      if (size <= maxBody) chunks.push(c);
      else if (method === 'POST' && !refused) {
        refused = true;
        refuseTooLarge(res, size, true, false);
      }
      if (refused && size > maxBody + DRAIN_BYTES) req.socket.destroy();
    });
    // A client gone mid-body: nothing to answer (and no unhandled 'error' event).
    req.on('error', () => undefined);
    req.on('end', () => {
      if (refused) return;
      const body = size > maxBody ? '' : Buffer.concat(chunks).toString('utf8');
      const event = {
        version: '2.0',
        rawPath: req.url ?? '/',
        headers: req.headers,
        requestContext: { http: { method, path: req.url ?? '/' } },
        body,
        isBase64Encoded: false,
      };
      handle(event)
        .then((r) => send(res, r as HttpResult))
        .catch(() => res.writeHead(500, { 'content-type': 'application/json' }).end('{"statusCode":500,"error":"internal error"}'));
    });
  };
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const server = createServer(
    // headersTimeout's own default (60 s) is not lowered with requestTimeout, and a connection that
    // sends nothing at all is bound by neither: without the idle timeout below, a client that
    // connects and stays silent (or stops inside the headers) held its socket indefinitely.
    { requestTimeout: requestTimeoutMs, headersTimeout: requestTimeoutMs, connectionsCheckingInterval: 1000 },
    onRequest,
  );
  // Only until a request arrives: after that requestTimeout bounds the body, keepAliveTimeout the
  // wait for the next request, and a slow answer (the first one waits for the model) is not cut.
  server.on('connection', (socket) => {
    socket.setTimeout(requestTimeoutMs, () => socket.destroy());
  });
  server.on('request', (req: IncomingMessage) => {
    req.socket.setTimeout(0);
  });
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if ((req.method ?? 'GET') === 'POST' && Number(req.headers['content-length']) > maxBody) {
      // The body was never sent: nothing to drain, the connection may close.
      refuseTooLarge(res, Number(req.headers['content-length']), false, true);
      return;
    }
    res.writeContinue();
    onRequest(req, res);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : (options.port ?? 8080));
    });
  });
  return { server, port, firstLoad, ready: handle.ready };
}
