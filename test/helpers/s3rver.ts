import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface StartS3rverOptions {
  /** Buckets to create before the server accepts requests. */
  readonly buckets: readonly string[];
}

export interface RunningS3rver {
  /** e.g. `http://127.0.0.1:41234`; put it in AWS_ENDPOINT_URL_S3. */
  readonly endpoint: string;
  /** Stops the server and deletes its temp folder. */
  stop(): Promise<void>;
}

/**
 * Starts a local s3rver on a free port of 127.0.0.1, storing objects in a fresh temp folder.
 * Pair with `withS3Env` (or set AWS_ENDPOINT_URL_S3 yourself).
 *
 * @example
 * const s3 = await startS3rver({ buckets: ['logs'] });
 * try { ... } finally { await s3.stop(); }
 */
export async function startS3rver(options: StartS3rverOptions): Promise<RunningS3rver> {
  const directory = await mkdtemp(join(tmpdir(), 'wdp-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    async stop() {
      // The SDK keeps sockets alive; without this, close() waits for them to time out.
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

const S3_ENV_KEYS = [
  'AWS_ENDPOINT_URL_S3',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
] as const;

/**
 * Points the AWS SDK at `endpoint` with s3rver's dummy credentials; returns a function that
 * restores every variable it touched.
 */
export function setS3Env(endpoint: string): () => void {
  const saved = new Map(S3_ENV_KEYS.map((k) => [k, process.env[k]]));
  process.env.AWS_ENDPOINT_URL_S3 = endpoint;
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
