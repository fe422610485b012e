/**
 * Builds the tower as ONNX models (with onnx-proto), so ONNX Runtime runs a whole training
 * step — forward, joint-loss gradient, backward and AdaGrad — in ONE session.run: one
 * crossing of the JS/native boundary per batch instead of one per op.
 *
 * Training-step model (opset 17), B is a dynamic dimension:
 *   inputs  X [B, D], offset [B], labels [B], with dropout mask0 [B, h0], mask1 …, then for every parameter p of W0,b0,W1,b1,…:
 *           p, and then acc_p for each (in the same order)
 *   outputs logits [B], dx [B, D], then next_p for every parameter, then next_acc_p
 * The learning rate and epsilon are baked in as initializers: they are fixed per model, and
 * constants let ORT skip feeding two more tensors per run.
 *
 * Forward-only model: inputs X [B, D] and the parameters; output logits [B].
 */
import type { onnx as Onnx } from 'onnx-proto';
import { encodeModel, FLOAT, INT64, onnx, valueInfo } from './onnx-common.ts';
import { paramNames, towerLayers } from './state.ts';
import type { TowerAdagrad, TowerShape } from './tower.ts';

/** Names of the model inputs and outputs, in declaration order. */
export interface TowerGraphIo {
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

export interface TowerModel {
  /** Serialized ModelProto, ready for InferenceSession.create. */
  readonly bytes: Uint8Array;
  readonly io: TowerGraphIo;
}

/** The output name carrying the updated value of state tensor `name` (e.g. next_W0, next_acc_W0). */
export function nextName(name: string): string {
  return `next_${name}`;
}

type Attr = number | readonly number[];

/** A tiny builder: nodes get unique output names; constants become initializers. */
class GraphBuilder {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly initializers: Onnx.ITensorProto[] = [];
  #next = 0;

  op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, output?: string): string {
    const out = output ?? `${opType.toLowerCase()}_${this.#next++}`;
    const attribute: Onnx.IAttributeProto[] = Object.entries(attrs).map(([name, v]) =>
      typeof v === 'number'
        ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v }
        : { name, type: onnx.AttributeProto.AttributeType.INTS, ints: [...v] },
    );
    this.nodes.push({ opType, input: [...inputs], output: [out], name: out, attribute });
    return out;
  }

  floatScalar(name: string, value: number): string {
    this.initializers.push({ name, dataType: FLOAT, dims: [], floatData: [value] });
    return name;
  }

  int64s(name: string, values: readonly number[]): string {
    this.initializers.push({ name, dataType: INT64, dims: [values.length], int64Data: [...values] });
    return name;
  }
}

function paramDims(shape: TowerShape): Map<string, number[]> {
  const dims = new Map<string, number[]>();
  for (const l of towerLayers(shape)) {
    dims.set(`W${l.index}`, [l.inDim, l.outDim]);
    dims.set(`b${l.index}`, [l.outDim]);
  }
  return dims;
}

/** The graph input carrying hidden layer k's dropout mask [B, hiddenUnits[k]]. */
export function maskName(k: number): string {
  return `mask${k}`;
}

/**
 * Forward pass into `g`; returns the activations [X, h_1, …, h_L] and the [B, 1] logit column.
 * With `dropout`, h_{k+1} = relu(z_k) ⊙ mask_k (masks are inputs: 0 or 1/(1−p)).
 */
function buildForward(g: GraphBuilder, shape: TowerShape, dropout = false): { hs: string[]; logitColumn: string } {
  const hs = ['X'];
  let logitColumn = '';
  for (const l of towerLayers(shape)) {
    const z = g.op('Gemm', [hs[l.index]!, `W${l.index}`, `b${l.index}`]);
    if (l.relu) hs.push(dropout ? g.op('Mul', [g.op('Relu', [z]), maskName(l.index)]) : g.op('Relu', [z]));
    else logitColumn = z;
  }
  return { hs, logitColumn };
}

function model(g: GraphBuilder, name: string, inputs: Onnx.IValueInfoProto[], outputs: Onnx.IValueInfoProto[]): Uint8Array {
  return encodeModel({ name, node: g.nodes, initializer: g.initializers, input: inputs, output: outputs });
}

/** Forward-only model: X [B, D] + parameters → logits [B]. */
export function buildTowerForwardModel(shape: TowerShape): TowerModel {
  const g = new GraphBuilder();
  const { logitColumn } = buildForward(g, shape);
  g.op('Reshape', [logitColumn, g.int64s('shape_flat', [-1])], {}, 'logits');
  const dims = paramDims(shape);
  const params = paramNames(shape);
  const inputs = [valueInfo('X', ['B', shape.inputDim]), ...params.map((p) => valueInfo(p, dims.get(p)!))];
  const outputs = [valueInfo('logits', ['B'])];
  return {
    bytes: model(g, 'wdp_tower_forward', inputs, outputs),
    io: { inputs: inputs.map((v) => v.name!), outputs: outputs.map((v) => v.name!) },
  };
}

