/**
 * A table of `rows × dim` weights updated a few rows at a time: the wide part's linear weights
 * (dim 1) and each embedding table. tfjs has neither FTRL nor a sparse-gradient path, so these
 * updates run here on typed arrays, row by row, as TensorFlow's SparseApplyFtrl and
 * SparseApplyAdagrad kernels do.
 */
export interface SparseTable {
  readonly rows: number;
  readonly dim: number;
  /** Float32Array [rows × dim], row-major. */
  readonly weights: Float32Array;
  /** Optimizer state, same layout as `weights`, keyed by slot name (e.g. 'z', 'n', 'acc'). */
  readonly slots: Readonly<Record<string, Float32Array>>;
}

/** A per-coordinate optimizer for SparseTables. */
export interface SparseOptimizer {
  readonly name: string;
  /** Slot names this optimizer keeps, with their initial values. */
  readonly slotInit: Readonly<Record<string, number>>;
  /**
   * Applies one step to `count` distinct rows.
   * @param rowIds Int32Array; the first `count` entries are distinct row ids
   * @param grads  [count × dim] gradients, row k for rowIds[k] (duplicates already summed)
   */
  apply(table: SparseTable, rowIds: Int32Array, count: number, grads: Float64Array): void;
}

/** A table with zero or given weights and freshly initialised slots. */
export function createTable(rows: number, dim: number, optimizer: SparseOptimizer, init?: (weights: Float32Array) => void): SparseTable {
  const weights = new Float32Array(rows * dim);
  init?.(weights);
  const slots: Record<string, Float32Array> = {};
  for (const [name, value] of Object.entries(optimizer.slotInit)) {
    slots[name] = new Float32Array(rows * dim).fill(value);
  }
  return { rows, dim, weights, slots };
}

/**
 * Sums gradient rows per distinct id, so each touched row gets one optimizer step per batch
 * (what TF does by deduplicating IndexedSlices before the sparse apply).
 * Reuses its buffers across batches. `#mark` interleaves [epoch, slot] per row so the lookup
 * costs one cache miss, not two: with million-row tables these misses are the hot path.
 */
export class GradientAccumulator {
  readonly dim: number;
  #mark: Int32Array;
  #epoch = 0;
  #ids: Int32Array;
  #grads: Float64Array;
  #count = 0;

  constructor(rows: number, dim: number, expectedTouched = 1024) {
    this.dim = dim;
    this.#mark = new Int32Array(rows * 2);
    this.#ids = new Int32Array(expectedTouched);
    this.#grads = new Float64Array(expectedTouched * dim);
  }

  reset(): void {
    this.#epoch++;
    if (this.#epoch === 0x7fffffff) {
      this.#mark.fill(0);
      this.#epoch = 1;
    }
    this.#count = 0;
  }

  /** Index of `row`'s gradient slot, creating a zeroed one on first touch. */
  slot(row: number): number {
    const mark = this.#mark;
    const m = row << 1;
    if (mark[m] === this.#epoch) return mark[m + 1]!;
    const k = this.#count++;
    if (k >= this.#ids.length) this.#grow();
    mark[m] = this.#epoch;
    mark[m + 1] = k;
    this.#ids[k] = row;
    const g = this.#grads;
    const dim = this.dim;
    for (let j = k * dim, end = j + dim; j < end; j++) g[j] = 0;
    return k;
  }

  /** grads[slot*dim] += value (for dim-1 tables). */
  add(row: number, value: number): void {
    const k = this.slot(row);
    this.#grads[k * this.dim] = this.#grads[k * this.dim]! + value;
  }

  get count(): number {
    return this.#count;
  }
  get ids(): Int32Array {
    return this.#ids;
  }
  get grads(): Float64Array {
    return this.#grads;
  }

  #grow(): void {
    const ids = new Int32Array(this.#ids.length * 2);
    ids.set(this.#ids);
    const grads = new Float64Array(ids.length * this.dim);
    grads.set(this.#grads);
    this.#ids = ids;
    this.#grads = grads;
  }
}
