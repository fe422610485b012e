import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createHash, type Hash } from 'node:crypto';
import type { BlobInfo, BlobStore, ChecksummedBlob, RangeOptions, ReadOptions, VersionedBlob, WriteCondition } from './blob-store.ts';
import { StorageError, StorageNotFoundError, StoragePreconditionError, replacedSinceListed } from './errors.ts';

export interface S3StoreOptions {
  /**
   * Client to use; tests and callers with custom credentials pass their own.
   * @default a new S3Client from the standard AWS env/config chain (incl. AWS_ENDPOINT_URL_S3)
   */
  readonly client?: S3Client;
  /**
   * MaxKeys per ListObjectsV2 page. Only tests need a small value, to exercise pagination.
   * @default 1000
   */
  readonly pageSize?: number;
  /**
   * Bytes per ranged GET when `read` fetches a whole object. Large objects (model weights) are
   * read as parallel byte ranges, as S3's performance guidelines advise: one GET stream tops
   * out well below what a Lambda or training host can take in. @default 8 MiB
   */
  readonly partBytes?: number;
  /** Ranged GETs in flight at once in `read`. @default 8 */
  readonly readConcurrency?: number;
  /** How transient failures are retried (see RetryPolicy). */
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Milliseconds a new connection may take to be established before the try is abandoned (and
   * retried as a timed-out connection). Ignored when `client` is given. @default 10000
   */
  readonly connectionTimeoutMs?: number;
  /**
   * Milliseconds a connection may stay idle (nothing sent or received) before the try is
   * abandoned and retried. An IDLE limit, not a total one: a multi-GB ranged GET or PUT that
   * keeps moving bytes is never cut, while an endpoint that accepts and then never answers (or
   * stalls mid-body) is. Ignored when `client` is given. @default 30000
   */
  readonly socketIdleTimeoutMs?: number;
}

/**
 * Transient failures (HTTP 5xx such as 503 SlowDown, throttling, a reset or timed-out connection)
 * are retried with capped exponential backoff and full jitter, as AWS's guidance for S3 advises.
 * Everything else fails at once: 403 and bad credentials, a missing bucket or key, a failed
 * condition. This is the one retry layer: the store's own S3Client is built with maxAttempts 1,
 * so the SDK's retries do not multiply these.
 */
export interface RetryPolicy {
  /** Tries per request, the first included. @default 5 */
  readonly attempts: number;
  /** Backoff before try n+1 is random in [0, min(maxDelayMs, baseDelayMs · 2^(n-1))]. @default 100 */
  readonly baseDelayMs: number;
  /** @default 3000 */
  readonly maxDelayMs: number;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 3000 };
const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;
const DEFAULT_SOCKET_IDLE_TIMEOUT_MS = 30_000;

/** How many tries a request that finally failed took (set by #withRetry, read by wrap). */
const triesOf = new WeakMap<object, number>();

/** Parts of an `s3://bucket/key` URI; key may be '' (the whole bucket). */
export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

const S3_SCHEME = 's3://';

/**
 * BlobStore over S3 (or any S3-compatible endpoint set by AWS_ENDPOINT_URL_S3) for
 * `s3://bucket/key` URIs. One store serves every bucket.
 *
 * @example
 * const store = new S3Store();
 * const bytes = await store.readRange('s3://logs/dt=2024-05-01/part-0.parquet', 0, 4);
 */
export class S3Store implements BlobStore {
  readonly #client: S3Client;
  readonly #pageSize: number;
  readonly #partBytes: number;
  readonly #readConcurrency: number;
  readonly #retry: RetryPolicy;

