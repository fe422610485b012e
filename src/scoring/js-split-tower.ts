/**
 * The split tower in plain JS (see split-tower.ts for the split): no native code, so it works
 * wherever onnxruntime-node does not load, and it is the fallback of createSplitTower.
 */
import { towerLayers } from '../model/tower/state.ts';
import { selectRows, type TowerWeights } from '../model/tower/weights.ts';
import type { ItemColumns, SplitTower, SplitTowerOptions } from './split-tower.ts';

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
  // NaN passes through, as ONNX Runtime's Relu lets it: zeroing it would hide a NaN weight behind
  // a plausible score, where ServingModel refuses a non-finite one.
  if (relu) for (let j = 0; j < out.length; j++) if (out[j]! < 0) out[j] = 0;
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
  /** Plain JS reads every table from memory (ServingModel reads a mapped one in first). */
  readonly mapsTables = false;
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
