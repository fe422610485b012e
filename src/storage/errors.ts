import { WdpError } from '../util/errors.ts';

/**
 * A storage operation failed. The message always names the URI (never credentials, which the
 * SDK keeps out of its error messages too); `cause` keeps the SDK or fs error.
 */
export class StorageError extends WdpError {
  readonly uri: string;
  constructor(uri: string, message: string, options?: ErrorOptions) {
    super(`${uri}: ${message}`, options);
    this.uri = uri;
  }
}

/**
 * A conditional write lost: the object exists (ifNoneMatch) or is not the version the writer read
 * (ifMatch). The caller re-reads and decides again, or reports the conflict.
 */
export class StoragePreconditionError extends StorageError {
  constructor(uri: string, detail: string, options?: ErrorOptions) {
    super(uri, `precondition failed: ${detail}`, options);
  }
}

/** The object does not exist (fs ENOENT, S3 NoSuchKey / 404). */
export class StorageNotFoundError extends StorageError {
  constructor(uri: string, options?: ErrorOptions & { readonly detail?: string }) {
    super(uri, options?.detail ? `not found: ${options.detail}` : 'not found', options);
  }
}

/**
 * A key (a path inside a bucket or folder) that would leave it or that no store spells the same
 * way, or that would be printed with terminal escapes: a `..` segment, a NUL, a control character, a
 * backslash. `uri` is the base it was to be joined to (printed as given; the key JSON-quoted).
 */
export class UnsafeKeyError extends StorageError {
  readonly key: string;
  constructor(uri: string, key: string, detail: string) {
    super(uri, `refusing key ${JSON.stringify(key)}: ${detail}`);
    this.key = key;
  }
}
