/**
 * The dense ReLU tower of the deep part, behind one small interface so it can run on
 * TensorFlow.js (tfjs-node-gpu / tfjs-node / WASM / CPU) or on ONNX Runtime. Both
 * implementations pass one shared contract test suite (test/model/tower/contract.ts).
 *
 * Layout: layer k has `W{k}` Float32Array [in × out] row-major and `b{k}` Float32Array [out];
 * the last layer has out = 1 (the deep logit). AdaGrad accumulators mirror the weights with
 * the same names prefixed `acc_`.
 */

export interface TowerShape {
  readonly inputDim: number;
  /** Hidden layer widths, e.g. [1024, 512, 256]; a final 1-unit logit layer is implied. */
  readonly hiddenUnits: readonly number[];
}

export interface TowerAdagrad {
  readonly learningRate: number;
  readonly initialAccumulator: number;
  readonly epsilon: number;
}

/** Named tensors: weights `W0,b0,…`, accumulators `acc_W0,acc_b0,…`. */
export interface TowerState {
  readonly shape: TowerShape;
  readonly tensors: Readonly<Record<string, Float32Array>>;
}

export interface TowerStepInput {
  /** Float32Array [B × inputDim] row-major. */
  readonly x: Float32Array;
  /** Float32Array [B]: logit added to the tower's (wide logit + bias), so the loss is joint. */
  readonly offset: Float32Array;
  /** Float32Array [B] of 0/1 labels. */
  readonly labels: Float32Array;
  readonly batchSize: number;
}

export interface TowerStepResult {
  /** Float32Array [B]: the tower's own logit (before the offset), from the forward pass. */
  readonly logits: Float32Array;
  /**
   * Float32Array [B × inputDim]: d(mean loss)/dX, for the embedding update.
   * The mean is over the batch: loss = mean_i logloss(sigmoid(offset_i + logit_i), y_i).
   * A backend may reuse this buffer: it is valid until the next trainStep.
   */
  readonly dx: Float32Array;
}

export interface TowerBackend {
  /** e.g. 'onnxruntime-node 1.30 (cpu, 2 threads)', 'tfjs 4.22 (wasm)'. */
  readonly name: string;
  readonly shape: TowerShape;
  /** Tower logits, Float32Array [B], for X [B × inputDim]. */
  forward(x: Float32Array, batchSize: number): Promise<Float32Array>;
  /**
   * One training step on the joint loss: forward, logistic-loss gradient against
   * sigmoid(offset + logit), backward, and the AdaGrad update of every tower weight.
   */
  trainStep(input: TowerStepInput): Promise<TowerStepResult>;
  getState(): TowerState;
  setState(state: TowerState): void;
  dispose(): void;
}

export interface TowerOptions {
  readonly shape: TowerShape;
  readonly adagrad: TowerAdagrad;
  /** Seed for the initial weights (Glorot-uniform weights, zero biases). */
  readonly seed: number;
  /** Start from these weights instead (warm start / load). */
  readonly state?: TowerState;
}
