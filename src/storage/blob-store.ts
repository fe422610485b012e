/**
 * One storage interface for every place wdp reads and writes: a local folder (`file://…` or a
 * plain path) or S3 (`s3://bucket/key`, or any S3-compatible endpoint via AWS_ENDPOINT_URL_S3).
 * Keys are always full URIs so callers never care which store they hold.
 */
export interface BlobInfo {
  /** Full URI of the object, in the same scheme as the listed prefix. */
  readonly uri: string;
  readonly sizeBytes: number;
  readonly lastModifiedEpochMs: number;
  /**
   * Opaque version tag that changes whenever the object is replaced (S3's ETag; for a local file
   * its inode, size and modification time in ns). Given by stat, readVersioned and list (the
   * folder store and S3 both; another store may leave it out).
   */
  readonly etag?: string;
}

/**
 * A condition on a write, for state that concurrent runs share (registry, watermark, run lock):
 * the write happens only if the object is as the writer last saw it. S3 honours both headers on
 * PutObject; the folder store checks them under an exclusive lock file. (s3rver ignores them.)
 */
/** Options of a ranged read. */
export interface RangeOptions {
  /** Read only this version of the object (an etag from list or stat). */
  readonly ifMatch?: string;
}

export interface WriteCondition {
  /** Create only: fail with StoragePreconditionError when the object already exists. */
  readonly ifNoneMatch?: '*';
  /** Replace only this version (an etag from stat/readVersioned): fail when it changed or is gone. */
  readonly ifMatch?: string;
}

/** An object's bytes with the version they belong to. */
export interface VersionedBlob {
  readonly data: Uint8Array;
  readonly etag: string;
}

/** An object's bytes with their SHA-256, and who vouches for it. */
export interface ChecksummedBlob {
  readonly data: Uint8Array;
  /** SHA-256 of the object, lowercase hex. */
  readonly sha256: string;
  /**
   * 'store': the store's own full-object SHA-256 of this version (S3 with ChecksumMode ENABLED),
   * so no local hash was computed; 'read': computed here over the bytes as they arrived.
   */
  readonly by: 'store' | 'read';
}

/** Options of a whole-object read. */
export interface ReadOptions {
  /**
   * Stops the read: no further parts are requested, those in flight are aborted, and the read
   * rejects with StorageError "read cancelled" (a prefetch nobody claimed; see model/prefetch.ts).
   */
  readonly signal?: AbortSignal;
}

export interface BlobStore {
  /** Every object whose URI starts with `prefix` (recursive), sorted by URI. */
  list(prefix: string): Promise<BlobInfo[]>;
  /** Size and time of one object; undefined when it does not exist. */
  stat(uri: string): Promise<BlobInfo | undefined>;
  /** The whole object. Throws StorageNotFoundError when it does not exist. */
  read(uri: string): Promise<Uint8Array>;
  /**
   * The whole object and its SHA-256 (model weights, checked against the manifest). The hash
   * overlaps the reading: chunks are hashed as they arrive; or, where the store keeps a
   * full-object SHA-256 of the version it returned, that one is used and nothing is hashed here.
   */
  readWithSha256(uri: string, options?: ReadOptions): Promise<ChecksummedBlob>;
  /**
   * Bytes [start, end) of the object (end exclusive). With `ifMatch` (an etag from list or stat)
   * only from that version: StoragePreconditionError when the object was replaced since, so a
   * reader of many ranges (a Parquet file's footer, then its row groups) never mixes two versions.
   */
  readRange(uri: string, start: number, end: number, options?: RangeOptions): Promise<Uint8Array>;
  /**
   * The object as a stream of chunks. With `ifMatch` only from that version (see readRange): a
   * reader that streams a file once per epoch never reads two versions in one run.
   */
  readStream(uri: string, options?: RangeOptions): AsyncIterable<Uint8Array>;
  /**
   * Writes the whole object so that readers see either the old or the new bytes, never a part:
   * local files go through a temp file and rename; S3 PutObject is atomic per object.
   */
  write(uri: string, data: Uint8Array | string, condition?: WriteCondition): Promise<{ readonly etag: string }>;
  /** The whole object and its etag, read as one version; undefined when it does not exist. */
  readVersioned(uri: string): Promise<VersionedBlob | undefined>;
  /** Deletes the object; no error when it is already gone. */
  delete(uri: string): Promise<void>;
}
