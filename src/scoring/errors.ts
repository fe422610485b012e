import { WdpError } from '../util/errors.ts';

/** Base of the scoring area's errors. */
export class ScoringError extends WdpError {}

/**
 * A request the caller must fix: malformed JSON, unknown features, wrong types, limits. The
 * message is safe to return to the caller as is (it names fields, never internals); handlers
 * answer it with HTTP 400.
 */
export class RequestError extends ScoringError {
  readonly statusCode = 400;
}

/** The configured model could not be loaded; nothing is served until a load succeeds. */
export class ModelUnavailableError extends ScoringError {
  readonly statusCode = 503;
}

/**
 * The loaded model is not the one serving was told to serve (or which one that is cannot be
 * known): a model that is not available, so answered 503 and never served (expected-model.ts).
 */
export class ServedModelMismatchError extends ModelUnavailableError {}

/**
 * ONNX Runtime loaded, but refused to open this tower's graph: not a missing runtime, so not a
 * reason to fall back to the plain-JS tower (see createSplitTower). Answered 500 and logged.
 */
export class TowerRefusedError extends ScoringError {}

/**
 * Scores that came out NaN or ±Infinity before the sigmoid: the model's fault (a non-finite weight
 * in a table the load does not scan, or a tower run gone wrong), not the caller's, so a 500 that
 * is logged, never a 400, and a batch that fails rather than writing NaN.
 */
export class NonFiniteScoresError extends ScoringError {
  /** How many of the scores were not finite. */
  readonly count: number;
  /** The index (candidate or row) of the first one. */
  readonly first: number;
  constructor(message: string, count: number, first: number, options?: ErrorOptions) {
    super(message, options);
    this.count = count;
    this.first = first;
  }
}