  constructor(options: S3StoreOptions = {}) {
    // The SDK reads AWS_ENDPOINT_URL_S3 itself; local S3 look-alikes (s3rver, MinIO) have no
    // virtual-host DNS for buckets, so an override implies path-style addressing.
    const hasEndpointOverride = Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
    const connectionTimeout = options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS;
    const socketTimeout = options.socketIdleTimeoutMs ?? DEFAULT_SOCKET_IDLE_TIMEOUT_MS;
    for (const [name, v] of [
      ['connectionTimeoutMs', connectionTimeout],
      ['socketIdleTimeoutMs', socketTimeout],
    ] as const)
      if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`${name} must be a positive number of milliseconds`);
    // Without these the SDK waits forever on an endpoint that accepts and never answers (its
    // defaults are 0: no limit), and the retries below never start. socketTimeout is the
    // handler's idle timeout; its requestTimeout would bound a whole transfer, which a large
    // model file may rightly exceed, so it is left unset.
    this.#client =
      options.client ??
      new S3Client({
        maxAttempts: 1,
        requestHandler: { connectionTimeout, socketTimeout },
        ...(hasEndpointOverride ? { forcePathStyle: true } : {}),
      });
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    if (!(Number.isInteger(this.#retry.attempts) && this.#retry.attempts >= 1))
      throw new RangeError('retry.attempts must be an integer >= 1');
    this.#pageSize = options.pageSize ?? 1000;
    this.#partBytes = options.partBytes ?? 8 * 1024 * 1024;
    this.#readConcurrency = options.readConcurrency ?? 8;
    if (!(Number.isInteger(this.#partBytes) && this.#partBytes > 0)) throw new RangeError('partBytes must be a positive integer');
    if (!(Number.isInteger(this.#readConcurrency) && this.#readConcurrency > 0))
      throw new RangeError('readConcurrency must be a positive integer');
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    const { bucket, key } = parseS3Uri(prefix);
    const out: BlobInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.#withRetry(() =>
          this.#client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, ContinuationToken: token, MaxKeys: this.#pageSize })),
        );
        for (const obj of page.Contents ?? []) {
          if (obj.Key === undefined) continue;
          out.push({
            uri: `${S3_SCHEME}${bucket}/${obj.Key}`,
            sizeBytes: obj.Size ?? 0,
            lastModifiedEpochMs: obj.LastModified?.getTime() ?? 0,
            ...(obj.ETag ? { etag: obj.ETag } : {}),
          });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw wrap(prefix, 'list', err);
    }
    return out.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  }

  async stat(uri: string): Promise<BlobInfo | undefined> {
    const { bucket, key } = parseS3Uri(uri);
    try {
      const head = await this.#withRetry(() => this.#client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
      return {
        uri,
        sizeBytes: head.ContentLength ?? 0,
        lastModifiedEpochMs: head.LastModified?.getTime() ?? 0,
        ...(head.ETag ? { etag: head.ETag } : {}),
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw wrap(uri, 'stat', err);
    }
  }

  /**
   * The whole object. The first part's response gives the size (Content-Range) and version
   * (ETag); the other parts follow in parallel, each pinned to that ETag (If-Match), so an
   * object overwritten mid-read fails the read instead of mixing two versions.
   */
  async read(uri: string): Promise<Uint8Array> {
    return (await this.#readWhole(uri, undefined)).data;
  }

  /**
   * As `read`, with the object's SHA-256. A HeadObject with ChecksumMode ENABLED goes out beside
   * the first part: when S3 keeps a full-object SHA-256 of the very version read (same ETag),
   * that is the answer and nothing is hashed here (every object `write` stores carries one, see
   * there). Otherwise (no checksum, another algorithm, a multipart object's composite checksum,
   * which is a hash of part hashes and cannot be compared with a file's sha256, or an S3
   * look-alike that keeps none) the parts are hashed in order as they arrive, overlapping the
   * download of the later ones.
   */
  async readWithSha256(uri: string, options: ReadOptions = {}): Promise<ChecksummedBlob> {
    const { bucket, key } = parseS3Uri(uri);
    const head = this.#withRetry(() =>
      this.#client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' })),
    ).then(
      (h) => {
        const sha = fullObjectSha256(h.ChecksumSHA256, h.ChecksumType);
        return sha && h.ETag ? { sha256: sha, etag: h.ETag } : undefined;
      },
      // The checksum is an optimisation: without it (a HEAD refused, an S3 look-alike) the bytes are hashed.
      () => undefined,
    );
    const r = await this.#readWhole(uri, head, options.signal);
    return { data: r.data, sha256: r.sha256!, by: r.by! };
  }

  /**
   * The object's bytes; with `checksum` given, also its SHA-256: the store's, when it names the
   * version read, else hashed in order as the parts arrive.
   */
  async #readWhole(
    uri: string,
    checksum: Promise<{ sha256: string; etag: string } | undefined> | undefined,
    signal?: AbortSignal,
  ): Promise<{ data: Uint8Array; sha256?: string; by?: 'store' | 'read' }> {
    const { bucket, key } = parseS3Uri(uri);
    const part = this.#partBytes;
    const cancelled = () => new StorageError(uri, 'read cancelled');
    // The SDK aborts a request in flight; a part not yet requested is never asked for.
    const sendOptions = signal ? { abortSignal: signal } : undefined;
    const plain = async () => {
      const data = await this.#readPlain(uri, bucket, key);
      return checksum ? { data, sha256: createHash('sha256').update(data).digest('hex'), by: 'read' as const } : { data };
    };
    try {
      let first: GetObjectCommandOutput;
      let head: Uint8Array;
      try {
        ({ first, head } = await this.#withRetry(async () => {
          if (signal?.aborted) throw cancelled();
          const r = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${part - 1}` }), sendOptions);
          return { first: r, head: r.Body ? await r.Body.transformToByteArray() : new Uint8Array(0) };
          // Only server-side trouble (5xx, throttling) is retried here: a dropped connection may be
          // an S3 look-alike's answer to a range of an empty object, which the plain GET below settles.
        }, isTransientStatus));
      } catch (err) {
        if (signal?.aborted) throw cancelled();
        // A range of an empty object is unsatisfiable (S3: 416; some S3 look-alikes drop the
        // connection): a plain GET decides, and reports the real error if there is one.
        if (isNotFound(err) || isFatal(err) || isTransientStatus(err)) throw err;
        return await plain();
      }
      const stored = checksum ? await checksum : undefined;
      const byStore = stored !== undefined && stored.etag === first.ETag;
      const hash: Hash | undefined = checksum && !byStore ? createHash('sha256') : undefined;
      const done = (data: Uint8Array) =>
        !checksum
          ? { data }
          : byStore
            ? { data, sha256: stored!.sha256, by: 'store' as const }
            : { data, sha256: hash!.digest('hex'), by: 'read' as const };
      const total = totalSize(first.ContentRange) ?? head.length;
      if (total <= head.length) {
        hash?.update(head);
        return done(head);
      }
      const out = new Uint8Array(total);
      out.set(head, 0);
      // Parts finish out of order; the hash takes them in order, as soon as the prefix is whole.
      hash?.update(head);
      let hashedTo = head.length;
      const finished = new Map<number, number>();
      const advance = (start: number, end: number) => {
        if (!hash) return;
        finished.set(start, end);
        for (let e = finished.get(hashedTo); e !== undefined; e = finished.get(hashedTo)) {
          finished.delete(hashedTo);
          hash.update(out.subarray(hashedTo, e));
          hashedTo = e;
        }
      };
      let next = head.length;
      let failed = false;
      const fetchParts = async (): Promise<void> => {
        while (!failed && next < total) {
          const start = next;
          const end = Math.min(total, start + part);
          next = end;
          // A connection reset mid-body retries the whole part.
          await this.#withRetry(async () => {
            if (signal?.aborted) throw cancelled();
            const res = await this.#client.send(
              new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end - 1}`, IfMatch: first.ETag }),
              sendOptions,
            );
            let at = start;
            // Straight into place: no per-part buffer to concatenate.
            for await (const chunk of (res.Body ?? []) as AsyncIterable<Uint8Array>) {
              if (at + chunk.length > end) throw new StorageError(uri, `read failed: range ${start}-${end - 1} returned too many bytes`);
              out.set(chunk, at);
              at += chunk.length;
            }
            if (at !== end)
              throw new StorageError(uri, `read failed: range ${start}-${end - 1} returned ${at - start} of ${end - start} bytes`);
          });
          advance(start, end);
        }
      };
      const workers = Math.min(this.#readConcurrency, Math.ceil((total - next) / part));
      // The first failure stops the other workers from starting more parts.
      await Promise.all(
        Array.from({ length: workers }, () =>
          fetchParts().catch((e: unknown) => {
            failed = true;
            throw e;
          }),
        ),
      );
      return done(out);
    } catch (err) {
      if (signal?.aborted) throw cancelled();
      if (err instanceof StorageError) throw err;
      if (httpStatus(err) === 412)
        throw new StorageError(uri, 'read failed: the object was replaced while it was being read', { cause: err });
      throw wrap(uri, 'read', err);
    }
  }

  async #readPlain(uri: string, bucket: string, key: string): Promise<Uint8Array> {
    try {
      return await this.#withRetry(async () => {
        const res = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
      });
    } catch (err) {
      throw wrap(uri, 'read', err);
    }
  }

