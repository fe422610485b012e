/**
 * The tower's weights as plain arrays, and the pieces the forward passes share: the ONNX export
 * (onnx-export.ts, used when a model is saved and by the ONNX scoring tower) and the plain-JS
 * scoring tower. Scoring imports these from here, not from training or export code.
 */
import type { TowerShape } from './tower.ts';

/** Tower weights by name: `W{k}` Float32Array [in × out] row-major, `b{k}` [out]. Accumulators are ignored. */
export interface TowerWeights {
  readonly shape: TowerShape;
  readonly tensors: Readonly<Record<string, Float32Array>>;
}

/** A single-id embedding feature whose rows a split forward pass looks up itself (from ids). */
export interface GatheredFeature {
  /** Rows of its table. */
  readonly vocab: number;
  readonly dim: number;
  /**
   * Where its table is in a file (a mapped table, model/mapped-tables.ts): the graph then holds
   * it as an external initializer that ONNX Runtime memory-maps, and no table is fed. The file is
   * `location` in the session's external-data folder (SplitOptions.externalDataFolder).
   */
  readonly external?: { readonly location: string; readonly offset: number; readonly length: number };
}

/** Rows `rows` of a row-major [in × out] matrix, as a new [rows.length × out] matrix. */
export function selectRows(w: Float32Array, out: number, rows: ArrayLike<number>): Float32Array {
  const r = new Float32Array(rows.length * out);
  for (let i = 0; i < rows.length; i++) r.set(w.subarray(rows[i]! * out, (rows[i]! + 1) * out), i * out);
  return r;
}
