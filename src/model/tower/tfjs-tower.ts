/**
 * The tower on TensorFlow.js: weights are tf.Variables on whatever backend tfjs-backend.ts
 * activated (tfjs-node-gpu on a GPU box; WASM or CPU elsewhere). Forward and backward are
 * written out by hand — no tf.grad tape — so one step is exactly the ops of reference.ts, and
 * every intermediate lives inside a tf.tidy (nothing leaks across steps).
 *
 * tfjs keeps one global backend; every TfjsTower in a process shares it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadTfjsBackend } from './tfjs-backend.ts';
import type { TfjsBackendInfo, TfjsBackendKind } from './tfjs-backend.ts';
import { checkForwardInput, checkStepInput, checkTowerState, initialTowerState, paramNames, towerLayers } from './state.ts';
import type { TowerLayer } from './state.ts';
import type { TowerAdagrad, TowerBackend, TowerOptions, TowerShape, TowerState, TowerStepInput, TowerStepResult } from './tower.ts';

export interface TfjsTowerOptions extends TowerOptions {
  /** tfjs backends to try, fastest first. @default ['node-gpu', 'node', 'wasm', 'cpu'] */
  readonly backends?: readonly TfjsBackendKind[];
}

/** TowerBackend on tfjs-core. Create with `TfjsTower.create`. */
export class TfjsTower implements TowerBackend {
  readonly name: string;
  readonly shape: TowerShape;
  readonly backend: TfjsBackendInfo;
  readonly #adagrad: TowerAdagrad;
  readonly #dropout: number;
  readonly #l2: number;
  readonly #layers: TowerLayer[];
  readonly #vars = new Map<string, tf.Variable>();

  private constructor(options: TowerOptions, backend: TfjsBackendInfo) {
    this.shape = options.shape;
    this.backend = backend;
    this.name = backend.description;
    this.#adagrad = options.adagrad;
    this.#dropout = options.dropout ?? 0;
    this.#l2 = options.l2 ?? 0;
    this.#layers = towerLayers(options.shape);
    const state = initialTowerState(options);
    for (const [name, data] of Object.entries(state.tensors)) {
      this.#vars.set(name, tf.variable(tf.tensor(data, this.#dims(name)), true, undefined, 'float32'));
    }
  }

  /**
   * Loads the best tfjs backend of `options.backends` and builds the tower on it.
   * @example
   *   const tower = await TfjsTower.create({ shape, adagrad, seed: 1, backends: ['wasm'] });
   *   console.log(tower.name); // 'tfjs 4.22.0 (wasm, simd)'
   */
  static async create(options: TfjsTowerOptions): Promise<TfjsTower> {
    const backend = await loadTfjsBackend(options.backends);
    return new TfjsTower(options, backend);
  }

  async forward(x: Float32Array, batchSize: number): Promise<Float32Array> {
    checkForwardInput(this.shape, x, batchSize);
    const logits = tf.tidy(() => {
      const hs = this.#forwardOps(tf.tensor2d(x, [batchSize, this.shape.inputDim]));
      return tf.reshape(hs[hs.length - 1]!, [batchSize]);
    });
    try {
      return (await logits.data()) as Float32Array;
    } finally {
      logits.dispose();
    }
  }

