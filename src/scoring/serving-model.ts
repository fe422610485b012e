/**
 * The model as scoring sees it: weights only, and a forward pass that shares the user context.
 *
 * In one request every candidate has the same user features, so their part of the model is
 * computed once (a "split" is the set of features that come from the context):
 *   - wide:  bias + the weights of wide segments made only of user features (user features and
 *            user×user crosses); each candidate adds its own segments (item features and crosses
 *            that involve an item feature);
 *   - deep:  the user features' embeddings and numerics x_user are pooled once, and their share
 *            of the first tower layer u = x_user·W0_user + b0 is computed once (inside the
 *            SplitTower's graph); the candidates' rows carry only the item columns. Their
 *            single-id embeddings are looked up by the tower from ids (inside ONNX Runtime);
 *            only list features and numerics are copied into rows here.
 * The result equals the training-side forward pass (WideDeepModel.predict) up to float32
 * summation order (tested within 1e-5). Batch scoring, where every row has its own features,
 * is the split with no user features.
 */
import type { ModelKind } from '../config/schema.ts';
import { sliceBatch } from '../features/batch-ops.ts';
import type { DeepLayout, EncodedBatch, WideLayout } from '../features/encoded-batch.ts';
import type { TransformState } from '../features/state.ts';
import type { StoredModel } from '../model/stored-model.ts';
import type { TowerWeights } from '../model/tower/weights.ts';
import { ScoringError } from './errors.ts';
import { createSplitTower } from './create-split-tower.ts';
import type { ItemColumns, SplitTower, SplitTowerKind } from './split-tower.ts';

export interface ServingModelOptions {
  /** Tower implementation. @default 'auto' (ONNX Runtime, else plain JS) */
  readonly backend?: SplitTowerKind;
  /** ORT intra-op threads. @default os.availableParallelism() */
  readonly intraOpNumThreads?: number;
  /** @default the host's setting (configureOnnxRuntime), true if unset */
  readonly allowSpinning?: boolean;
  readonly log?: (message: string) => void;
}

/** Everything precomputed for one split; built once per distinct set of context features. */
export interface SplitPlan {
  readonly key: string;
  readonly userFeatures: ReadonlySet<string>;
  /** Indices into DeepLayout.embeddings / DeepLayout.numeric. */
  readonly userEmb: readonly number[];
  /** Item embeddings with one id per row (looked up by the tower), then the others (pooled here). */
  readonly gatheredEmb: readonly number[];
  readonly pooledEmb: readonly number[];
  readonly userNum: readonly number[];
  readonly itemNum: readonly number[];
  /** Tower input columns of x_user / X_item (gathered features' first), in their order. */
  readonly userCols: Int32Array;
  readonly itemCols: Int32Array;
  /** [start, end) pairs of the wide segments that belong to the user side, ascending. */
  readonly userWideRanges: Int32Array;
  readonly tower: SplitTower | undefined;
}

/** Rows per tower run in batch scoring (bounds activation memory; large enough to keep GEMMs efficient). */
const ROWS_PER_RUN = 4096;

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

export class ServingModel {
  readonly kind: ModelKind;
  readonly wideLayout: WideLayout;
  readonly deepLayout: DeepLayout;
  readonly #bias: number;
  readonly #wide: Float32Array | undefined;
  readonly #emb: Float32Array[];
  readonly #embCols: number[];
  /** Per embedding feature: one id per row always (a categorical, not a list). */
  readonly #singleId: boolean[];
  readonly #tower: TowerWeights | undefined;
  /** Features that make up each wide segment (one for a feature, several for a cross). */
  readonly #segmentFeatures: { start: number; end: number; features: readonly string[] }[];
  readonly #options: ServingModelOptions;
  readonly #plans = new Map<string, Promise<SplitPlan>>();

