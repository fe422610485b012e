import type { AdagradSettings } from '../../config/schema.ts';
import type { SparseOptimizer, SparseTable } from './sparse-table.ts';

/**
 * Sparse AdaGrad (Duchi et al. 2011) as TF's SparseApplyAdagradV2: per element
 * acc += g²; w −= lr · g / (√acc + ε). Only the rows in the batch are touched, which is what
 * makes 50k-row embedding tables cheap to train.
 */
export class SparseAdagrad implements SparseOptimizer {
  readonly name = 'adagrad';
  readonly slotInit: Readonly<Record<string, number>>;
  readonly #lr: number;
  readonly #eps: number;

  constructor(settings: AdagradSettings) {
    this.#lr = settings.learningRate;
    this.#eps = settings.epsilon;
    this.slotInit = { acc: settings.initialAccumulator };
  }

  apply(table: SparseTable, rowIds: Int32Array, count: number, grads: Float64Array): void {
    const { weights: w, dim } = table;
    const acc = table.slots['acc']!;
    const lr = this.#lr;
    const eps = this.#eps;
    for (let k = 0; k < count; k++) {
      const base = rowIds[k]! * dim;
      const gBase = k * dim;
      for (let j = 0; j < dim; j++) {
        const g = grads[gBase + j]!;
        const i = base + j;
        const a = acc[i]! + g * g;
        acc[i] = a;
        w[i] = w[i]! - (lr * g) / (Math.sqrt(a) + eps);
      }
    }
  }
}
