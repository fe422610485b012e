import type { FtrlSettings } from '../../config/schema.ts';
import type { SparseOptimizer, SparseTable } from './sparse-table.ts';

/**
 * Per-coordinate FTRL-Proximal (McMahan et al. 2013, "Ad Click Prediction: a View from the
 * Trenches", Algorithm 1) with L1 and L2, learning-rate power −1/2 as in TF's SparseApplyFtrl.
 *
 * Slots: `z` (the accumulated, shifted gradient) and `n` (sum of squared gradients). The weight
 * is kept materialised in `weights` so the forward pass is a plain lookup; it is exactly zero
 * whenever |z| ≤ l1, which is where FTRL's sparsity comes from.
 */
export class Ftrl implements SparseOptimizer {
  readonly name = 'ftrl';
  readonly slotInit = { z: 0, n: 0 } as const;
  readonly #alpha: number;
  readonly #beta: number;
  readonly #l1: number;
  readonly #l2: number;

  constructor(settings: FtrlSettings) {
    this.#alpha = settings.alpha;
    this.#beta = settings.beta;
    this.#l1 = settings.l1;
    this.#l2 = settings.l2;
  }

  apply(table: SparseTable, rowIds: Int32Array, count: number, grads: Float64Array): void {
    const { weights: w, dim } = table;
    const z = table.slots['z']!;
    const n = table.slots['n']!;
    const alpha = this.#alpha;
    const beta = this.#beta;
    const l1 = this.#l1;
    const l2 = this.#l2;
    for (let k = 0; k < count; k++) {
      const base = rowIds[k]! * dim;
      for (let j = 0; j < dim; j++) {
        const i = base + j;
        const g = grads[k * dim + j]!;
        if (g === 0) continue;
        const nOld = n[i]!;
        const nNew = nOld + g * g;
        const sigma = (Math.sqrt(nNew) - Math.sqrt(nOld)) / alpha;
        const zNew = z[i]! + g - sigma * w[i]!;
        z[i] = zNew;
        n[i] = nNew;
        w[i] = Math.abs(zNew) <= l1 ? 0 : -(zNew - Math.sign(zNew) * l1) / ((beta + Math.sqrt(nNew)) / alpha + l2);
      }
    }
  }
}