/** Regularisation baked into the training graph (absent or 0 = the plain graph). */
export interface TowerRegularisation {
  /** Dropout rate; > 0 adds the mask inputs mask0, mask1, … after `labels`. */
  readonly dropout?: number;
  /** L2 on the weight matrices: grad_W += l2 · W. */
  readonly l2?: number;
}

/** One whole training step as a model; see the file comment for inputs and outputs. */
export function buildTowerTrainModel(shape: TowerShape, adagrad: TowerAdagrad, reg: TowerRegularisation = {}): TowerModel {
  const g = new GraphBuilder();
  const layers = towerLayers(shape);
  const dropout = (reg.dropout ?? 0) > 0;
  const l2 = reg.l2 ?? 0;
  const { hs, logitColumn } = buildForward(g, shape, dropout);
  const logits = g.op('Reshape', [logitColumn, g.int64s('shape_flat', [-1])], {}, 'logits');

  // g = (sigmoid(offset + logit) − y) / B, with B read from X at run time.
  const p = g.op('Sigmoid', [g.op('Add', [logits, 'offset'])]);
  const batch = g.op('Cast', [g.op('Shape', ['X'], { start: 0, end: 1 })], { to: FLOAT });
  const gradLogit = g.op('Div', [g.op('Sub', [p, 'labels']), batch]);
  let dz = g.op('Reshape', [gradLogit, g.int64s('shape_col', [-1, 1])]);

  const zero = g.floatScalar('zero', 0);
  const axis0 = g.int64s('axis0', [0]);
  const grads = new Map<string, string>();
  for (let k = layers.length - 1; k >= 0; k--) {
    const h = hs[k]!;
    // Gemm's transA/transB let MLAS read the transposes in place; no Transpose nodes.
    const dW = g.op('Gemm', [h, dz], { transA: 1 });
    grads.set(`W${k}`, l2 > 0 ? g.op('Add', [dW, g.op('Mul', [`W${k}`, g.floatScalar(`l2_${k}`, l2)])]) : dW);
    grads.set(`b${k}`, g.op('ReduceSum', [dz, axis0], { keepdims: 0 }));
    if (k === 0) {
      g.op('Gemm', [dz, `W${k}`], { transB: 1 }, 'dx');
    } else {
      const dh = g.op('Gemm', [dz, `W${k}`], { transB: 1 });
      // ReLU gradient: h_k = relu(z_{k−1}) is > 0 exactly where z_{k−1} > 0. With dropout
      // h_k = relu(z_{k−1}) ⊙ m: its gradient is m where h_k > 0 (a dropped unit has h_k = 0).
      dz = g.op('Where', [g.op('Greater', [h, zero]), dropout ? g.op('Mul', [dh, maskName(k - 1)]) : dh, zero]);
    }
  }

  // AdaGrad, every gradient taken at the old weights: acc' = acc + g²; w' = w − lr·g / (√acc' + ε).
  const lr = g.floatScalar('learning_rate', adagrad.learningRate);
  const eps = g.floatScalar('epsilon', adagrad.epsilon);
  const params = paramNames(shape);
  for (const name of params) {
    const grad = grads.get(name)!;
    const acc = g.op('Add', [`acc_${name}`, g.op('Mul', [grad, grad])], {}, nextName(`acc_${name}`));
    const step = g.op('Div', [g.op('Mul', [grad, lr]), g.op('Add', [g.op('Sqrt', [acc]), eps])]);
    g.op('Sub', [name, step], {}, nextName(name));
  }

  const dims = paramDims(shape);
  const stateNames = [...params, ...params.map((p) => `acc_${p}`)];
  const stateDims = (n: string): number[] => dims.get(n.replace(/^acc_/, ''))!;
  const inputs = [
    valueInfo('X', ['B', shape.inputDim]),
    valueInfo('offset', ['B']),
    valueInfo('labels', ['B']),
    ...(dropout ? shape.hiddenUnits.map((u, k) => valueInfo(maskName(k), ['B', u])) : []),
    ...stateNames.map((n) => valueInfo(n, stateDims(n))),
  ];
  const outputs = [
    valueInfo('logits', ['B']),
    valueInfo('dx', ['B', shape.inputDim]),
    ...stateNames.map((n) => valueInfo(nextName(n), stateDims(n))),
  ];
  return {
    bytes: model(g, 'wdp_tower_train_step', inputs, outputs),
    io: { inputs: inputs.map((v) => v.name!), outputs: outputs.map((v) => v.name!) },
  };
}
