/**
 * `wdp serve`: the scoring handler over plain HTTP on 127.0.0.1, for trying a model by hand.
 * Each request becomes a Function URL event, so it takes exactly the Lambda's path (methods,
 * limits, messages).
 *
 *   curl -s localhost:8080/ -d '{"context":{"user":"u1"},"candidates":[{"item":"i1"},{"item":"i2"}]}'
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
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
  /** Largest request body accepted, in bytes; a larger one answers 413. @default DEFAULT_MAX_BODY_BYTES (6 MiB) */
  readonly maxBodyBytes?: number;
}

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
    onModelLoad: (e) => {
      settleFirstLoad?.(e);
      settleFirstLoad = undefined;
    },
  });
  const send = (res: ServerResponse, h: HttpResult) => res.writeHead(h.statusCode, h.headers).end(h.body);
  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // Past the limit the bytes are only counted, not kept: the 413 names the real size.
      if (size <= maxBody) chunks.push(c);
    });
    req.on('end', () => {
      if (size > maxBody && method === 'POST') {
        // The handler would answer the same from the size alone, but would need the body for it.
        const requestId = randomUUID();
        send(res, {
          statusCode: 413,
          headers: { 'content-type': 'application/json', 'x-request-id': requestId },
          body: JSON.stringify({ statusCode: 413, error: bodyTooLargeMessage(size, maxBody), requestId }),
        });
        return;
      }
      // Any other method is refused by the handler before it looks at the body.
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
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : (options.port ?? 8080));
    });
  });
  return { server, port, firstLoad };
}
