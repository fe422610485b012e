/**
 * A fault hook in front of an S3-compatible test server: an HTTP proxy on 127.0.0.1 that
 * forwards every request to `target`, except that queued faults answer the next requests first
 * (an S3 error document with a status, or a connection reset). It counts what it saw.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = { readonly status: number; readonly code: string } | { readonly reset: true };

export interface FaultProxy {
  /** Put this in AWS_ENDPOINT_URL_S3 (or an S3Client's endpoint). */
  readonly endpoint: string;
  /** Answers the next requests with these faults, in order, then forwards again. */
  inject(...faults: Fault[]): void;
  /** Requests seen (faulted and forwarded), as "METHOD path". */
  readonly seen: string[];
  stop(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const queue: Fault[] = [];
  const seen: string[] = [];
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const fault = queue.shift();
    if (fault && 'reset' in fault) {
      req.socket.destroy();
      return;
    }
    if (fault) {
      req.resume();
      res.writeHead(fault.status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>injected ${fault.code}</Message></Error>`);
      return;
    }
    const upstream = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    inject: (...faults) => queue.push(...faults),
    seen,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
