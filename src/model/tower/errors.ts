import { WdpError } from '../../util/errors.ts';

/** Base of every error the tower area raises. */
export class TowerError extends WdpError {}

/** A tensor or batch whose length does not match the tower's shape. */
export class TowerShapeError extends TowerError {
  readonly tensor: string;
  readonly expected: number;
  readonly actual: number;
  constructor(tensor: string, expected: number, actual: number, options?: ErrorOptions) {
    super(`tower tensor '${tensor}': expected ${expected} elements, got ${actual}`, options);
    this.tensor = tensor;
    this.expected = expected;
    this.actual = actual;
  }
}

/** A requested backend (tfjs flavour, onnxruntime) that cannot be loaded here. */
export class TowerBackendUnavailableError extends TowerError {}
