import type { AdagradSettings } from '../../config/schema.ts';
import type { SparseOptimizer, SparseTable } from './sparse-table.ts';

/**
 * Sparse AdaGrad (Duchi et al. 2011) as TF's SparseApplyAdagradV2: per element
 * acc += g²; w −= lr · g / (√acc + ε). Only the rows in the batch are touched, which is what
 * makes 50k-row embedding tables cheap to train.
 *
 * With `l2` = λ > 0 it is TF's SparseApplyProximalAdagrad (l1 = 0) with AdaGrad's ε: per element
 * of a row the batch touches, η = lr / (√acc + ε) and w ← (w − η·g) / (1 + η·λ), the closed-form
 * proximal step of λ/2·‖w‖². Rows the batch does not touch are left alone — no decay is caught
 * up later — so a step costs the same in a 1k-row table as in a 10M-row one, and there is no
 * per-row state to save (a resumed model is the uninterrupted one, bit for bit). This is the
 * TF semantics of L2 in its sparse optimizers (FTRL's l2_regularization_strength, proximal
 * AdaGrad's l2): a row is regularised as often as it is trained, so rare ids, whose few updates
 * would otherwise be undone by decay between them, are not shrunk towards 0 by the steps of others.
 */
export class SparseAdagrad implements SparseOptimizer {
  readonly name = 'adagrad';
  readonly slotInit: Readonly<Record<string, number>>;
  readonly #lr: number;
  readonly #eps: number;

  readonly #l2: number;

  /** @param l2 λ of the proximal L2 step on touched rows (deep.embeddingL2). @default 0 */
  constructor(settings: AdagradSettings, l2 = 0) {
    this.#lr = settings.learningRate;
    this.#eps = settings.epsilon;
    this.#l2 = l2;
    this.slotInit = { acc: settings.initialAccumulator };
  }

  apply(table: SparseTable, rowIds: Int32Array, count: number, grads: Float64Array): void {
    const { weights: w, dim } = table;
    const acc = table.slots['acc']!;
    const lr = this.#lr;
    const eps = this.#eps;
    const l2 = this.#l2;
    if (l2 > 0) {
      for (let k = 0; k < count; k++) {
        const base = rowIds[k]! * dim;
        const gBase = k * dim;
        for (let j = 0; j < dim; j++) {
          const g = grads[gBase + j]!;
          const i = base + j;
          const a = acc[i]! + g * g;
          acc[i] = a;
          const eta = lr / (Math.sqrt(a) + eps);
          w[i] = (w[i]! - eta * g) / (1 + eta * l2);
        }
      }
      return;
    }
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