  async readRange(uri: string, start: number, end: number, options: RangeOptions = {}): Promise<Uint8Array> {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
      throw new StorageError(uri, `bad byte range [${start}, ${end})`);
    }
    // "bytes=a-(a-1)" is not a valid range header, so an empty range never goes to S3.
    if (start === end) return new Uint8Array(0);
    const { bucket, key } = parseS3Uri(uri);
    try {
      return await this.#withRetry(async () => {
        const res = await this.#client.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: key,
            Range: `bytes=${start}-${end - 1}`,
            ...(options.ifMatch !== undefined ? { IfMatch: options.ifMatch } : {}),
          }),
        );
        return res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
      });
    } catch (err) {
      // Past the end: S3 answers 416; match the file store, which returns the bytes that exist.
      if (httpStatus(err) === 416) return new Uint8Array(0);
      if (httpStatus(err) === 412) throw replacedSinceListed(uri, err);
      throw wrap(uri, 'readRange', err);
    }
  }

  async *readStream(uri: string, options: RangeOptions = {}): AsyncIterable<Uint8Array> {
    const { bucket, key } = parseS3Uri(uri);
    let body: AsyncIterable<Uint8Array> | undefined;
    try {
      const res = await this.#withRetry(() =>
        this.#client.send(
          new GetObjectCommand({ Bucket: bucket, Key: key, ...(options.ifMatch !== undefined ? { IfMatch: options.ifMatch } : {}) }),
        ),
      );
      // In Node the body is an http.IncomingMessage, which is async-iterable.
      body = res.Body as AsyncIterable<Uint8Array> | undefined;
    } catch (err) {
      if (httpStatus(err) === 412) throw replacedSinceListed(uri, err);
      throw wrap(uri, 'readStream', err);
    }
    if (!body) return;
    try {
      for await (const chunk of body) yield chunk;
    } catch (err) {
      throw wrap(uri, 'readStream', err);
    }
  }

  /** One plain GET (small documents: registry, watermark, lock), with the ETag of what it returned. */
  async readVersioned(uri: string): Promise<VersionedBlob | undefined> {
    const { bucket, key } = parseS3Uri(uri);
    try {
      const { r, data } = await this.#withRetry(async () => {
        const res = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return { r: res, data: res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0) };
      });
      if (!r.ETag) throw new StorageError(uri, 'read: the server returned no ETag, so the object cannot be updated safely');
      return { data, etag: r.ETag };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (err instanceof StorageError) throw err;
      throw wrap(uri, 'read', err);
    }
  }

  async write(uri: string, data: Uint8Array | string, condition: WriteCondition = {}): Promise<{ readonly etag: string }> {
    const { bucket, key } = parseS3Uri(uri);
    if (condition.ifNoneMatch !== undefined && condition.ifMatch !== undefined) {
      throw new StorageError(uri, 'write: give ifNoneMatch or ifMatch, not both');
    }
    let tries = 0;
    try {
      const r = await this.#withRetry(() => {
        tries++;
        return this.#client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: data,
            // S3 computes and keeps the object's full-object SHA-256 (one PutObject: never a
            // multipart composite), which readWithSha256 reads back instead of hashing again.
            ChecksumAlgorithm: 'SHA256',
            ...(condition.ifNoneMatch ? { IfNoneMatch: condition.ifNoneMatch } : {}),
            ...(condition.ifMatch !== undefined ? { IfMatch: condition.ifMatch } : {}),
          }),
        );
      });
      return { etag: r.ETag ?? '' };
    } catch (err) {
      // A retried conditional write can fail its condition because the try whose answer was lost
      // succeeded: if the object now holds exactly our bytes, the write is done.
      if (tries > 1 && isConditionFailure(err)) {
        const now = await this.readVersioned(uri).catch(() => undefined);
        if (now && Buffer.from(now.data).equals(typeof data === 'string' ? Buffer.from(data) : Buffer.from(data)))
          return { etag: now.etag };
      }
      // 412: the condition failed; 409 ConditionalRequestConflict: a concurrent conditional write
      // to the same key won the race. Both mean "re-read and decide again".
      if (isConditionFailure(err)) {
        const what = condition.ifNoneMatch ? 'it already exists' : 'it changed since it was read';
        throw new StoragePreconditionError(uri, what, { cause: err });
      }
      throw wrap(uri, 'write', err);
    }
  }

  async delete(uri: string): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    try {
      await this.#withRetry(() => this.#client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
    } catch (err) {
      if (isNotFound(err)) return;
      throw wrap(uri, 'delete', err);
    }
  }

  /** Runs `op`, trying again after a backoff while it fails transiently (see RetryPolicy). */
  async #withRetry<T>(op: () => Promise<T>, retryable: (err: unknown) => boolean = isTransient): Promise<T> {
    const { attempts, baseDelayMs, maxDelayMs } = this.#retry;
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        if (attempt >= attempts || !retryable(err)) {
          if (typeof err === 'object' && err !== null) triesOf.set(err, attempt);
          throw err;
        }
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1))));
      }
    }
  }
}

