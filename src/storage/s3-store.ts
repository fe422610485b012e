import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { BlobInfo, BlobStore, VersionedBlob, WriteCondition } from './blob-store.ts';
import { StorageError, StorageNotFoundError, StoragePreconditionError } from './errors.ts';

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
}

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

  constructor(options: S3StoreOptions = {}) {
    // The SDK reads AWS_ENDPOINT_URL_S3 itself; local S3 look-alikes (s3rver, MinIO) have no
    // virtual-host DNS for buckets, so an override implies path-style addressing.
    const hasEndpointOverride = Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
    this.#client = options.client ?? new S3Client(hasEndpointOverride ? { forcePathStyle: true } : {});
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
        const page = await this.#client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: key, ContinuationToken: token, MaxKeys: this.#pageSize }),
        );
        for (const obj of page.Contents ?? []) {
          if (obj.Key === undefined) continue;
          out.push({
            uri: `${S3_SCHEME}${bucket}/${obj.Key}`,
            sizeBytes: obj.Size ?? 0,
            lastModifiedEpochMs: obj.LastModified?.getTime() ?? 0,
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
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
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
    const { bucket, key } = parseS3Uri(uri);
    const part = this.#partBytes;
    try {
      let first: GetObjectCommandOutput;
      let head: Uint8Array;
      try {
        first = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${part - 1}` }));
        head = first.Body ? await first.Body.transformToByteArray() : new Uint8Array(0);
      } catch (err) {
        // A range of an empty object is unsatisfiable (S3: 416; some S3 look-alikes drop the
        // connection): a plain GET decides, and reports the real error if there is one.
        if (isNotFound(err) || httpStatus(err) === 403) throw err;
        return await this.#readPlain(uri, bucket, key);
      }
      const total = totalSize(first.ContentRange) ?? head.length;
      if (total <= head.length) return head;
      const out = new Uint8Array(total);
      out.set(head, 0);
      let next = head.length;
      let failed = false;
      const fetchParts = async (): Promise<void> => {
        while (!failed && next < total) {
          const start = next;
          const end = Math.min(total, start + part);
          next = end;
          const res = await this.#client.send(
            new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end - 1}`, IfMatch: first.ETag }),
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
      return out;
    } catch (err) {
      if (err instanceof StorageError) throw err;
      if (httpStatus(err) === 412)
        throw new StorageError(uri, 'read failed: the object was replaced while it was being read', { cause: err });
      throw wrap(uri, 'read', err);
    }
  }

  async #readPlain(uri: string, bucket: string, key: string): Promise<Uint8Array> {
    try {
      const res = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
    } catch (err) {
      throw wrap(uri, 'read', err);
    }
  }

  async readRange(uri: string, start: number, end: number): Promise<Uint8Array> {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
      throw new StorageError(uri, `bad byte range [${start}, ${end})`);
    }
    // "bytes=a-(a-1)" is not a valid range header, so an empty range never goes to S3.
    if (start === end) return new Uint8Array(0);
    const { bucket, key } = parseS3Uri(uri);
    try {
      const res = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end - 1}` }));
      return res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
    } catch (err) {
      // Past the end: S3 answers 416; match the file store, which returns the bytes that exist.
      if (httpStatus(err) === 416) return new Uint8Array(0);
      throw wrap(uri, 'readRange', err);
    }
  }

  async *readStream(uri: string): AsyncIterable<Uint8Array> {
    const { bucket, key } = parseS3Uri(uri);
    let body: AsyncIterable<Uint8Array> | undefined;
    try {
      const res = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      // In Node the body is an http.IncomingMessage, which is async-iterable.
      body = res.Body as AsyncIterable<Uint8Array> | undefined;
    } catch (err) {
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
      const r = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const data = r.Body ? await r.Body.transformToByteArray() : new Uint8Array(0);
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
    try {
      const r = await this.#client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: data,
          ...(condition.ifNoneMatch ? { IfNoneMatch: condition.ifNoneMatch } : {}),
          ...(condition.ifMatch !== undefined ? { IfMatch: condition.ifMatch } : {}),
        }),
      );
      return { etag: r.ETag ?? '' };
    } catch (err) {
      // 412: the condition failed; 409 ConditionalRequestConflict: a concurrent conditional write
      // to the same key won the race. Both mean "re-read and decide again".
      const status = httpStatus(err);
      if (status === 412 || status === 409) {
        const what = condition.ifNoneMatch ? 'it already exists' : 'it changed since it was read';
        throw new StoragePreconditionError(uri, what, { cause: err });
      }
      throw wrap(uri, 'write', err);
    }
  }

  async delete(uri: string): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw wrap(uri, 'delete', err);
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

/** The object size from a Content-Range header ("bytes 0-99/1234"); undefined when absent or unknown ("…/*"). */
function totalSize(contentRange: string | undefined): number | undefined {
  const m = contentRange ? /\/(\d+)\s*$/.exec(contentRange) : null;
  return m ? Number(m[1]) : undefined;
}

function httpStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = err instanceof Error ? err.name : undefined;
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatus(err) === 404;
}

function wrap(uri: string, op: string, err: unknown): StorageError {
  if (isNotFound(err)) return new StorageNotFoundError(uri, { cause: err });
  // SDK errors carry name + message + status only; request headers (signatures) stay out.
  const status = httpStatus(err);
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new StorageError(uri, `${op} failed${status ? ` (HTTP ${status})` : ''}: ${what}`, { cause: err });
}
