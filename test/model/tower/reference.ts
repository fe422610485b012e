/**
 * Plain-JS float64 reference of the tower: the executable specification of the math both
 * real backends must match, used by the tests (and small enough to read in one sitting).
 * It is slow (naive triple loops); never use it for training.
 *
 * Forward, for layers k = 0..L (layer L is the 1-unit logit layer, no ReLU):
 *   h_0 = X [B × D];  z_k = h_k W_k + b_k;  h_{k+1} = relu(z_k);  logit = z_L [B]
 * Joint loss: mean_i logloss(sigmoid(offset_i + logit_i), y_i), so at the logit
 *   g = (sigmoid(offset + logit) − y) / B
 * Backward, with dz_L = g:
 *   dW_k = h_kᵀ dz_k;  db_k = Σ_rows dz_k;  dh_k = dz_k W_kᵀ;  dz_{k−1} = dh_k ⊙ [z_{k−1} > 0];  dX = dh_0
 * AdaGrad on every weight and bias, all gradients taken at the old weights:
 *   acc += grad²;  w −= lr · grad / (sqrt(acc) + ε)
 * Dropout (options.dropout > 0, masks m_k from the step input, entries 0 or 1/(1−p)), training only:
 *   h_{k+1} = relu(z_k) ⊙ m_k;  dz_k = dh_{k+1} ⊙ m_k ⊙ [z_k > 0]
 * Tower L2 (options.l2 = λ) on the weight matrices only:  dW_k += λ · W_k
 */
import {
  checkForwardInput,
  checkStepInput,
  checkTowerState,
  initialTowerState,
  paramNames,
  towerLayers,
} from '../../../src/model/tower/state.ts';
import type { TowerLayer } from '../../../src/model/tower/state.ts';
import type {
  TowerAdagrad,
  TowerBackend,
  TowerOptions,
  TowerShape,
  TowerState,
  TowerStepInput,
  TowerStepResult,
} from '../../../src/model/tower/tower.ts';

/** Float64 reference tower; keeps its weights in float64 between steps. */
export class ReferenceTower implements TowerBackend {
  readonly name = 'reference (float64 JS)';
  readonly shape: TowerShape;
  readonly #adagrad: TowerAdagrad;
  readonly #dropout: number;
  readonly #l2: number;
  readonly #layers: TowerLayer[];
  #t: Map<string, Float64Array> = new Map();

  constructor(options: TowerOptions) {
    this.shape = options.shape;
    this.#adagrad = options.adagrad;
    this.#dropout = options.dropout ?? 0;
    this.#l2 = options.l2 ?? 0;
    this.#layers = towerLayers(options.shape);
    this.setState(initialTowerState(options));
  }

  async forward(x: Float32Array, batchSize: number): Promise<Float32Array> {
    checkForwardInput(this.shape, x, batchSize);
    const hs = this.#forward(x, batchSize);
    return Float32Array.from(hs[hs.length - 1]!);
  }

  async trainStep(input: TowerStepInput): Promise<TowerStepResult> {
    checkStepInput(this.shape, input, this.#dropout);
    const B = input.batchSize;
    const masks = input.dropoutMasks;
    // hs[k] is the input of layer k; hs[L+1] is the logit column.
    const hs = this.#forward(input.x, B, masks);
    const logits = hs[hs.length - 1]!;
    let dz: Float64Array = new Float64Array(B);
    for (let i = 0; i < B; i++) {
      const p = 1 / (1 + Math.exp(-(input.offset[i]! + logits[i]!)));
      dz[i] = (p - input.labels[i]!) / B;
    }
    const grads = new Map<string, Float64Array>();
    let dx: Float64Array = dz;
    for (let k = this.#layers.length - 1; k >= 0; k--) {
      const { inDim: n, outDim: m } = this.#layers[k]!;
      const h = hs[k]!;
      const W = this.#t.get(`W${k}`)!;
      const dW = new Float64Array(n * m);
      const db = new Float64Array(m);
      const dh = new Float64Array(B * n);
      for (let i = 0; i < B; i++) {
        for (let o = 0; o < m; o++) {
          const d = dz[i * m + o]!;
          if (d === 0) continue;
          db[o]! += d;
          for (let j = 0; j < n; j++) {
            dW[j * m + o]! += h[i * n + j]! * d;
            dh[i * n + j]! += d * W[j * m + o]!;
          }
        }
      }
      if (this.#l2 > 0) for (let i = 0; i < dW.length; i++) dW[i]! += this.#l2 * W[i]!;
      grads.set(`W${k}`, dW);
      grads.set(`b${k}`, db);
      if (k > 0) {
        // ReLU gradient: h_k = relu(z_{k-1}) > 0 exactly where z_{k-1} > 0.
        const m = masks?.[k - 1];
        for (let i = 0; i < dh.length; i++) dh[i] = h[i]! > 0 ? (m ? dh[i]! * m[i]! : dh[i]!) : 0;
        dz = dh;
      } else {
        dx = dh;
      }
    }
    const { learningRate: lr, epsilon } = this.#adagrad;
    for (const name of paramNames(this.shape)) {
      const w = this.#t.get(name)!;
      const acc = this.#t.get(`acc_${name}`)!;
      const g = grads.get(name)!;
      for (let i = 0; i < w.length; i++) {
        acc[i]! += g[i]! * g[i]!;
        w[i]! -= (lr * g[i]!) / (Math.sqrt(acc[i]!) + epsilon);
      }
    }
    return { logits: Float32Array.from(logits), dx: Float32Array.from(dx) };
  }

  getState(): TowerState {
    const tensors: Record<string, Float32Array> = {};
    for (const [name, t] of this.#t) tensors[name] = Float32Array.from(t);
    return { shape: { inputDim: this.shape.inputDim, hiddenUnits: [...this.shape.hiddenUnits] }, tensors };
  }

  setState(state: TowerState): void {
    checkTowerState(this.shape, state);
    this.#t = new Map(Object.entries(state.tensors).map(([k, v]) => [k, Float64Array.from(v)]));
  }

  dispose(): void {
    this.#t.clear();
  }

  /** Activations: [X, h_1, …, h_L, logit]; each [B × width] row-major. */
  #forward(x: Float32Array, B: number, masks?: readonly Float32Array[]): Float64Array[] {
    const hs: Float64Array[] = [Float64Array.from(x)];
    for (const { index: k, inDim: n, outDim: m, relu } of this.#layers) {
      const h = hs[k]!;
      const W = this.#t.get(`W${k}`)!;
      const b = this.#t.get(`b${k}`)!;
      const z = new Float64Array(B * m);
      for (let i = 0; i < B; i++) {
        for (let o = 0; o < m; o++) z[i * m + o] = b[o]!;
        for (let j = 0; j < n; j++) {
          const hij = h[i * n + j]!;
          if (hij === 0) continue;
          for (let o = 0; o < m; o++) z[i * m + o]! += hij * W[j * m + o]!;
        }
      }
      if (relu) for (let i = 0; i < z.length; i++) if (z[i]! < 0) z[i] = 0;
      const mask = relu ? masks?.[k] : undefined;
      if (mask) for (let i = 0; i < z.length; i++) z[i]! *= mask[i]!;
      hs.push(z);
    }
    return hs;
  }
}