/** Splits `s3://bucket/key/…`; throws StorageError when `uri` is not an S3 URI with a bucket. */
export function parseS3Uri(uri: string): S3Location {
  if (!uri.startsWith(S3_SCHEME)) throw new StorageError(uri, 'not an s3:// URI');
  const rest = uri.slice(S3_SCHEME.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  if (!bucket) throw new StorageError(uri, 'S3 URI has no bucket');
  return { bucket, key: slash < 0 ? '' : rest.slice(slash + 1) };
}

/**
 * The hex SHA-256 of the whole object from S3's checksum fields, or undefined when S3 gave none
 * or gave a composite one (a multipart upload's checksum of part checksums, "…-N").
 */
export function fullObjectSha256(checksum: string | undefined, type: string | undefined): string | undefined {
  if (!checksum || type === 'COMPOSITE' || checksum.includes('-')) return undefined;
  const bytes = Buffer.from(checksum, 'base64');
  return bytes.length === 32 ? bytes.toString('hex') : undefined;
}

/** The object size from a Content-Range header ("bytes 0-99/1234"); undefined when absent or unknown ("…/*"). */
function totalSize(contentRange: string | undefined): number | undefined {
  const m = contentRange ? /\/(\d+)\s*$/.exec(contentRange) : null;
  return m ? Number(m[1]) : undefined;
}

function httpStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** S3 error names that mean "try again later" whatever the status code says. */
const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'TimeoutError',
  'Throttling',
  'ThrottlingException',
]);
/** Socket errors of a dropped or stalled connection. */
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNREFUSED', 'ECONNABORTED', 'EAI_AGAIN', 'UND_ERR_SOCKET']);
/** Failures no retry can fix: wrong or expired credentials, a forbidden action, a missing bucket. */
const FATAL_NAMES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'NoSuchBucket',
  'AllAccessDisabled',
]);

