import { WdpError } from '../util/errors.ts';

/** Weights whose shapes do not fit the model's layout. */
export class ModelShapeError extends WdpError {}

/**
 * A model artifact that cannot be loaded: missing or truncated manifest, unknown format
 * version, a file whose checksum or size does not match. Nothing is loaded when this is thrown.
 */
export class ModelLoadError extends WdpError {
  readonly uri: string;
  constructor(uri: string, message: string, options?: ErrorOptions) {
    super(`cannot load model ${uri}: ${message}`, options);
    this.uri = uri;
  }
}

/**
 * A model cannot be saved at this folder: it already holds a model (and replacing was not asked
 * for), holds files that are not a model's, is a file, or is the model being warm-started from.
 * Nothing was written when this is thrown before the save.
 */
export class ModelTargetError extends WdpError {
  readonly uri: string;
  constructor(uri: string, message: string, options?: ErrorOptions) {
    super(`cannot save a model to ${uri}: ${message}`, options);
    this.uri = uri;
  }
}