  /**
   * @param artifact a model read with `readStoredModel(uri, { weightsOnly: true })` (or in full)
   * @example
   *   const model = new ServingModel(await readStoredModel(uri, { weightsOnly: true }));
   *   const plan = await model.plan(new Set(['user_id', 'country']));
   *   const p = await model.scoreSplit(plan, userBatch, itemBatch);
   */
  constructor(artifact: Pick<StoredModel, 'manifest' | 'transforms' | 'state'>, options: ServingModelOptions = {}) {
    const { transforms, state, manifest } = artifact;
    this.kind = manifest.kind;
    this.wideLayout = transforms.wideLayout;
    this.deepLayout = transforms.deepLayout;
    this.#options = options;
    this.#bias = state.bias.weights[0]!;
    this.#wide = manifest.kind !== 'deep' ? state.wide?.weights : undefined;
    const deep = manifest.kind !== 'wide';
    this.#emb = deep
      ? this.deepLayout.embeddings.map((e) => {
          const t = state.embeddings.get(e.feature);
          if (!t || t.rows !== e.vocabSize || t.dim !== e.dim)
            throw new ScoringError(`model has no ${e.vocabSize}×${e.dim} embedding table for "${e.feature}"`);
          return t.weights;
        })
      : [];
    this.#embCols = [];
    let col = 0;
    for (const e of this.deepLayout.embeddings) {
      this.#embCols.push(col);
      col += e.dim;
    }
    this.#tower = deep ? state.tower : undefined;
    if (deep && !this.#tower) throw new ScoringError('model kind has a deep part but no tower weights');
    const ts: TransformState = transforms.toState();
    this.#singleId = this.deepLayout.embeddings.map((e) => ts.features[e.feature]?.kind === 'categorical');
    const crossFeatures = new Map(ts.wide.crosses.map((c) => [c.name, c.features] as const));
    this.#segmentFeatures = this.wideLayout.segments.map((s) => ({
      start: s.offset,
      end: s.offset + s.size,
      features: crossFeatures.get(s.name) ?? [s.name],
    }));
  }

  /** The plan for a split, built once per distinct set of user features (ONNX session included). */
  plan(userFeatures: ReadonlySet<string>): Promise<SplitPlan> {
    const key = [...userFeatures].sort().join('\u0000');
    let p = this.#plans.get(key);
    if (!p) {
      p = this.#buildPlan(key, userFeatures);
      // A plan that fails to build (e.g. ORT refused) must not stay cached as a rejection.
      p.catch(() => this.#plans.delete(key));
      this.#plans.set(key, p);
    }
    return p;
  }

  /**
   * Probabilities Float32Array [B] for B candidates sharing one user context.
   * @param user EncodedBatch of 1 row; only the user features' parts are read
   * @param items EncodedBatch of B rows; only the item features' parts (and mixed crosses) are read
   */
  async scoreSplit(plan: SplitPlan, user: EncodedBatch, items: EncodedBatch): Promise<Float32Array> {
    const B = items.size;
    const out = new Float32Array(B);
    // Wide: user part once, then each candidate's own segments.
    const w = this.#wide;
    let userLogit = this.#bias;
    const ranges = plan.userWideRanges;
    if (w && ranges.length > 0) {
      for (let k = user.wideOffsets[0]!; k < user.wideOffsets[1]!; k++) {
        const id = user.wideIds[k]!;
        if (inRanges(ranges, id)) userLogit += w[id]! * user.wideValues[k]!;
      }
    }
    out.fill(userLogit);
    if (w) {
      const { wideOffsets, wideIds, wideValues } = items;
      if (ranges.length <= 2) {
        // No or one user range (the usual case: user features come first in the wide layout).
        const lo = ranges.length === 2 ? ranges[0]! : 0;
        const hi = ranges.length === 2 ? ranges[1]! : 0;
        for (let i = 0; i < B; i++) {
          let sum = 0;
          for (let k = wideOffsets[i]!, end = wideOffsets[i + 1]!; k < end; k++) {
            const id = wideIds[k]!;
            if (id < lo || id >= hi) sum += w[id]! * wideValues[k]!;
          }
          out[i] = out[i]! + sum;
        }
      } else {
        for (let i = 0; i < B; i++) {
          let sum = 0;
          for (let k = wideOffsets[i]!, end = wideOffsets[i + 1]!; k < end; k++) {
            const id = wideIds[k]!;
            if (!inRanges(ranges, id)) sum += w[id]! * wideValues[k]!;
          }
          out[i] = out[i]! + sum;
        }
      }
    }
    if (plan.tower) {
      const xUser = this.#userInput(plan, user);
      let deep: Float32Array;
      if (plan.itemCols.length === 0) {
        // Every deep input is user context: one tower row serves all candidates.
        const one = await plan.tower.forward(xUser, { gathered: [], rest: new Float32Array(0) }, 1);
        deep = new Float32Array(B).fill(one[0]!);
      } else {
        deep = await plan.tower.forward(xUser, this.#itemInput(plan, items), B);
      }
      for (let i = 0; i < B; i++) out[i] = out[i]! + deep[i]!;
    }
    for (let i = 0; i < B; i++) out[i] = sigmoid(out[i]!);
    return out;
  }

  /**
   * Probabilities for rows that each carry all their features (batch scoring), run through the
   * tower `rowsPerRun` rows at a time: at the paper shape a 64k-row chunk would otherwise need
   * ~0.3 GB for X and as much again per hidden layer.
   */
  async scoreRows(batch: EncodedBatch, rowsPerRun = ROWS_PER_RUN): Promise<Float32Array> {
    const plan = await this.plan(new Set());
    if (batch.size <= rowsPerRun) return this.scoreSplit(plan, batch, batch);
    const out = new Float32Array(batch.size);
    for (let start = 0; start < batch.size; start += rowsPerRun) {
      const part = sliceBatch(batch, start, Math.min(batch.size, start + rowsPerRun));
      out.set(await this.scoreSplit(plan, part, part), start);
    }
    return out;
  }

  dispose(): void {
    for (const p of this.#plans.values())
      void p.then(
        (plan) => plan.tower?.dispose(),
        () => undefined,
      );
    this.#plans.clear();
  }

  async #buildPlan(key: string, userFeatures: ReadonlySet<string>): Promise<SplitPlan> {
    const layout = this.deepLayout;
    const userEmb: number[] = [];
    const gatheredEmb: number[] = [];
    const pooledEmb: number[] = [];
    layout.embeddings.forEach((e, f) => {
      if (userFeatures.has(e.feature)) userEmb.push(f);
      else (this.#singleId[f] ? gatheredEmb : pooledEmb).push(f);
    });
    const userCols: number[] = [];
    const itemCols: number[] = [];
    const colsOf = (f: number) => Array.from({ length: layout.embeddings[f]!.dim }, (_, j) => this.#embCols[f]! + j);
    for (const f of userEmb) userCols.push(...colsOf(f));
    for (const f of [...gatheredEmb, ...pooledEmb]) itemCols.push(...colsOf(f));
    const userNum: number[] = [];
    const itemNum: number[] = [];
    const numStart = layout.inputDim - layout.numeric.length;
    layout.numeric.forEach((n, j) => {
      const user = userFeatures.has(n);
      (user ? userNum : itemNum).push(j);
      (user ? userCols : itemCols).push(numStart + j);
    });
    const ranges: number[] = [];
    for (const s of this.#segmentFeatures) {
      if (s.features.every((f) => userFeatures.has(f))) {
        const last = ranges.length - 1;
        if (last > 0 && ranges[last] === s.start) ranges[last] = s.end;
        else ranges.push(s.start, s.end);
      }
    }
    const itemRows = Int32Array.from(itemCols);
    let tower: SplitTower | undefined;
    if (this.#tower) {
      const o = this.#options;
      tower = await createSplitTower(
        itemRows.length === 0 ? 'js' : (o.backend ?? 'auto'),
        this.#tower,
        {
          itemRows,
          userRows: Int32Array.from(userCols),
          gathered: gatheredEmb.map((f) => ({ vocab: layout.embeddings[f]!.vocabSize, dim: layout.embeddings[f]!.dim })),
          ...(o.intraOpNumThreads !== undefined ? { intraOpNumThreads: o.intraOpNumThreads } : {}),
          ...(o.allowSpinning !== undefined ? { allowSpinning: o.allowSpinning } : {}),
        },
        o.log,
      );
    }
    return {
      key,
      userFeatures: new Set(userFeatures),
      userEmb,
      gatheredEmb,
      pooledEmb,
      userNum,
      itemNum,
      userCols: Int32Array.from(userCols),
      itemCols: itemRows,
      userWideRanges: Int32Array.from(ranges),
      tower,
    };
  }

  /** x_user Float32Array [Du]: row 0 of `user`, user columns only, in plan.userCols order. */
  #userInput(plan: SplitPlan, user: EncodedBatch): Float32Array {
    const x = new Float32Array(plan.userCols.length);
    let c = 0;
    for (const f of plan.userEmb) {
      const spec = this.deepLayout.embeddings[f]!;
      poolInto(x, c, this.#emb[f]!, spec.dim, spec.combiner, user.embeddingInputs[f]!, 0);
      c += spec.dim;
    }
    // The user batch has one row, so numeric feature j of row 0 is numeric[j].
    for (const j of plan.userNum) x[c++] = user.numeric[j]!;
    return x;
  }

  /** The candidates' item inputs: ids of gathered features, and rows [B × restDim] of the other columns. */
  #itemInput(plan: SplitPlan, items: EncodedBatch): ItemColumns {
    const B = items.size;
    const gathered = plan.gatheredEmb.map((f) => {
      const { offsets, ids } = items.embeddingInputs[f]!;
      // The encoder gives categoricals exactly one id per row; anything else is a bug upstream.
      if (!isSingle(offsets, B)) throw new ScoringError(`"${this.deepLayout.embeddings[f]!.feature}" has a row without exactly one id`);
      return { table: this.#emb[f]!, ids };
    });
    const Dr = plan.tower!.restDim;
    const x = new Float32Array(B * Dr);
    // Feature by feature: one table at a time keeps its rows' cache and TLB entries warm.
    let c = 0;
    for (const f of plan.pooledEmb) {
      const spec = this.deepLayout.embeddings[f]!;
      const table = this.#emb[f]!;
      const input = items.embeddingInputs[f]!;
      if (spec.combiner === 'sum') gatherSum(x, Dr, c, table, spec.dim, input.offsets, input.ids, B);
      else for (let i = 0; i < B; i++) poolInto(x, i * Dr + c, table, spec.dim, spec.combiner, input, i);
      c += spec.dim;
    }
    const nNum = this.deepLayout.numeric.length;
    const num = items.numeric;
    for (const j of plan.itemNum) {
      for (let i = 0; i < B; i++) x[i * Dr + c] = num[i * nNum + j]!;
      c++;
    }
    return { gathered, rest: x };
  }
}

/** X[i, c:c+dim] = Σ table[id] over row i's ids. */
function gatherSum(
  x: Float32Array,
  Di: number,
  c: number,
  table: Float32Array,
  dim: number,
  offsets: Int32Array,
  ids: Int32Array,
  B: number,
): void {
  for (let i = 0; i < B; i++) {
    const xo = i * Di + c;
    for (let k = offsets[i]!; k < offsets[i + 1]!; k++) {
      const ro = ids[k]! * dim;
      for (let j = 0; j < dim; j++) x[xo + j] = x[xo + j]! + table[ro + j]!;
    }
  }
}

/** Whether every row has exactly one id (offsets[i] === i); a list can have B ids in total without that. */
function isSingle(offsets: Int32Array, B: number): boolean {
  for (let i = 0; i <= B; i++) if (offsets[i] !== i) return false;
  return true;
}

/** Adds row i's pooled embedding (sum, or mean over its ids) into x at `at`, as the training forward does. */
function poolInto(
  x: Float32Array,
  at: number,
  table: Float32Array,
  dim: number,
  combiner: 'sum' | 'mean',
  input: { offsets: Int32Array; ids: Int32Array },
  i: number,
): void {
  const start = input.offsets[i]!;
  const end = input.offsets[i + 1]!;
  if (end === start) return;
  const scale = combiner === 'mean' ? 1 / (end - start) : 1;
  for (let k = start; k < end; k++) {
    const ro = input.ids[k]! * dim;
    for (let j = 0; j < dim; j++) x[at + j] = x[at + j]! + table[ro + j]! * scale;
  }
}

/** Whether id falls in one of the ascending [start, end) pairs. */
function inRanges(r: Int32Array, id: number): boolean {
  for (let k = 0; k < r.length; k += 2) {
    if (id < r[k]!) return false;
    if (id < r[k + 1]!) return true;
  }
  return false;
}
