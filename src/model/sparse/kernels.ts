/**
 * The sparse half of a Wide & Deep step as plain indexed loops over typed arrays (no closures:
 * these are the hottest JS in training), one function per phase.
 *
 * CSR inputs: example i owns entries [offsets[i], offsets[i+1]).
 */
import type { GradientAccumulator } from './sparse-table.ts';

/** out[i] = Σ_k w[ids[k]] · values[k] over example i's wide coordinates (no bias). */
export function wideDot(
  w: Float32Array,
  offsets: Int32Array,
  ids: Int32Array,
  values: Float32Array,
  batchSize: number,
  out: Float64Array,
): void {
  for (let i = 0; i < batchSize; i++) {
    let s = 0;
    for (let k = offsets[i]!; k < offsets[i + 1]!; k++) s += w[ids[k]!]! * values[k]!;
    out[i] = s;
  }
}

/** Sums g_i · value over every occurrence of each wide coordinate into `acc` (after reset). */
export function accumulateWideGrads(
  acc: GradientAccumulator,
  offsets: Int32Array,
  ids: Int32Array,
  values: Float32Array,
  batchSize: number,
  g: Float64Array,
): void {
  acc.reset();
  for (let i = 0; i < batchSize; i++) {
    const gi = g[i]!;
    for (let k = offsets[i]!; k < offsets[i + 1]!; k++) {
      const s = acc.slot(ids[k]!);
      acc.grads[s] = acc.grads[s]! + gi * values[k]!;
    }
  }
}

/**
 * Pools one feature's embedding rows into columns [col, col+dim) of x (row stride `stride`):
 * a row copy for single ids, a sum or mean for lists, zeros for empty lists.
 */
export function gatherEmbedding(
  table: Float32Array,
  dim: number,
  mean: boolean,
  offsets: Int32Array,
  ids: Int32Array,
  batchSize: number,
  x: Float32Array,
  stride: number,
  col: number,
): void {
  for (let i = 0; i < batchSize; i++) {
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    const xo = i * stride + col;
    if (end - start === 1) {
      const ro = ids[start]! * dim;
      for (let j = 0; j < dim; j++) x[xo + j] = table[ro + j]!;
      continue;
    }
    for (let j = 0; j < dim; j++) x[xo + j] = 0;
    if (end === start) continue;
    const scale = mean ? 1 / (end - start) : 1;
    for (let k = start; k < end; k++) {
      const ro = ids[k]! * dim;
      for (let j = 0; j < dim; j++) x[xo + j] = x[xo + j]! + table[ro + j]! * scale;
    }
  }
}

/** The reverse of gatherEmbedding: sums dX columns into per-row gradients in `acc` (after reset). */
export function scatterEmbeddingGrads(
  acc: GradientAccumulator,
  dim: number,
  mean: boolean,
  offsets: Int32Array,
  ids: Int32Array,
  batchSize: number,
  dx: Float32Array,
  stride: number,
  col: number,
): void {
  acc.reset();
  for (let i = 0; i < batchSize; i++) {
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    if (end === start) continue;
    const scale = mean ? 1 / (end - start) : 1;
    const xo = i * stride + col;
    for (let k = start; k < end; k++) {
      const s = acc.slot(ids[k]!) * dim;
      const gr = acc.grads; // re-read: slot() may have grown the buffer
      for (let j = 0; j < dim; j++) gr[s + j] = gr[s + j]! + dx[xo + j]! * scale;
    }
  }
}
