/**
 * `wdp serve`: the scoring handler over plain HTTP on 127.0.0.1, for trying a model by hand.
 * Each request becomes a Function URL event, so it takes exactly the Lambda's path.
 *
 *   curl -s localhost:8080/ -d '{"context":{"user":"u1"},"candidates":[{"item":"i1"},{"item":"i2"}]}'
 */
import { createServer, type Server } from 'node:http';
import { createScoreHandler, DEFAULT_MAX_BODY_BYTES, type HandlerLogger, type HttpResult } from './handler.ts';
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
}

/** Starts the server; resolves once it listens, with the bound port. */
export async function serve(options: ServeOptions): Promise<{ server: Server; port: number }> {
  const handle = createScoreHandler({
    modelUri: options.modelUri,
    ...(options.scorerOptions ? { scorerOptions: options.scorerOptions } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.preload ? { preload: true } : {}),
  });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // Stop buffering past the limit; the handler answers 400 from the size alone.
      if (size > DEFAULT_MAX_BODY_BYTES + 1) tooBig = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      const body = tooBig ? 'x'.repeat(DEFAULT_MAX_BODY_BYTES + 1) : Buffer.concat(chunks).toString('utf8');
      const event = {
        version: '2.0',
        rawPath: req.url ?? '/',
        headers: req.headers,
        requestContext: { http: { method: req.method ?? 'GET', path: req.url ?? '/' } },
        body: req.method === 'GET' ? null : body,
        isBase64Encoded: false,
      };
      handle(event)
        .then((r) => {
          const h = r as HttpResult;
          res.writeHead(h.statusCode, h.headers).end(h.body);
        })
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
  return { server, port };
}