  async trainStep(input: TowerStepInput): Promise<TowerStepResult> {
    checkStepInput(this.shape, input, this.#dropout);
    const B = input.batchSize;
    const [logits, dx] = tf.tidy(() => {
      const masks = input.dropoutMasks?.map((m, k) => tf.tensor2d(m, [B, this.shape.hiddenUnits[k]!]));
      const hs = this.#forwardOps(tf.tensor2d(input.x, [B, this.shape.inputDim]), masks);
      const logitCol = hs[hs.length - 1]!;
      const logit = tf.reshape(logitCol, [B]);
      // g = (sigmoid(offset + logit) − y) / B at the logit.
      const g = tf.div(tf.sub(tf.sigmoid(tf.add(logit, tf.tensor1d(input.offset))), tf.tensor1d(input.labels)), tf.scalar(B));
      let dz = tf.reshape(g, [B, 1]) as tf.Tensor2D;
      const grads = new Map<string, tf.Tensor>();
      let dxT: tf.Tensor | undefined;
      for (let k = this.#layers.length - 1; k >= 0; k--) {
        const h = hs[k]!;
        const W = this.#vars.get(`W${k}`)! as tf.Tensor2D;
        const dW = this.#matMulT(h, dz, true);
        grads.set(`W${k}`, this.#l2 > 0 ? tf.add(dW, tf.mul(W, tf.scalar(this.#l2))) : dW);
        grads.set(`b${k}`, tf.sum(dz, 0));
        const dh = this.#matMulT(dz, W, false);
        // ReLU gradient: h_k = relu(z_{k−1}) is > 0 exactly where z_{k−1} > 0; with dropout
        // (h_k = relu(z_{k−1}) ⊙ m) it is m there, and a dropped unit has h_k = 0.
        if (k > 0) dz = tf.mul(masks ? tf.mul(dh, masks[k - 1]!) : dh, tf.step(h)) as tf.Tensor2D;
        else dxT = dh;
      }
      // AdaGrad; all gradients above were taken at the old weights.
      const lr = tf.scalar(this.#adagrad.learningRate);
      const eps = tf.scalar(this.#adagrad.epsilon);
      for (const name of paramNames(this.shape)) {
        const grad = grads.get(name)!;
        const w = this.#vars.get(name)!;
        const acc = this.#vars.get(`acc_${name}`)!;
        const nextAcc = tf.add(acc, tf.square(grad));
        acc.assign(nextAcc);
        w.assign(tf.sub(w, tf.div(tf.mul(grad, lr), tf.add(tf.sqrt(nextAcc), eps))));
      }
      return [logit, tf.reshape(dxT!, [B * this.shape.inputDim])];
    });
    try {
      const [l, d] = await Promise.all([logits.data(), dx.data()]);
      return { logits: l as Float32Array, dx: d as Float32Array };
    } finally {
      logits.dispose();
      dx.dispose();
    }
  }

  getState(): TowerState {
    const tensors: Record<string, Float32Array> = {};
    // slice(): the cpu backend's dataSync hands out its own storage, which the next
    // assign would then mutate under the caller.
    for (const [name, v] of this.#vars) tensors[name] = (v.dataSync() as Float32Array).slice();
    return { shape: { inputDim: this.shape.inputDim, hiddenUnits: [...this.shape.hiddenUnits] }, tensors };
  }

  setState(state: TowerState): void {
    checkTowerState(this.shape, state);
    tf.tidy(() => {
      for (const [name, v] of this.#vars) v.assign(tf.tensor(state.tensors[name]!, this.#dims(name)));
    });
  }

  dispose(): void {
    for (const v of this.#vars.values()) v.dispose();
    this.#vars.clear();
  }

  /**
   * aᵀb (transposeA) or abᵀ. tfjs-node's kernels take the transpose flags natively, but the
   * WASM backend only hands the untransposed case to XNNPACK and runs the rest in a naive
   * loop — 20–30× slower at the paper shape (5 s vs 0.2 s for a 1200×512·512×1024 dW) — so
   * there an explicit transpose (one cheap copy) comes first. The plain CPU backend is also
   * a little faster that way.
   */
  #matMulT(a: tf.Tensor2D, b: tf.Tensor2D, transposeA: boolean): tf.Tensor2D {
    if (this.backend.backendName === 'tensorflow') return tf.matMul(a, b, transposeA, !transposeA);
    return transposeA ? tf.matMul(tf.transpose(a), b) : tf.matMul(a, tf.transpose(b));
  }

  /** [X, h_1, …, h_L, logit column [B, 1]], hidden layers times their dropout masks if given; call inside tf.tidy. */
  #forwardOps(x: tf.Tensor2D, masks?: readonly tf.Tensor2D[]): tf.Tensor2D[] {
    const hs: tf.Tensor2D[] = [x];
    for (const l of this.#layers) {
      // fused matMul + bias (+ ReLU): one kernel on the wasm and tensorflow backends.
      const h = tf.fused.matMul({
        a: hs[l.index]!,
        b: this.#vars.get(`W${l.index}`)! as tf.Tensor2D,
        bias: this.#vars.get(`b${l.index}`)!,
        activation: l.relu ? 'relu' : 'linear',
      }) as tf.Tensor2D;
      hs.push(l.relu && masks ? (tf.mul(h, masks[l.index]!) as tf.Tensor2D) : h);
    }
    return hs;
  }

  #dims(name: string): number[] {
    const l = this.#layers[Number(/\d+$/.exec(name)![0])]!;
    return /^(?:acc_)?W/.test(name) ? [l.inDim, l.outDim] : [l.outDim];
  }
}
