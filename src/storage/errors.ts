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

/** The object does not exist (fs ENOENT, S3 NoSuchKey / 404). */
export class StorageNotFoundError extends StorageError {
  constructor(uri: string, options?: ErrorOptions) {
    super(uri, 'not found', options);
  }
}
