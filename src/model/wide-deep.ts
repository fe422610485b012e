/**
 * The joint Wide & Deep model (Cheng et al. 2016): logit = wide + deep + bias, one logistic
 * loss, and every mini-batch updates both parts from the same gradient, each with its own
 * optimizer — FTRL for the wide linear weights, AdaGrad for embeddings and the tower.
 *
 * The wide weights and embedding rows live here on typed arrays and are updated sparsely; the
 * dense tower sits behind TowerBackend (ONNX Runtime or TensorFlow.js).
 */
import type { AdagradSettings, FtrlSettings, ModelKind } from '../config/schema.ts';
import type { DeepLayout, EncodedBatch, WideLayout } from '../features/encoded-batch.ts';
import { hash32, Rng } from '../util/random.ts';
import { SparseAdagrad } from './sparse/adagrad.ts';
import { Ftrl } from './sparse/ftrl.ts';
import { createTable, GradientAccumulator, type SparseTable } from './sparse/sparse-table.ts';
import { accumulateWideGrads, gatherEmbedding, scatterEmbeddingGrads, wideDot } from './sparse/kernels.ts';
import type { TowerBackend, TowerState } from './tower/tower.ts';
import type { TowerKind } from './tower/kinds.ts';
import { makeDropoutMasks } from './tower/state.ts';
import { createTower } from './tower/select.ts';
import { ModelShapeError } from './errors.ts';

export interface WideDeepSpec {
  readonly kind: ModelKind;
  readonly wideLayout: WideLayout;
  readonly deepLayout: DeepLayout;
  /** Hidden layer widths of the tower. */
  readonly hiddenUnits: readonly number[];
  readonly ftrl: FtrlSettings;
  readonly adagrad: AdagradSettings;
  /** Seed for the initial embeddings and tower weights (and the dropout masks). */
  readonly seed: number;
  /** deep.dropout: dropout rate of the tower's hidden activations in training. @default 0 */
  readonly dropout?: number;
  /** deep.embeddingL2: proximal L2 on the embedding rows a batch touches (SparseAdagrad). @default 0 */
  readonly embeddingL2?: number;
  /** deep.towerL2: L2 on the tower's weight matrices. @default 0 */
  readonly towerL2?: number;
}

/**
 * With dropout, the bias table carries one more slot, `step`: the number of training steps
 * taken (mod 2^24, exact in float32), from which each step's masks are drawn. It is saved with
 * the bias, so a resumed model draws the masks the uninterrupted one would have.
 */
const STEP_SLOT = 'step';
const STEP_MODULUS = 1 << 24;

/** Everything that is trained, by name. Wide/embeddings/tower are absent when the kind has no such part. */
export interface WideDeepState {
  /** 1 × 1 table: the global bias, trained with FTRL without regularisation. */
  readonly bias: SparseTable;
  readonly wide?: SparseTable;
  /** Embedding table per feature, keyed by feature name. */
  readonly embeddings: ReadonlyMap<string, SparseTable>;
  readonly tower?: TowerState;
}

export interface CreateModelOptions {
  /** @default 'auto' */
  readonly backend?: TowerKind;
  /** Start from this state (load or warm start) instead of a fresh init. */
  readonly state?: WideDeepState;
  readonly log?: (message: string) => void;
}

export interface TrainStepResult {
  /** Mean logistic loss of the batch before the update. */
  readonly loss: number;
}

export function hasWide(kind: ModelKind): boolean {
  return kind !== 'deep';
}
export function hasDeep(kind: ModelKind): boolean {
  return kind !== 'wide';
}

