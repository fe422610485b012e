/**
 * The tower forward pass for scoring, with the first layer split between the user context
 * (applied once per request) and the items:
 *   h1 = ReLU(X_item · W0_item + u),  u = x_user · W0_user + b0  [H0] computed once per call,
 *   then the usual layers. X_item is the candidates' single-id embeddings, looked up by the
 *   tower itself (ItemColumns.gathered), followed by their other columns (ItemColumns.rest).
 * Two implementations share this interface and one contract test: ONNX Runtime (native, fast)
 * and plain JS (works anywhere, e.g. where onnxruntime-node's binary does not load).
 */
import { type GatheredFeature, selectRows, type TowerWeights } from '../model/tower/onnx-export.ts';
import { towerLayers } from '../model/tower/state.ts';

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
  /** Rows of W0 that x_user holds, in its order (the other columns). */
  readonly userRows: Int32Array;
  /** ORT intra-op threads. @default os.availableParallelism() */
  readonly intraOpNumThreads?: number;
  /** Let idle ORT threads spin (lower latency, burns CPU between requests). @default true */
  readonly allowSpinning?: boolean;
}

/**
 * out [B × O] = act(x [B × I] · w [I × O] + bias), with `bias` [O] or, for the split first layer,
 * u [O]. Rows go four at a time so each W row read from memory feeds four outputs.
 */
export function denseForward(
  x: Float32Array,
  B: number,
  I: number,
  w: Float32Array,
  O: number,
  bias: Float32Array,
  relu: boolean,
): Float32Array {
  const out = new Float32Array(B * O);
  let i = 0;
  for (; i + 4 <= B; i += 4) {
    const o0 = i * O;
    const o1 = o0 + O;
    const o2 = o1 + O;
    const o3 = o2 + O;
    out.set(bias, o0);
    out.set(bias, o1);
    out.set(bias, o2);
    out.set(bias, o3);
    for (let k = 0; k < I; k++) {
      const a0 = x[i * I + k]!;
      const a1 = x[(i + 1) * I + k]!;
      const a2 = x[(i + 2) * I + k]!;
      const a3 = x[(i + 3) * I + k]!;
      if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
      const wo = k * O;
      for (let j = 0; j < O; j++) {
        const wj = w[wo + j]!;
        out[o0 + j] = out[o0 + j]! + a0 * wj;
        out[o1 + j] = out[o1 + j]! + a1 * wj;
        out[o2 + j] = out[o2 + j]! + a2 * wj;
        out[o3 + j] = out[o3 + j]! + a3 * wj;
      }
    }
  }
  for (; i < B; i++) {
    const o0 = i * O;
    out.set(bias, o0);
    for (let k = 0; k < I; k++) {
      const a0 = x[i * I + k]!;
      if (a0 === 0) continue;
      const wo = k * O;
      for (let j = 0; j < O; j++) out[o0 + j] = out[o0 + j]! + a0 * w[wo + j]!;
    }
  }
  if (relu) for (let j = 0; j < out.length; j++) if (!(out[j]! > 0)) out[j] = 0;
  return out;
}

/** X [B × Di] = the gathered rows, then the rest columns (what the ONNX graph concatenates). */
export function assembleItemRows(items: ItemColumns, dims: readonly number[], restDim: number, B: number): Float32Array {
  const Di = dims.reduce((s, d) => s + d, 0) + restDim;
  const x = new Float32Array(B * Di);
  let c = 0;
  // Plain loops: a subarray per row would allocate B objects per feature.
  items.gathered.forEach(({ table, ids }, g) => {
    const dim = dims[g]!;
    for (let i = 0; i < B; i++) {
      const ro = ids[i]! * dim;
      const xo = i * Di + c;
      for (let j = 0; j < dim; j++) x[xo + j] = table[ro + j]!;
    }
    c += dim;
  });
  const rest = items.rest;
  for (let i = 0; i < B; i++) for (let j = 0; j < restDim; j++) x[i * Di + c + j] = rest[i * restDim + j]!;
  return x;
}

/** The plain-JS split tower. */
export class JsSplitTower implements SplitTower {
  readonly name = 'plain JS';
  readonly itemDim: number;
  readonly restDim: number;
  readonly userDim: number;
  readonly #gatheredDims: number[];
  readonly #w0: Float32Array;
  readonly #w0User: Float32Array;
  readonly #b0: Float32Array;
  readonly #layers: { w: Float32Array; b: Float32Array; inDim: number; outDim: number; relu: boolean }[];
  readonly #h0: number;

  constructor(weights: TowerWeights, options: Pick<SplitTowerOptions, 'itemRows' | 'userRows' | 'gathered'>) {
    const layers = towerLayers(weights.shape);
    this.#h0 = layers[0]!.outDim;
    this.itemDim = options.itemRows.length;
    this.#gatheredDims = (options.gathered ?? []).map((g) => g.dim);
    this.restDim = this.itemDim - this.#gatheredDims.reduce((s, d) => s + d, 0);
    this.userDim = options.userRows.length;
    this.#w0 = selectRows(weights.tensors['W0']!, this.#h0, options.itemRows);
    this.#w0User = selectRows(weights.tensors['W0']!, this.#h0, options.userRows);
    this.#b0 = weights.tensors['b0']!;
    this.#layers = layers.slice(1).map((l) => ({
      w: weights.tensors[`W${l.index}`]!,
      b: weights.tensors[`b${l.index}`]!,
      inDim: l.inDim,
      outDim: l.outDim,
      relu: l.relu,
    }));
  }

  async forward(xUser: Float32Array, items: ItemColumns, batchSize: number): Promise<Float32Array> {
    const B = batchSize;
    const xItem = assembleItemRows(items, this.#gatheredDims, this.restDim, B);
    const u = denseForward(xUser, 1, this.userDim, this.#w0User, this.#h0, this.#b0, false);
    let h = denseForward(xItem, B, this.itemDim, this.#w0, this.#h0, u, true);
    for (const l of this.#layers) h = denseForward(h, B, l.inDim, l.w, l.outDim, l.b, l.relu);
    return h;
  }

  dispose(): void {}
}

/**
 * A split tower of `kind`; 'auto' is ONNX Runtime when onnxruntime-node loads, else plain JS.
 * onnxruntime-node is imported lazily, so a missing or broken native binary costs nothing but
 * the fallback.
 */
export async function createSplitTower(
  kind: SplitTowerKind,
  weights: TowerWeights,
  options: SplitTowerOptions,
  log?: (message: string) => void,
): Promise<SplitTower> {
  if (kind === 'js') return new JsSplitTower(weights, options);
  try {
    const { OnnxSplitTower } = await import('./onnx-split-tower.ts');
    return await OnnxSplitTower.create(weights, options);
  } catch (e) {
    if (kind === 'onnx') throw e;
    log?.(`scoring tower: onnxruntime-node did not load (${(e as Error).message}); using plain JS`);
    return new JsSplitTower(weights, options);
  }
}
