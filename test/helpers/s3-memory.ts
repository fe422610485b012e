/**
 * An in-memory S3 bucket behind aws-sdk-client-mock: ListObjectsV2 / HeadObject / GetObject
 * (with Range) / PutObject / DeleteObject on a Map, so handler tests run the real S3Store code
 * path with no server. Restore with `restore()`.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { mockClient } from 'aws-sdk-client-mock';
import { clearStoreCache } from '../../src/storage/index.ts';

export interface MemoryBucket {
  /** key → bytes, for all buckets (keys are `bucket/key`). */
  readonly objects: Map<string, Uint8Array>;
  text(uri: string): string | undefined;
  /** The inputs of every PutObject sent so far (to check request shapes: conditions, keys). */
  puts(): PutObjectCommandInput[];
  /**
   * From now on, answers PutObject (or DeleteObject) of keys (`bucket/key`) matching `keys` with
   * 403 AccessDenied, as S3 does for a role without that permission. Until restore().
   */
  deny(op: 'put' | 'delete', keys: RegExp): void;
  restore(): void;
}

function notFound(): Error {
  return Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
}

async function toBytes(body: unknown): Promise<Uint8Array> {
  if (typeof body === 'string') return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  const chunks: Uint8Array[] = [];
  for await (const c of body as AsyncIterable<Uint8Array>) chunks.push(c);
  return Buffer.concat(chunks);
}

export function mockS3Memory(): MemoryBucket {
  const objects = new Map<string, Uint8Array>();
  const saved = {
    region: process.env.AWS_REGION,
    key: process.env.AWS_ACCESS_KEY_ID,
    secret: process.env.AWS_SECRET_ACCESS_KEY,
    endpoint: process.env.AWS_ENDPOINT_URL_S3,
  };
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  delete process.env.AWS_ENDPOINT_URL_S3;
  clearStoreCache();
  const s3 = mockClient(S3Client);
  const k = (i: { Bucket?: string; Key?: string }) => `${i.Bucket}/${i.Key}`;
  const denied: { op: 'put' | 'delete'; keys: RegExp }[] = [];
  const refuse = (op: 'put' | 'delete', key: string) => {
    if (denied.some((d) => d.op === op && d.keys.test(key)))
      throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  };
  // As S3: LastModified stays put until the object is replaced (here: a new byte array is stored).
  const modified = new WeakMap<Uint8Array, Date>();
  const modifiedOf = (v: Uint8Array) => modified.get(v) ?? (modified.set(v, new Date()).get(v) as Date);
  s3.on(ListObjectsV2Command).callsFake((i: { Bucket: string; Prefix?: string }) => ({
    IsTruncated: false,
    Contents: [...objects.entries()]
      .filter(([key]) => key.startsWith(`${i.Bucket}/${i.Prefix ?? ''}`))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, v]) => ({ Key: key.slice(i.Bucket.length + 1), Size: v.length, LastModified: modifiedOf(v), ETag: etagOf(v) })),
  }));
  s3.on(HeadObjectCommand).callsFake((i) => {
    const v = objects.get(k(i));
    if (!v) throw notFound();
    return { ContentLength: v.length, LastModified: modifiedOf(v), ETag: etagOf(v) };
  });
  // As S3: a Range answers with Content-Range and the ETag, an If-Match on another version is
  // 412, and a range of an empty object is 416.
  s3.on(GetObjectCommand).callsFake((i: { Bucket: string; Key: string; Range?: string; IfMatch?: string }) => {
    const v = objects.get(k(i));
    if (!v) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    const etag = etagOf(v);
    if (i.IfMatch !== undefined && i.IfMatch !== etag)
      throw Object.assign(new Error('PreconditionFailed'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    const m = i.Range ? /bytes=(\d+)-(\d+)/.exec(i.Range) : null;
    if (m && Number(m[1]) >= v.length)
      throw Object.assign(new Error('InvalidRange'), { name: 'InvalidRange', $metadata: { httpStatusCode: 416 } });
    const end = m ? Math.min(Number(m[2]) + 1, v.length) : v.length;
    const bytes = m ? v.subarray(Number(m[1]), end) : v;
    return {
      ETag: etag,
      ...(m ? { ContentRange: `bytes ${m[1]}-${end - 1}/${v.length}` } : {}),
      Body: {
        transformToByteArray: async () => bytes,
        async *[Symbol.asyncIterator]() {
          yield bytes;
        },
      },
    };
  });
  // As S3: If-None-Match * fails with 412 when the key exists, If-Match with 412 when the ETag differs.
  s3.on(PutObjectCommand).callsFake(async (i: { Bucket: string; Key: string; Body: unknown; IfNoneMatch?: string; IfMatch?: string }) => {
    refuse('put', k(i));
    const bytes = await toBytes(i.Body);
    // Check and set with no await between them: S3 decides a conditional write atomically.
    const current = objects.get(k(i));
    const failed = (i.IfNoneMatch === '*' && current) || (i.IfMatch !== undefined && (!current || etagOf(current) !== i.IfMatch));
    if (failed) throw Object.assign(new Error('PreconditionFailed'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    objects.set(k(i), bytes);
    return { ETag: etagOf(bytes) };
  });
  s3.on(DeleteObjectCommand).callsFake((i) => {
    refuse('delete', k(i));
    objects.delete(k(i));
    return {};
  });
  return {
    objects,
    puts: () => s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input),
    deny: (op, keys) => {
      denied.push({ op, keys });
    },
    text: (uri) => {
      const v = objects.get(uri.replace(/^s3:\/\//, ''));
      return v ? Buffer.from(v).toString('utf8') : undefined;
    },
    restore: () => {
      s3.restore();
      clearStoreCache();
      for (const [name, v] of [
        ['AWS_REGION', saved.region],
        ['AWS_ACCESS_KEY_ID', saved.key],
        ['AWS_SECRET_ACCESS_KEY', saved.secret],
        ['AWS_ENDPOINT_URL_S3', saved.endpoint],
      ] as const) {
        if (v === undefined) delete process.env[name];
        else process.env[name] = v;
      }
    },
  };
}

function etagOf(bytes: Uint8Array): string {
  return `"${createHash('md5').update(bytes).digest('hex')}"`;
}