/** Numerically stable log(1 + e^{-|z|}) based logistic loss for logit z and label y. */
function logLoss(z: number, y: number): number {
  return Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

export class WideDeepModel {
  readonly spec: WideDeepSpec;
  readonly tower: TowerBackend | undefined;
  readonly #bias: SparseTable;
  readonly #wide: SparseTable | undefined;
  readonly #embeddings: SparseTable[];
  readonly #ftrl: Ftrl;
  readonly #biasFtrl: Ftrl;
  readonly #dropout: number;
  readonly #adagrad: SparseAdagrad;
  readonly #wideGrads: GradientAccumulator | undefined;
  readonly #embGrads: GradientAccumulator[];
  readonly #biasGrads: GradientAccumulator;
  /** Column where each embedding starts in the tower input. */
  readonly #embCols: number[];
  #x = new Float32Array(0);
  #wideOut = new Float64Array(0);

  private constructor(spec: WideDeepSpec, tower: TowerBackend | undefined, state: WideDeepState) {
    this.spec = spec;
    this.tower = tower;
    this.#ftrl = new Ftrl(spec.ftrl);
    this.#biasFtrl = new Ftrl({ ...spec.ftrl, l1: 0, l2: 0 });
    this.#adagrad = new SparseAdagrad(spec.adagrad, spec.embeddingL2 ?? 0);
    this.#dropout = tower ? (spec.dropout ?? 0) : 0;
    this.#bias =
      this.#dropout > 0 && !state.bias.slots[STEP_SLOT]
        ? { ...state.bias, slots: { ...state.bias.slots, [STEP_SLOT]: new Float32Array(1) } }
        : state.bias;
    this.#wide = state.wide;
    this.#embeddings = hasDeep(spec.kind) ? spec.deepLayout.embeddings.map((e) => state.embeddings.get(e.feature)!) : [];
    this.#wideGrads = this.#wide ? new GradientAccumulator(this.#wide.rows, 1, 4096) : undefined;
    this.#embGrads = this.#embeddings.map((t) => new GradientAccumulator(t.rows, t.dim, 1024));
    this.#biasGrads = new GradientAccumulator(1, 1, 1);
    this.#embCols = [];
    let col = 0;
    for (const e of spec.deepLayout.embeddings) {
      this.#embCols.push(col);
      col += e.dim;
    }
  }

  /**
   * Builds a model, fresh or from a state whose shapes are checked against the spec.
   * @example
   *   const model = await WideDeepModel.create(spec, { backend: 'auto' });
   *   const { loss } = await model.trainBatch(batch);
   */
  static async create(spec: WideDeepSpec, options: CreateModelOptions = {}): Promise<WideDeepModel> {
    const state = options.state ?? freshState(spec);
    checkState(spec, state);
    let tower: TowerBackend | undefined;
    if (hasDeep(spec.kind)) {
      tower = await createTower(
        options.backend ?? 'auto',
        {
          shape: { inputDim: spec.deepLayout.inputDim, hiddenUnits: spec.hiddenUnits },
          adagrad: spec.adagrad,
          seed: spec.seed,
          ...(state.tower ? { state: state.tower } : {}),
          ...(spec.dropout ? { dropout: spec.dropout } : {}),
          ...(spec.towerL2 ? { l2: spec.towerL2 } : {}),
        },
        options.log,
      );
    }
    return new WideDeepModel(spec, tower, state);
  }

  /** Logits (wide + deep + bias), Float32Array [B]. */
  async predictLogits(batch: EncodedBatch): Promise<Float32Array> {
    const out = this.#wideLogits(batch);
    if (this.tower) {
      const deep = await this.tower.forward(this.#towerInput(batch), batch.size);
      for (let i = 0; i < batch.size; i++) out[i] = out[i]! + deep[i]!;
    }
    return out;
  }

  /** Probabilities, Float32Array [B]. */
  async predict(batch: EncodedBatch): Promise<Float32Array> {
    const z = await this.predictLogits(batch);
    for (let i = 0; i < z.length; i++) z[i] = sigmoid(z[i]!);
    return z;
  }

  /** One joint step on a labelled batch. */
  async trainBatch(batch: EncodedBatch): Promise<TrainStepResult> {
    if (!batch.labels) throw new ModelShapeError('trainBatch needs a batch with labels');
    const B = batch.size;
    const logits = this.#wideLogits(batch);
    let dx: Float32Array | undefined;
    if (this.tower) {
      const r = await this.tower.trainStep({
        x: this.#towerInput(batch),
        offset: logits,
        labels: batch.labels,
        batchSize: B,
        ...(this.#dropout > 0 ? { dropoutMasks: this.#nextMasks(B) } : {}),
      });
      for (let i = 0; i < B; i++) logits[i] = logits[i]! + r.logits[i]!;
      dx = r.dx;
    }
    const g = new Float64Array(B);
    const loss = jointGradient(logits, batch.labels, g);
    this.#updateBias(g);
    if (this.#wide) {
      accumulateWideGrads(this.#wideGrads!, batch.wideOffsets, batch.wideIds, batch.wideValues, B, g);
      this.#ftrl.apply(this.#wide, this.#wideGrads!.ids, this.#wideGrads!.count, this.#wideGrads!.grads);
    }
    if (dx) for (let f = 0; f < this.#embeddings.length; f++) this.#updateEmbedding(batch, f, dx);
    return { loss };
  }

  /** The trained state, by name (copies the tower's weights out of its backend). */
  state(): WideDeepState {
    const embeddings = new Map<string, SparseTable>();
    this.spec.deepLayout.embeddings.forEach((e, i) => {
      if (this.#embeddings[i]) embeddings.set(e.feature, this.#embeddings[i]!);
    });
    return {
      bias: this.#bias,
      ...(this.#wide ? { wide: this.#wide } : {}),
      embeddings,
      ...(this.tower ? { tower: this.tower.getState() } : {}),
    };
  }

  /**
   * Puts `state`'s values into this model in place (same shapes): how early stopping brings
   * back its best snapshot (from `cloneState(model.state())`).
   */
  restore(state: WideDeepState): void {
    checkState(this.spec, state);
    const copy = (to: SparseTable, from: SparseTable, what: string) => {
      to.weights.set(from.weights);
      for (const [name, a] of Object.entries(to.slots)) {
        const src = from.slots[name];
        if (!src) throw new ModelShapeError(`restore: ${what} has no slot "${name}"`);
        a.set(src);
      }
    };
    copy(this.#bias, state.bias, 'bias');
    if (this.#wide && state.wide) copy(this.#wide, state.wide, 'wide');
    this.spec.deepLayout.embeddings.forEach((e, i) => {
      const t = this.#embeddings[i];
      if (t) copy(t, state.embeddings.get(e.feature)!, `embedding "${e.feature}"`);
    });
    if (this.tower && state.tower) this.tower.setState(state.tower);
  }

  /** Share of wide weights that are exactly zero (FTRL's L1 sparsity); NaN without a wide part. */
  wideZeroFraction(): number {
    if (!this.#wide) return NaN;
    const w = this.#wide.weights;
    let zeros = 0;
    for (let i = 0; i < w.length; i++) if (w[i] === 0) zeros++;
    return zeros / w.length;
  }

  /** Share of wide coordinates that were ever updated and still ended at exactly zero. */
  wideTouchedZeroFraction(): number {
    if (!this.#wide) return NaN;
    const w = this.#wide.weights;
    const n = this.#wide.slots['n']!;
    let touched = 0;
    let zeros = 0;
    for (let i = 0; i < w.length; i++) {
      if (n[i]! > 0) {
        touched++;
        if (w[i] === 0) zeros++;
      }
    }
    return touched ? zeros / touched : NaN;
  }

  dispose(): void {
    this.tower?.dispose();
  }

  /** Wide dot products (no bias) into a reused Float64Array [B]. */
  #wideDot(batch: EncodedBatch): Float64Array {
    if (this.#wideOut.length < batch.size) this.#wideOut = new Float64Array(batch.size);
    wideDot(this.#wide!.weights, batch.wideOffsets, batch.wideIds, batch.wideValues, batch.size, this.#wideOut);
    return this.#wideOut;
  }

  /** bias + wide, Float32Array [B]. */
  #wideLogits(batch: EncodedBatch): Float32Array {
    const B = batch.size;
    const out = new Float32Array(B);
    const b = this.#bias.weights[0]!;
    const wide = this.#wide ? this.#wideDot(batch) : undefined;
    for (let i = 0; i < B; i++) out[i] = wide ? b + wide[i]! : b;
    return out;
  }

  /** X [B × inputDim]: pooled embeddings and the numerics (the hottest JS in training). */
  #towerInput(batch: EncodedBatch): Float32Array {
    const layout = this.spec.deepLayout;
    const D = layout.inputDim;
    const B = batch.size;
    if (this.#x.length !== B * D) this.#x = new Float32Array(B * D);
    const x = this.#x;
    for (let f = 0; f < layout.embeddings.length; f++) {
      const spec = layout.embeddings[f]!;
      const input = batch.embeddingInputs[f]!;
      gatherEmbedding(
        this.#embeddings[f]!.weights,
        spec.dim,
        spec.combiner === 'mean',
        input.offsets,
        input.ids,
        B,
        x,
        D,
        this.#embCols[f]!,
      );
    }
    const nNum = layout.numeric.length;
    if (nNum > 0) {
      const col = D - nNum;
      const num = batch.numeric;
      for (let i = 0; i < B; i++) for (let j = 0; j < nNum; j++) x[i * D + col + j] = num[i * nNum + j]!;
    }
    return x;
  }

  /** This step's dropout masks, drawn from (seed, step); advances the saved step counter. */
  #nextMasks(batchSize: number): Float32Array[] {
    const counter = this.#bias.slots[STEP_SLOT]!;
    const step = counter[0]!;
    counter[0] = (step + 1) % STEP_MODULUS;
    const rng = new Rng(hash32(this.spec.seed ^ 0x0d0b_0e75) ^ hash32(step));
    return makeDropoutMasks(this.tower!.shape, batchSize, this.#dropout, rng);
  }

  #updateBias(g: Float64Array): void {
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i]!;
    const acc = this.#biasGrads;
    acc.reset();
    acc.add(0, s);
    this.#biasFtrl.apply(this.#bias, acc.ids, acc.count, acc.grads);
  }

  #updateEmbedding(batch: EncodedBatch, f: number, dx: Float32Array): void {
    const spec = this.spec.deepLayout.embeddings[f]!;
    const input = batch.embeddingInputs[f]!;
    const acc = this.#embGrads[f]!;
    scatterEmbeddingGrads(
      acc,
      spec.dim,
      spec.combiner === 'mean',
      input.offsets,
      input.ids,
      batch.size,
      dx,
      this.spec.deepLayout.inputDim,
      this.#embCols[f]!,
    );
    this.#adagrad.apply(this.#embeddings[f]!, acc.ids, acc.count, acc.grads);
  }
}

/**
 * g_i = d(mean loss)/d(logit_i) = (σ(z_i) − y_i) / B, shared by every part; returns the mean loss.
 * Writes g into `g` [≥ B].
 */
function jointGradient(logits: Float32Array, labels: Float32Array, g: Float64Array): number {
  const B = logits.length;
  let loss = 0;
  for (let i = 0; i < B; i++) {
    const z = logits[i]!;
    const y = labels[i]!;
    loss += logLoss(z, y);
    g[i] = (sigmoid(z) - y) / B;
  }
  return loss / B;
}

/** A deep copy of a state (tables and tower), e.g. early stopping's snapshot of the best weights. */
export function cloneState(state: WideDeepState): WideDeepState {
  const table = (t: SparseTable): SparseTable => ({
    rows: t.rows,
    dim: t.dim,
    weights: t.weights.slice(),
    slots: Object.fromEntries(Object.entries(t.slots).map(([k, a]) => [k, a.slice()])),
  });
  return {
    bias: table(state.bias),
    ...(state.wide ? { wide: table(state.wide) } : {}),
    embeddings: new Map([...state.embeddings].map(([f, t]) => [f, table(t)])),
    ...(state.tower
      ? {
          tower: {
            shape: { inputDim: state.tower.shape.inputDim, hiddenUnits: [...state.tower.shape.hiddenUnits] },
            tensors: Object.fromEntries(Object.entries(state.tower.tensors).map(([k, a]) => [k, a.slice()])),
          },
        }
      : {}),
  };
}

/** Zero wide weights and bias; embeddings ~ N(0, 1/√dim) as TF's embedding_column default. */
export function freshState(spec: WideDeepSpec): WideDeepState {
  const ftrl = new Ftrl(spec.ftrl);
  const adagrad = new SparseAdagrad(spec.adagrad);
  const rng = new Rng(spec.seed);
  const embeddings = new Map<string, SparseTable>();
  if (hasDeep(spec.kind)) {
    for (const e of spec.deepLayout.embeddings) {
      embeddings.set(e.feature, freshEmbedding(e.vocabSize, e.dim, adagrad, rng));
    }
  }
  return {
    bias: createTable(1, 1, ftrl),
    ...(hasWide(spec.kind) ? { wide: createTable(spec.wideLayout.size, 1, ftrl) } : {}),
    embeddings,
  };
}

export function freshEmbedding(rows: number, dim: number, adagrad: SparseAdagrad, rng: Rng): SparseTable {
  const std = 1 / Math.sqrt(dim);
  return createTable(rows, dim, adagrad, (w) => {
    for (let i = 0; i < w.length; i++) w[i] = rng.normal() * std;
  });
}

function checkState(spec: WideDeepSpec, state: WideDeepState): void {
  if (hasWide(spec.kind)) {
    if (!state.wide) throw new ModelShapeError('state has no wide weights but the model kind has a wide part');
    if (state.wide.rows !== spec.wideLayout.size || state.wide.dim !== 1) {
      throw new ModelShapeError(`wide weights have ${state.wide.rows} rows, the layout needs ${spec.wideLayout.size}`);
    }
  }
  if (hasDeep(spec.kind)) {
    for (const e of spec.deepLayout.embeddings) {
      const t = state.embeddings.get(e.feature);
      if (!t) throw new ModelShapeError(`state has no embedding table for "${e.feature}"`);
      if (t.rows !== e.vocabSize || t.dim !== e.dim) {
        throw new ModelShapeError(`embedding "${e.feature}" is ${t.rows}×${t.dim}, the layout needs ${e.vocabSize}×${e.dim}`);
      }
    }
    const tower = state.tower;
    if (tower && (tower.shape.inputDim !== spec.deepLayout.inputDim || tower.shape.hiddenUnits.join() !== spec.hiddenUnits.join())) {
      throw new ModelShapeError(
        `tower is ${tower.shape.inputDim}→[${tower.shape.hiddenUnits}], the spec needs ${spec.deepLayout.inputDim}→[${spec.hiddenUnits}]`,
      );
    }
  }
}
