import { WdpError } from '../util/errors.ts';
import { quoted } from '../util/terminal-text.ts';

/**
 * A saved transform state that cannot be used: wrong format version, malformed, or
 * inconsistent (a cross naming an unknown feature, unsorted cut points, duplicate tokens).
 */
export class TransformStateError extends WdpError {}

/** A transform asked about a feature or segment it does not have. */
export class UnknownFeatureError extends WdpError {
  readonly feature: string;
  constructor(feature: string, options?: ErrorOptions) {
    super(`unknown feature or segment ${quoted(feature)}`, options);
    this.feature = feature;
  }
}

/** Batches that cannot be combined: different embedding counts, numeric widths, or labels. */
export class BatchShapeError extends WdpError {
  readonly expected: string;
  readonly actual: string;
  constructor(what: string, expected: string | number, actual: string | number, options?: ErrorOptions) {
    super(`${what}: expected ${expected}, got ${actual}`, options);
    this.expected = String(expected);
    this.actual = String(actual);
  }
}
