/**
 * The opt-in int8 serving tower's weights: what ONNX Runtime's dynamic quantization
 * (`onnxruntime.quantization.quantize_dynamic(per_channel=True)`) makes of a MatMul's weight —
 * int8, symmetric (zero point 0), one scale per output channel — with activations quantized to
 * uint8 at run time by the graph itself (onnx-export.ts). Done here in TS because that quantizer
 * is Python-only (onnxruntime's `quantization` package is not in onnxruntime-node or any npm
 * package), and this file is all it needs: a max-abs per column and a rounding.
 *
 * Only the hidden layers' GEMMs are quantized; the last layer (hidden → 1 logit, 256
 * multiply-adds per candidate at the paper shape) stays float32: quantizing it would save
 * nothing measurable and add its rounding straight onto the logit.
 */
import type { TowerShape } from './tower.ts';
import { towerLayers } from './state.ts';
import type { TowerWeights } from './weights.ts';

/** Symmetric int8 range used for weights: ±127 (−128 is left out so the range is symmetric, as ORT does). */
export const INT8_WEIGHT_MAX = 127;

/** One quantized weight matrix: W ≈ q · scale[col], row-major [in × out]. */
export interface Int8Matrix {
  readonly q: Int8Array;
  /** Float32Array [out]: one scale per output channel (column). */
  readonly scale: Float32Array;
}

export interface Int8TowerWeights {
  readonly shape: TowerShape;
  /** `W{k}` of the quantized layers. */
  readonly quantized: Readonly<Record<string, Int8Matrix>>;
  /** `b{k}` of every layer, and `W{k}` of the layers kept in float32 (the last). */
  readonly tensors: Readonly<Record<string, Float32Array>>;
}

/** Whether layer `index` of a tower with these hidden units is quantized (all but the logit layer). */
export function isQuantizedLayer(shape: TowerShape, index: number): boolean {
  return index < shape.hiddenUnits.length;
}

/** Per-output-channel symmetric int8 of a row-major [rows × cols] matrix. */
export function quantizeMatrix(w: Float32Array, rows: number, cols: number): Int8Matrix {
  const scale = new Float32Array(cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) {
      const a = Math.abs(w[o + j]!);
      if (a > scale[j]!) scale[j] = a;
    }
  }
  // An all-zero column gets scale 1 (any scale represents it exactly; 0 would divide by zero).
  for (let j = 0; j < cols; j++) scale[j] = scale[j]! > 0 ? scale[j]! / INT8_WEIGHT_MAX : 1;
  const q = new Int8Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) q[o + j] = Math.max(-INT8_WEIGHT_MAX, Math.min(INT8_WEIGHT_MAX, Math.round(w[o + j]! / scale[j]!)));
  }
  return { q, scale };
}

/** The int8 serving weights of a float32 tower (deterministic: the same tower gives the same bytes). */
export function quantizeTower(weights: TowerWeights): Int8TowerWeights {
  const quantized: Record<string, Int8Matrix> = {};
  const tensors: Record<string, Float32Array> = {};
  for (const l of towerLayers(weights.shape)) {
    const W = weights.tensors[`W${l.index}`];
    const b = weights.tensors[`b${l.index}`];
    if (!W || !b) throw new RangeError(`tower has no W${l.index}/b${l.index}`);
    tensors[`b${l.index}`] = b;
    if (isQuantizedLayer(weights.shape, l.index)) quantized[`W${l.index}`] = quantizeMatrix(W, l.inDim, l.outDim);
    else tensors[`W${l.index}`] = W;
  }
  return { shape: weights.shape, quantized, tensors };
}

/**
 * The float32 weights the int8 tower stands for (q · scale): what the user's share of layer 0 is
 * computed with, and what the plain-JS fallback runs (which then rounds weights only, not
 * activations: close to, not equal to, ONNX Runtime's int8 kernels).
 */
export function dequantizeTower(int8: Int8TowerWeights): TowerWeights {
  const tensors: Record<string, Float32Array> = { ...int8.tensors };
  for (const [name, m] of Object.entries(int8.quantized)) tensors[name] = dequantizeMatrix(m);
  return { shape: int8.shape, tensors };
}

export function dequantizeMatrix(m: Int8Matrix): Float32Array {
  const cols = m.scale.length;
  const w = new Float32Array(m.q.length);
  for (let k = 0; k < m.q.length; k++) w[k] = m.q[k]! * m.scale[k % cols]!;
  return w;
}