function isTransient(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || isFatal(err)) return false;
  const status = httpStatus(err);
  if (status !== undefined && status >= 500 && status !== 501) return true;
  const e = err as { name?: string; code?: string; cause?: { code?: string } };
  return TRANSIENT_NAMES.has(e.name ?? '') || TRANSIENT_CODES.has(e.code ?? '') || TRANSIENT_CODES.has(e.cause?.code ?? '');
}

/** isTransient, but only for what the server answered (5xx, throttling), not for a dropped connection. */
function isTransientStatus(err: unknown): boolean {
  if (!isTransient(err)) return false;
  const e = err as { code?: string; cause?: { code?: string } };
  return !TRANSIENT_CODES.has(e.code ?? '') && !TRANSIENT_CODES.has(e.cause?.code ?? '');
}

/** A connection that was not established, or went idle, within the handler's timeouts. */
function isTimeout(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: string; code?: string };
  return e.name === 'TimeoutError' || e.code === 'ETIMEDOUT';
}

function isFatal(err: unknown): boolean {
  const name = err instanceof Error ? err.name : undefined;
  return httpStatus(err) === 403 || FATAL_NAMES.has(name ?? '');
}

/** 412: the condition failed; 409 ConditionalRequestConflict: a concurrent conditional write to the same key won. */
function isConditionFailure(err: unknown): boolean {
  const status = httpStatus(err);
  return status === 412 || status === 409;
}

function isNotFound(err: unknown): boolean {
  const name = err instanceof Error ? err.name : undefined;
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatus(err) === 404;
}

function wrap(uri: string, op: string, err: unknown): StorageError {
  const name = err instanceof Error ? err.name : '';
  if (name === 'NoSuchBucket')
    return new StorageNotFoundError(uri, { cause: err, detail: `the bucket ${parseS3Uri(uri).bucket} does not exist` });
  if (isNotFound(err)) return new StorageNotFoundError(uri, { cause: err });
  if (isFatal(err)) {
    const why =
      name === 'AccessDenied' || httpStatus(err) === 403
        ? `access denied (HTTP 403): the credentials in use may not ${op} this object; check the IAM role or user and the bucket policy`
        : `the credentials were refused (${name}): check AWS_PROFILE / AWS_ACCESS_KEY_ID or the role, and the clock`;
    return new StorageError(uri, `${op} failed: ${why}`, { cause: err });
  }
  // SDK errors carry name + message + status only; request headers (signatures) stay out.
  const status = httpStatus(err);
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const tries = typeof err === 'object' && err !== null ? (triesOf.get(err) ?? 1) : 1;
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const hint = isTimeout(err)
    ? `; the S3 endpoint${endpoint ? ` ${endpoint}` : ''} did not answer: check the endpoint, the network path to it (proxy, VPC endpoint) and its health`
    : '';
  return new StorageError(uri, `${op} failed${status ? ` (HTTP ${status})` : ''}: ${what}${tries > 1 ? ` (${tries} tries)` : ''}${hint}`, {
    cause: err,
  });
}
