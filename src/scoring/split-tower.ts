/**
 * The tower forward pass for scoring, with the first layer split between the user context
 * (applied once per request) and the items:
 *   h1 = ReLU(X_item · W0_item + u),  u = x_user · W0_user + b0  [H0] computed once per call,
 *   then the usual layers. X_item is the candidates' single-id embeddings, looked up by the
 *   tower itself (ItemColumns.gathered), followed by their other columns (ItemColumns.rest).
 * Two implementations share this interface and one contract test: ONNX Runtime (native, fast;
 * onnx-split-tower.ts) and plain JS (works anywhere, e.g. where onnxruntime-node's binary does not
 * load; js-split-tower.ts). create-split-tower.ts picks one.
 */
import type { Int8TowerWeights } from '../model/tower/int8.ts';
import type { Int8Ops } from '../model/tower/onnx-export.ts';
import type { GatheredFeature } from '../model/tower/weights.ts';

/** The candidates' tower inputs. */
export interface ItemColumns {
  /** Per gathered feature, in SplitTowerOptions.gathered order: its table [V × dim] and one id per candidate. */
  readonly gathered: readonly { readonly table: Float32Array; readonly ids: Int32Array }[];
  /** The other item columns, Float32Array [B × restDim] row-major. */
  readonly rest: Float32Array;
}

export interface SplitTower {
  /** e.g. 'onnxruntime-node 1.30.0 (cpu, 2 threads)', 'plain JS'. */
  readonly name: string;
  /** Number of item columns Di (gathered and rest). */
  readonly itemDim: number;
  /** Width of ItemColumns.rest. */
  readonly restDim: number;
  /** Number of user columns Du. */
  readonly userDim: number;
  /**
   * Whether it reads the gathered features' tables itself from their file (GatheredFeature
   * `external`): ItemColumns.gathered's tables are then ignored and may be empty.
   */
  readonly mapsTables: boolean;
  /** Tower logits Float32Array [B] for the user's columns x_user Float32Array [Du] and B candidates. */
  forward(xUser: Float32Array, items: ItemColumns, batchSize: number): Promise<Float32Array>;
  dispose(): void;
}

export const SPLIT_TOWER_KINDS = ['auto', 'onnx', 'js'] as const;
export type SplitTowerKind = (typeof SPLIT_TOWER_KINDS)[number];

export interface SplitTowerOptions {
  /** Rows of W0 (tower input columns) that X_item holds, in X_item's column order (gathered first). */
  readonly itemRows: Int32Array;
  /** Single-id embedding features the tower looks up itself; their columns lead itemRows. @default [] */
  readonly gathered?: readonly GatheredFeature[];
  /** The folder of the gathered features' `external` table file (mapped tables). */
  readonly externalDataFolder?: string;
  /** Rows of W0 that x_user holds, in its order (the other columns). */
  readonly userRows: Int32Array;
  /** ORT intra-op threads. @default availableCpus() (onnx-runtime.ts: the cgroup quota, else the CPUs) */
  readonly intraOpNumThreads?: number;
  /**
   * Serve the opt-in int8 tower (model/tower/int8.ts) instead of the float32 weights: ONNX
   * Runtime's quantized kernels; the plain-JS fallback runs the dequantized weights.
   */
  readonly int8?: Int8TowerWeights;
  /** How the int8 GEMMs are expressed in the ONNX graph. @default 'fused' (com.microsoft.DynamicQuantizeMatMul) */
  readonly int8Ops?: Int8Ops;
  /** Let idle ORT threads spin (lower latency, burns CPU between requests). @default the host's setting (configureOnnxRuntime) */
  readonly allowSpinning?: boolean;
}
