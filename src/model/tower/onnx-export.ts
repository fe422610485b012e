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
 * int8 (SplitOptions.int8, the opt-in quantized serving tower, int8.ts): the hidden layers'
 * GEMMs run as ONNX Runtime's dynamic quantization writes them — activations quantized to uint8
 * per run (one scale and zero point per tensor), weights int8 with one scale per output channel —
 * either as the fused contrib op com.microsoft.DynamicQuantizeMatMul (`int8Ops: 'fused'`, one
 * node per layer, bias fused) or as the standard-ops pattern DynamicQuantizeLinear →
 * MatMulInteger → Cast → Mul(scales) → Add(bias) (`'standard'`, which ORT's optimizer fuses
 * back into a MatMulIntegerToFloat at level 'all'). The user's share u of layer 0 stays a float
 * GEMV with the dequantized weights (one row per request: nothing to gain).
 *
 * Initializers are stored as raw little-endian bytes (`rawData`), which is what ORT reads
 * fastest and keeps serialisation of ~1M-float layers to a memcpy.
 */
import type { onnx as Onnx } from 'onnx-proto';
import { encodeModel, FLOAT, INT32, INT64, INT8, MS_DOMAIN, onnx, valueInfo } from './onnx-common.ts';
import { dequantizeMatrix, type Int8Matrix, type Int8TowerWeights } from './int8.ts';
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
  /** Build the int8 tower from these quantized weights (split model only; `weights` then only gives the shape). */
  readonly int8?: Int8TowerWeights;
  /** How int8 GEMMs are expressed (see the file comment). @default 'fused' */
  readonly int8Ops?: Int8Ops;
}

/**
 * A float32 initializer whose data stays in a file (ONNX external data), which ONNX Runtime maps
 * into memory rather than copying when the session is built.
 */
function externalInit(name: string, dims: number[], at: NonNullable<GatheredFeature['external']>): Onnx.ITensorProto {
  if (at.length !== dims.reduce((a, b) => a * b, 1) * 4) throw new RangeError(`${name}: ${at.length} bytes do not hold [${dims}] float32`);
  return {
    name,
    dataType: FLOAT,
    dims,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: at.location },
      { key: 'offset', value: String(at.offset) },
      { key: 'length', value: String(at.length) },
    ],
  };
}

export const INT8_OPS = ['fused', 'standard'] as const;
export type Int8Ops = (typeof INT8_OPS)[number];

/** Rows `rows` of a quantized [in × out] matrix (scales are per column, so they carry over). */
function selectInt8Rows(m: Int8Matrix, rows: ArrayLike<number>): Int8Matrix {
  const out = m.scale.length;
  const q = new Int8Array(rows.length * out);
  for (let i = 0; i < rows.length; i++) q.set(m.q.subarray(rows[i]! * out, (rows[i]! + 1) * out), i * out);
  return { q, scale: m.scale };
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
  const int8 = options.int8;
  if (int8 && !split) throw new RangeError('the int8 tower is built for a user/item split only');
  const int8Ops = options.int8Ops ?? 'fused';
  // Quantized GEMM of `x` by layer `name`'s int8 weights (+ optional bias initializer name).
  const qGemm = (x: string, name: string, m: Int8Matrix, bias?: string): string => {
    const outDim = m.scale.length;
    inits.push(
      {
        name: `${name}_q`,
        dataType: INT8,
        dims: [m.q.length / outDim, outDim],
        rawData: new Uint8Array(m.q.buffer, m.q.byteOffset, m.q.byteLength),
      },
      floatInit(`${name}_scale`, [outDim], m.scale),
    );
    if (int8Ops === 'fused') {
      const out = `dqmm_${n++}`;
      nodes.push({
        opType: 'DynamicQuantizeMatMul',
        domain: MS_DOMAIN,
        input: [x, `${name}_q`, `${name}_scale`, '', bias ?? ''],
        output: [out],
        name: out,
      });
      return out;
    }
    const xq = `${name}_xq`;
    nodes.push({ opType: 'DynamicQuantizeLinear', input: [x], output: [xq, `${name}_xs`, `${name}_xzp`], name: xq });
    const acc = op('MatMulInteger', [xq, `${name}_q`, `${name}_xzp`]);
    const f = op('Cast', [acc]);
    nodes.at(-1)!.attribute = [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }];
    const y = op('Mul', [op('Mul', [f, `${name}_xs`]), `${name}_scale`]);
    return bias ? op('Add', [y, bias]) : y;
  };
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
      inputs.push(valueInfo(`I${k}`, ['B'], INT32));
      if (g.external) inits.push(externalInit(`E${k}`, [g.vocab, g.dim], g.external));
      else inputs.push(valueInfo(`E${k}`, [`V${k}`, g.dim]));
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
    const src = int8 ? int8.tensors : weights.tensors;
    const Wq = int8?.quantized[`W${l.index}`];
    const W = src[`W${l.index}`]!;
    const b = src[`b${l.index}`]!;
    let z: string;
    if (Wq && l.index === 0) {
      inits.push(floatInit('b0', [l.outDim], b));
      let u = 'b0';
      if (userDim > 0) {
        inits.push(floatInit('W0_user', [userDim, l.outDim], dequantizeMatrix(selectInt8Rows(Wq, options.userRows!))));
        u = op('Add', [op('MatMul', ['Xu', 'W0_user']), 'b0']);
      }
      z = op('Add', [qGemm(h, 'W0_item', selectInt8Rows(Wq, options.itemRows!)), u]);
    } else if (Wq) {
      inits.push(floatInit(`b${l.index}`, [l.outDim], b));
      z = qGemm(h, `W${l.index}`, Wq, `b${l.index}`);
    } else if (l.index === 0 && split) {
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
  const bytes = encodeModel(
    {
      name: split ? 'wdp_tower_forward_split' : 'wdp_tower_forward',
      node: nodes,
      initializer: inits,
      input: inputs,
      output: [valueInfo('logits', ['B'])],
    },
    { contribOps: int8 !== undefined && int8Ops === 'fused' },
  );
  return { bytes, inputs: inputs.map((v) => v.name!), xDim, restDim, userDim };
}
