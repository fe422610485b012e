/**
 * Storage entry point: pick a BlobStore by URI and build URIs without caring about the scheme.
 */
import type { BlobStore } from './blob-store.ts';
import { UnsafeKeyError } from './errors.ts';
import { FileStore, toPath } from './file-store.ts';
import { S3Store, parseS3Uri } from './s3-store.ts';

export type { BlobInfo, BlobStore, ChecksummedBlob, VersionedBlob, WriteCondition } from './blob-store.ts';
export { StorageError, StorageNotFoundError, StoragePreconditionError, UnsafeKeyError } from './errors.ts';
export { FileStore, toPath } from './file-store.ts';
export { S3Store, parseS3Uri } from './s3-store.ts';
export type { S3Location, S3StoreOptions } from './s3-store.ts';

const stores = new Map<string, BlobStore>();

/** True for `s3://…` URIs. */
export function isS3Uri(uri: string): boolean {
  return uri.startsWith('s3://');
}

/**
 * `uri` spelled so that it names the same place from any working directory: a local path made
 * absolute (`./b` → `/home/me/b`); `s3://` and `file://` URIs, absolute already, unchanged. For
 * what is recorded and read back later, perhaps elsewhere (a run manifest).
 */
export function absoluteUri(uri: string): string {
  return isS3Uri(uri) || uri.startsWith('file:') ? uri : toPath(uri);
}

/**
 * The store for `uri`: S3Store for `s3://bucket/…`, FileStore for `file://…` and plain paths.
 * Stores are cached per scheme and bucket (and S3 endpoint, so tests that point
 * AWS_ENDPOINT_URL_S3 at a local server get a fresh client).
 *
 * @example
 * const bytes = await storeFor('s3://logs/dt=2024-05-01/part-0.parquet').read('s3://logs/dt=2024-05-01/part-0.parquet');
 */
export function storeFor(uri: string): BlobStore {
  const key = isS3Uri(uri)
    ? `s3:${parseS3Uri(uri).bucket}:${process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL ?? ''}`
    : 'file';
  let store = stores.get(key);
  if (!store) {
    store = key === 'file' ? new FileStore() : new S3Store();
    stores.set(key, store);
  }
  return store;
}

/** Forgets cached stores (tests that change AWS env between cases). */
export function clearStoreCache(): void {
  stores.clear();
}

/**
 * Joins URI parts with single slashes, keeping the scheme of `base`. The parts are keys under
 * `base` and stay under it: a part with a `..` segment, a NUL, a control character or a backslash is refused
 * (UnsafeKeyError) whatever the store, so a prefix or key from a caller (`wdp score-batch --out`,
 * a batch item, a manifest's file name) can never name something outside the bucket or folder.
 * Leading slashes of a part are dropped (the part is still a key under `base`).
 *
 * @example
 * joinUri('s3://b/runs/', '/42', 'model.json'); // 's3://b/runs/42/model.json'
 * joinUri('.wdp/bucket', 'batch/output/../../x'); // throws UnsafeKeyError
 */
export function joinUri(base: string, ...parts: string[]): string {
  let out = base;
  for (const part of parts) {
    checkKey(base, part);
    const p = part.replace(/^\/+/, '');
    if (p === '') continue;
    out = out === '' ? p : `${out.replace(/\/+$/, '')}/${p}`;
  }
  return out;
}

/**
 * Refuses a key that could leave the folder or bucket it is joined to (see joinUri).
 * @throws UnsafeKeyError naming the base and the key
 */
export function checkKey(base: string, key: string): void {
  if (key.includes('\0')) throw new UnsafeKeyError(base, key, 'it contains a NUL character');
  // Keys are printed to terminals and logs (file names in run summaries, warnings): an escape
  // sequence in a file name could rewrite what an operator sees. No store needs them in a key.
  const control = firstControlCharacter(key);
  if (control !== undefined)
    throw new UnsafeKeyError(base, key, `it contains a control character (U+${control.toString(16).padStart(4, '0').toUpperCase()})`);
  if (key.includes('\\')) throw new UnsafeKeyError(base, key, 'it contains a backslash (keys use "/")');
  if (key.split('/').includes('..')) throw new UnsafeKeyError(base, key, 'a ".." segment would leave the bucket');
}

/** The code of the first C0 (but NUL, checked apart) or C1 control character or DEL in `s`. */
function firstControlCharacter(s: string): number | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x01 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f)) return c;
  }
  return undefined;
}

/**
 * The folder URI holding `uri` (no trailing slash); the bucket root for top-level S3 keys.
 *
 * @example
 * parentUri('s3://b/runs/42/model.json'); // 's3://b/runs/42'
 */
export function parentUri(uri: string): string {
  const trimmed = uri.length > 1 ? uri.replace(/\/+$/, '') : uri;
  // rootLen: the part that is never stripped ("s3://bucket", "file:///", "/").
  let rootLen: number;
  if (isS3Uri(trimmed)) {
    rootLen = trimmed.indexOf('/', 's3://'.length);
    if (rootLen < 0) return trimmed;
  } else if (trimmed.startsWith('file://')) {
    rootLen = 'file:///'.length;
  } else {
    rootLen = trimmed.startsWith('/') ? 1 : 0;
  }
  const slash = trimmed.lastIndexOf('/');
  if (slash < rootLen) return rootLen === 0 ? '.' : trimmed.slice(0, rootLen);
  return trimmed.slice(0, slash);
}
