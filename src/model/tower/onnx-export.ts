/**
 * The tower's forward pass as a self-contained ONNX model (weights baked in as initializers),
 * for serving: built in memory by the scorer for each user/item split, from the weights it has
 * read and checked (serving.safetensors). It is not stored with the model: a stored copy would
 * be a second, unchecked source of the same weights (format-1 folders hold one, `tower.onnx`).
 *
 * Full model:   X [B, D] → Gemm(W0,b0) → ReLU → … → Gemm(W_L,b_L) → logits [B].
 * Split model:  the first layer's input is cut in two, because every candidate of a request
 *   shares the user context: the graph takes the item columns of X (rows `itemRows` of W0) and
 *   Xu [1, Du] (the user's columns, the other rows of W0), computes the user's share
 *   u = Xu·W0_user + b0 [1, H0] once, and then ReLU(X_item·W0_item + u) → … → logits [B].
 *   Without user columns there is no Xu and u = b0.
 *   X_item is assembled inside the graph: the first `gathered` item features are single-id
 *   embeddings, looked up by Gather from their table E{g} [V, dim] with ids I{g} int32 [B]
 *   (tables are fed as inputs, which ORT reads in place, so the graph stays small and builds
 *   fast); the other item columns come in Xr [B, Dr] (pooled lists, numerics), concatenated
 *   after them. This keeps the per-request copy in JS to a few ints per candidate.
 *
 * Initializers are stored as raw little-endian bytes (`rawData`), which is what ORT reads
 * fastest and keeps serialisation of ~1M-float layers to a memcpy.
 */
import type { onnx as Onnx } from 'onnx-proto';
import { encodeModel, FLOAT, INT32, INT64, onnx, valueInfo } from './onnx-common.ts';
import { towerLayers } from './state.ts';
import { type GatheredFeature, selectRows, type TowerWeights } from './weights.ts';

export interface TowerForwardOnnx {
  /** Serialized ModelProto. */
  readonly bytes: Uint8Array;
  /**
   * Input names: ['X'] for the full model; for a split one I{g} and E{g} per gathered feature,
   * then 'Xr' when there are other item columns and 'Xu' when there are user columns.
   */
  readonly inputs: readonly string[];
  /** Width of X: inputDim (full) or the item column count (split), gathered columns included. */
  readonly xDim: number;
  /** Width of Xr (split model; 0 when every item column is gathered). */
  readonly restDim: number;
  /** Width of Xu (0 when there is none). */
  readonly userDim: number;
}

function raw(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function floatInit(name: string, dims: number[], data: Float32Array): Onnx.ITensorProto {
  return { name, dataType: FLOAT, dims, rawData: raw(data) };
}

export interface SplitOptions {
  /** Rows of W0 that the item columns are, in their order: gathered features' columns first. */
  readonly itemRows?: ArrayLike<number>;
  /** Rows of W0 that Xu holds, in its order. */
  readonly userRows?: ArrayLike<number>;
  /** Item features gathered in the graph, in order; their columns lead `itemRows`. @default [] */
  readonly gathered?: readonly GatheredFeature[];
}

/**
 * Builds the forward model. With `itemRows` (and `userRows`, the other input columns), builds
 * the split model (see the file comment). Needs at least one item column.
 * @example
 *   const { bytes } = buildTowerForwardOnnx(state);                       // the whole tower
 *   const split = buildTowerForwardOnnx(state, {
 *     itemRows: [600, …, 1199], userRows: [0, …, 599], gathered: [{ vocab: 50_000, dim: 32 }, …],
 *   });
 */
export function buildTowerForwardOnnx(weights: TowerWeights, options: SplitOptions = {}): TowerForwardOnnx {
  const layers = towerLayers(weights.shape);
  const nodes: Onnx.INodeProto[] = [];
  const inits: Onnx.ITensorProto[] = [];
  let n = 0;
  const op = (opType: string, input: string[], output?: string): string => {
    const out = output ?? `${opType.toLowerCase()}_${n++}`;
    nodes.push({ opType, input, output: [out], name: out });
    return out;
  };
  const split = options.itemRows !== undefined;
  const xDim = split ? options.itemRows!.length : weights.shape.inputDim;
  const userDim = split ? (options.userRows?.length ?? 0) : 0;
  const gathered = split ? (options.gathered ?? []) : [];
  const gatheredDim = gathered.reduce((s, g) => s + g.dim, 0);
  const restDim = split ? xDim - gatheredDim : 0;
  if (restDim < 0) throw new RangeError(`gathered features need ${gatheredDim} item columns, itemRows has ${xDim}`);
  const inputs: Onnx.IValueInfoProto[] = [];
  let h: string;
  if (!split) {
    inputs.push(valueInfo('X', ['B', xDim]));
    h = 'X';
  } else {
    const parts = gathered.map((g, k) => {
      inputs.push(valueInfo(`I${k}`, ['B'], INT32), valueInfo(`E${k}`, [`V${k}`, g.dim]));
      return op('Gather', [`E${k}`, `I${k}`]);
    });
    if (restDim > 0) {
      inputs.push(valueInfo('Xr', ['B', restDim]));
      parts.push('Xr');
    }
    h = parts.length === 1 ? parts[0]! : op('Concat', parts);
    if (parts.length > 1) nodes.at(-1)!.attribute = [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }];
  }
  for (const l of layers) {
    const W = weights.tensors[`W${l.index}`]!;
    const b = weights.tensors[`b${l.index}`]!;
    let z: string;
    if (l.index === 0 && split) {
      inits.push(floatInit('W0_item', [xDim, l.outDim], selectRows(W, l.outDim, options.itemRows!)), floatInit('b0', [l.outDim], b));
      let u = 'b0';
      if (userDim > 0) {
        inits.push(floatInit('W0_user', [userDim, l.outDim], selectRows(W, l.outDim, options.userRows!)));
        u = op('Add', [op('MatMul', ['Xu', 'W0_user']), 'b0']);
      }
      z = op('Add', [op('MatMul', [h, 'W0_item']), u]);
    } else {
      inits.push(floatInit(`W${l.index}`, [l.inDim, l.outDim], W), floatInit(`b${l.index}`, [l.outDim], b));
      z = op('Gemm', [h, `W${l.index}`, `b${l.index}`]);
    }
    h = l.relu ? op('Relu', [z]) : z;
  }
  inits.push({ name: 'shape_flat', dataType: INT64, dims: [1], int64Data: [-1] });
  op('Reshape', [h, 'shape_flat'], 'logits');
  if (userDim > 0) inputs.push(valueInfo('Xu', [1, userDim]));
  const bytes = encodeModel({
    name: split ? 'wdp_tower_forward_split' : 'wdp_tower_forward',
    node: nodes,
    initializer: inits,
    input: inputs,
    output: [valueInfo('logits', ['B'])],
  });
  return { bytes, inputs: inputs.map((v) => v.name!), xDim, restDim, userDim };
}
