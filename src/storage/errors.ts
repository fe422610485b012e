import { WdpError } from '../util/errors.ts';
import { quoted } from '../util/terminal-text.ts';

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
  /** Why the key is refused, without the URI and key (`it contains a backslash (keys use "/")`). */
  readonly detail: string;
  constructor(uri: string, key: string, detail: string) {
    super(uri, `refusing key ${quoted(key)}: ${detail}`);
    this.key = key;
    this.detail = detail;
  }
}

/** Who holds an output's writer lock, as its lock file records it (output-lock.ts). */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** When it took the lock (ISO time). */
  readonly since: string;
  /** Its command line after `wdp`. */
  readonly command: string;
}

/**
 * Another writer holds a local output's writer lock (output-lock.ts): it is writing the same
 * model folder or file now, and this writer stopped before changing anything. `holder` is what
 * the lock file records (undefined when it could not be read).
 */
export class OutputLockedError extends StorageError {
  readonly lockPath: string;
  readonly holder: LockHolder | undefined;
  /** The message without the URI in front, for a caller that words its own error around it. */
  readonly detail: string;
  constructor(uri: string, what: string, lockPath: string, holder: LockHolder | undefined) {
    const who = holder
      ? `another wdp process (pid ${holder.pid} on ${holder.host}, since ${holder.since}${holder.command ? `: wdp ${holder.command}` : ''})`
      : 'another wdp process';
    const detail = `${what} is being written by ${who}; nothing was changed. Wait for it to finish, or write elsewhere; if no such process runs, remove ${lockPath}`;
    super(uri, detail);
    this.lockPath = lockPath;
    this.holder = holder;
    this.detail = detail;
  }
}

/**
 * An output file (`wdp tune --out`, `wdp score --out`) already exists and replacing it was not
 * asked for (`--force`), as `wdp train` refuses a folder holding a model. Nothing was written.
 */
export class OutputExistsError extends StorageError {
  constructor(uri: string, what: string, hint = '') {
    super(
      uri,
      `${what} already exists${hint}; choose a new file, or give --force to replace it${uri.startsWith('s3://') ? '' : ' (swapped in only once the new one is complete)'}`,
    );
  }
}

/** A read pinned to a listed version (RangeOptions.ifMatch) found another version there. */
export function replacedSinceListed(uri: string, cause?: unknown): StoragePreconditionError {
  return new StoragePreconditionError(
    uri,
    'it was replaced since it was listed (another process rewrote it)',
    cause === undefined ? undefined : { cause },
  );
}
