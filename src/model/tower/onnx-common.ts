/**
 * What every ONNX graph wdp builds shares: the opset and IR version, element types, value-info
 * declarations and the ModelProto wrapper. Used by the training graphs (onnx-graph.ts) and the
 * serving forward pass (onnx-export.ts), so the two always declare the same versions.
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

export const { onnx } = onnxProto;

/** ONNX opset: 17 has Shape(start,end) and ReduceSum with axes as an input (13+). */
export const TOWER_ONNX_OPSET = 17;
/** IR version 8 is the newest onnx-proto 8 (ONNX 1.10) can express; ORT 1.30 reads it. */
export const ONNX_IR_VERSION = 8;

export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;
export const INT32 = onnx.TensorProto.DataType.INT32;
export const INT8 = onnx.TensorProto.DataType.INT8;
/** ONNX Runtime's contrib-op domain (DynamicQuantizeMatMul and the other quantized kernels). */
export const MS_DOMAIN = 'com.microsoft';

/** A graph input or output: name, element type and dims (numbers fixed, strings symbolic, e.g. 'B'). */
export function valueInfo(name: string, dims: readonly (number | string)[], elemType: number = FLOAT): Onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

/**
 * The serialized ModelProto of `graph`, at wdp's opset and IR version; `contribOps` also imports
 * ONNX Runtime's com.microsoft domain (version 1).
 */
export function encodeModel(graph: Onnx.IGraphProto, options: { contribOps?: boolean } = {}): Uint8Array {
  const proto = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    producerName: 'wdp',
    opsetImport: [{ domain: '', version: TOWER_ONNX_OPSET }, ...(options.contribOps ? [{ domain: MS_DOMAIN, version: 1 }] : [])],
    graph,
  });
  return onnx.ModelProto.encode(proto).finish();
}
