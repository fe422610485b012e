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
 *
 * Plans are cached, and the cache is bounded (issue 9, finding 4). A plan is keyed by its set of
 * context features, so a caller that moves a different subset of features into `context` on
 * every request creates a new plan each time, and a plan with item columns holds its own ONNX
 * Runtime session with the tower weights baked in and pre-packed. Measured (RSS over 30–40 random
 * subsets): 0.8 MB and ~24 ms to build per plan at the `small` bench shape, 8.6 MB and ~114 ms at
 * `paper` (a 1200×1024 first layer). Kept forever, 1,600 subsets took a container from 370 to
 * 998 MB. So:
 *   - at most `planCacheSize` plans are kept (default DEFAULT_PLAN_CACHE_SIZE), least recently
 *     used first out; an evicted plan's session is released as soon as no request still runs on
 *     it (every use holds a lease, see acquirePlan), so memory is bounded by the cap plus the
 *     requests in flight;
 *   - keys are built from model feature names only: the request layer rejects any other name
 *     before a plan is asked for, so a key never holds caller text; and a deployment can fix the
 *     context set altogether (ScorerOptions.contextFeatures), which leaves one online plan;
 *   - hits, misses, evictions and the size are counted (planCacheStats) for the handler's metrics.
 */
import type { ModelKind } from '../config/schema.ts';
import { sliceBatch } from '../features/batch-ops.ts';
import type { DeepLayout, EncodedBatch, WideLayout } from '../features/encoded-batch.ts';
import type { TransformState } from '../features/state.ts';
import type { MappedTables } from '../model/mapped-tables.ts';
import type { StoredModel } from '../model/stored-model.ts';
import type { TowerWeights } from '../model/tower/weights.ts';
import type { Int8TowerWeights } from '../model/tower/int8.ts';
import type { Int8Ops } from '../model/tower/onnx-export.ts';
import { countNonFinite } from '../util/finite.ts';
import { NonFiniteScoresError, ScoringError } from './errors.ts';
import { createSplitTower } from './create-split-tower.ts';
import type { ItemColumns, SplitTower, SplitTowerKind } from './split-tower.ts';

export interface ServingModelOptions {
  /** Tower implementation. @default 'auto' (ONNX Runtime, else plain JS) */
  readonly backend?: SplitTowerKind;
  /** ORT intra-op threads. @default availableCpus() (onnx-runtime.ts: the cgroup quota, else the CPUs) */
  readonly intraOpNumThreads?: number;
  /** @default the host's setting (configureOnnxRuntime), true if unset */
  readonly allowSpinning?: boolean;
  readonly log?: (message: string) => void;
  /**
   * Most plans (one per distinct set of context features) kept at once; least recently used ones
   * are evicted and their ONNX sessions released. @default DEFAULT_PLAN_CACHE_SIZE
   */
  readonly planCacheSize?: number;
  /**
   * Which tower weights serve: 'auto' the int8 tower when the model was read with one (Scorer
   * reads it when the model's config has `serving.quantize: "int8"` and its folder lists
   * tower-int8.safetensors), else float32; 'fp32' and 'int8' force one ('int8' fails without
   * the file). @default 'auto'
   */
  readonly precision?: ServingPrecisionOption;
  /** How int8 GEMMs are expressed in the ONNX graph. @default 'fused' */
  readonly int8Ops?: Int8Ops;
}

export const SERVING_PRECISIONS = ['auto', 'fp32', 'int8'] as const;
export type ServingPrecisionOption = (typeof SERVING_PRECISIONS)[number];

/**
 * 16 plans: a service usually sends one or two context shapes, so 16 leaves room for several
 * callers while bounding the sessions to ~16 × 8.6 MB ≈ 140 MB at the paper shape, small beside a
 * paper-shape model's ~420 MB resident once loaded, on a 2,048 MB Lambda.
 */
export const DEFAULT_PLAN_CACHE_SIZE = 16;

/** Plan cache counters since the model was loaded (hits, misses, evictions) and its state now. */
export interface PlanCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  readonly size: number;
  readonly capacity: number;
}

/** A plan held for one use: `release` once done with it (an evicted plan is freed at its last release). */
export interface PlanLease {
  readonly plan: SplitPlan;
  /** Whether the plan was already cached (built or being built) when asked for. */
  readonly hit: boolean;
  release(): void;
}

/** One cached plan: its build, how many uses are running on it, and whether it has left the cache. */
interface PlanEntry {
  readonly promise: Promise<SplitPlan>;
  plan: SplitPlan | undefined;
  leases: number;
  evicted: boolean;
  disposed: boolean;
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

/**
 * The probabilities of logits `z`, in place, after checking every logit is finite. Checked on the
 * logits, not the probabilities: the sigmoid turns ±Infinity into exactly 1 or 0, a score that
 * looks real (an infinite weight served `"scores":[1]`), and only NaN would survive it.
 * @param what what one score is, for the message ('candidate' online, 'row' in batch scoring)
 * @throws NonFiniteScoresError naming how many and the first index
 */
function probabilities(z: Float32Array, what: 'candidate' | 'row'): Float32Array {
  const { count, first } = countNonFinite(z);
  if (count > 0)
    throw new NonFiniteScoresError(
      `${count} of ${z.length} scores are not finite (first: ${what} ${first}, logit ${z[first]}): the model holds a NaN or infinite weight in a table, or its tower produced one`,
      count,
      first,
    );
  for (let i = 0; i < z.length; i++) z[i] = sigmoid(z[i]!);
  return z;
}

/** The table fed for a gathered feature whose table the tower maps itself (never read). */
const NO_TABLE = new Float32Array(0);

export class ServingModel {
  readonly kind: ModelKind;
  readonly wideLayout: WideLayout;
  readonly deepLayout: DeepLayout;
  readonly #bias: number;
  readonly #wide: Float32Array | undefined;
  /** Per embedding feature: its table in memory; undefined for a mapped one not read in (yet). */
  readonly #emb: (Float32Array | undefined)[];
  /** Tables left in the serving file (model/mapped-tables.ts), when the model was read so. */
  readonly #mapped: MappedTables | undefined;
  /** Set once the serving file's path no longer names the checked file: plans stop mapping it. */
  #unmapped = false;
  readonly #embCols: number[];
  /** Per embedding feature: one id per row always (a categorical, not a list). */
  readonly #singleId: boolean[];
  readonly #tower: TowerWeights | undefined;
  readonly #int8: Int8TowerWeights | undefined;
  /** The tower's weights that serve: 'int8' when the int8 tower does. */
  readonly precision: 'fp32' | 'int8';
  /** Features that make up each wide segment (one for a feature, several for a cross). */
  readonly #segmentFeatures: { start: number; end: number; features: readonly string[] }[];
  readonly #options: ServingModelOptions;
  /** Insertion order is recency order: a hit moves its entry to the end, eviction takes the first. */
  readonly #plans = new Map<string, PlanEntry>();
  readonly #entries = new WeakMap<SplitPlan, PlanEntry>();
  readonly #capacity: number;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  /**
   * @param artifact a model read with `readStoredModel(uri, { weightsOnly: true })` (or in full)
   * @example
   *   const model = new ServingModel(await readStoredModel(uri, { weightsOnly: true }));
   *   const plan = await model.plan(new Set(['user_id', 'country']));
   *   const p = await model.scoreSplit(plan, userBatch, itemBatch);
   */
  constructor(
    artifact: Pick<StoredModel, 'manifest' | 'transforms' | 'state' | 'int8Tower' | 'mappedTables'>,
    options: ServingModelOptions = {},
  ) {
    const { transforms, state, manifest } = artifact;
    this.#mapped = artifact.mappedTables;
    this.kind = manifest.kind;
    this.wideLayout = transforms.wideLayout;
    this.deepLayout = transforms.deepLayout;
    this.#options = options;
    const cap = options.planCacheSize ?? DEFAULT_PLAN_CACHE_SIZE;
    if (!Number.isInteger(cap) || cap < 1) throw new ScoringError(`planCacheSize must be a positive integer, got ${cap}`);
    this.#capacity = cap;
    this.#bias = state.bias.weights[0]!;
    this.#wide = manifest.kind !== 'deep' ? state.wide?.weights : undefined;
    const deep = manifest.kind !== 'wide';
    this.#emb = deep
      ? this.deepLayout.embeddings.map((e) => {
          const t = state.embeddings.get(e.feature) ?? this.#mapped?.tables.get(e.feature);
          if (!t || t.rows !== e.vocabSize || t.dim !== e.dim)
            throw new ScoringError(`model has no ${e.vocabSize}×${e.dim} embedding table for "${e.feature}"`);
          return 'weights' in t ? t.weights : undefined;
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
    const precision = options.precision ?? 'auto';
    if (precision === 'int8' && deep && !artifact.int8Tower)
      throw new ScoringError('int8 serving asked for, but the model was read without an int8 tower (tower-int8.safetensors)');
    this.#int8 = deep && precision !== 'fp32' ? artifact.int8Tower : undefined;
    this.precision = this.#int8 ? 'int8' : 'fp32';
    const ts: TransformState = transforms.toState();
    this.#singleId = this.deepLayout.embeddings.map((e) => ts.features[e.feature]?.kind === 'categorical');
    const crossFeatures = new Map(ts.wide.crosses.map((c) => [c.name, c.features] as const));
    this.#segmentFeatures = this.wideLayout.segments.map((s) => ({
      start: s.offset,
      end: s.offset + s.size,
      features: crossFeatures.get(s.name) ?? [s.name],
    }));
  }

  /**
   * The plan for a split, from the cache or built (ONNX session included). The plan stays usable
   * while it is cached; a caller that may run concurrently with other splits should hold a lease
   * instead (acquirePlan), so that eviction cannot release the session under it.
   */
  async plan(userFeatures: ReadonlySet<string>): Promise<SplitPlan> {
    const lease = this.acquirePlan(userFeatures);
    try {
      return (await lease).plan;
    } finally {
      (await lease.catch(() => undefined))?.release();
    }
  }

  /**
   * The plan for a split, held until `release()`: an evicted plan's session is released only
   * after its last lease ends. The lease is taken synchronously, before the plan is built.
   */
  acquirePlan(userFeatures: ReadonlySet<string>): Promise<PlanLease> {
    const key = [...userFeatures].sort().join('\u0000');
    let entry = this.#plans.get(key);
    const hit = entry !== undefined;
    if (entry) {
      this.#hits++;
      this.#plans.delete(key);
      this.#plans.set(key, entry);
    } else {
      this.#misses++;
      const promise = this.#buildPlan(key, userFeatures);
      const e: PlanEntry = { promise, plan: undefined, leases: 0, evicted: false, disposed: false };
      entry = e;
      promise.then(
        (plan) => {
          e.plan = plan;
          this.#entries.set(plan, e);
          if (e.evicted && e.leases === 0) this.#free(e);
        },
        // A plan that fails to build (e.g. ORT refused) must not stay cached as a rejection.
        () => {
          if (this.#plans.get(key) === e) this.#plans.delete(key);
        },
      );
      this.#plans.set(key, e);
      this.#evictOverflow();
    }
    const e = entry;
    e.leases++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      e.leases--;
      if (e.evicted && e.leases === 0) this.#free(e);
    };
    return e.promise.then(
      (plan) => ({ plan, hit, release }),
      (err: unknown) => {
        release();
        throw err;
      },
    );
  }

  /**
   * Takes over the plans `from` has built (their ONNX sessions included), as if built here. For a
   * cold start only: `from` must be a model of the same manifest whose tower weights are
   * byte-identical to this one's (Scorer builds it from the tower read ahead of the checked file
   * and compares the bytes first); its other weights are never read by a plan. Taken plans leave
   * `from`, so disposing it afterwards frees only what was not taken.
   */
  adoptPlans(from: ServingModel): void {
    for (const [key, e] of from.#plans) {
      if (!e.plan || e.disposed || e.evicted || this.#plans.has(key)) continue;
      from.#plans.delete(key);
      this.#plans.set(key, e);
      this.#entries.set(e.plan, e);
    }
    this.#evictOverflow();
  }

  /** Counters since load, and the cache's size now. */
  planCacheStats(): PlanCacheStats {
    return { hits: this.#hits, misses: this.#misses, evictions: this.#evictions, size: this.#plans.size, capacity: this.#capacity };
  }

  #evictOverflow(): void {
    while (this.#plans.size > this.#capacity) {
      const [key, e] = this.#plans.entries().next().value!;
      this.#plans.delete(key);
      this.#evictions++;
      e.evicted = true;
      if (e.leases === 0) this.#free(e);
    }
  }

  /** Releases a plan's session once it is built (a plan still building is freed when it resolves). */
  #free(e: PlanEntry): void {
    if (e.disposed || !e.plan) return;
    e.disposed = true;
    e.plan.tower?.dispose();
  }

  /**
   * Probabilities Float32Array [B] for B candidates sharing one user context.
   * @param user EncodedBatch of 1 row; only the user features' parts are read
   * @param items EncodedBatch of B rows; only the item features' parts (and mixed crosses) are read
   */
  async scoreSplit(plan: SplitPlan, user: EncodedBatch, items: EncodedBatch): Promise<Float32Array> {
    return probabilities(await this.#heldLogits(plan, user, items), 'candidate');
  }

  /** The logits of #logits, holding the plan while it runs. */
  async #heldLogits(plan: SplitPlan, user: EncodedBatch, items: EncodedBatch): Promise<Float32Array> {
    const e = this.#entries.get(plan);
    if (e?.disposed) throw new ScoringError('this plan was evicted from the plan cache and released; get it again with acquirePlan()');
    // Hold the plan while it runs, so an eviction meanwhile waits for this run to end.
    if (e) e.leases++;
    try {
      return await this.#logits(plan, user, items);
    } finally {
      if (e) {
        e.leases--;
        if (e.evicted && e.leases === 0) this.#free(e);
      }
    }
  }

  /** Logits Float32Array [B] (wide + deep + bias, before the sigmoid) for scoreSplit's inputs. */
  async #logits(plan: SplitPlan, user: EncodedBatch, items: EncodedBatch): Promise<Float32Array> {
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
    return out;
  }

  /**
   * Probabilities for rows that each carry all their features (batch scoring), run through the
   * tower `rowsPerRun` rows at a time: at the paper shape a 64k-row chunk would otherwise need
   * ~0.3 GB for X and as much again per hidden layer.
   */
  async scoreRows(batch: EncodedBatch, rowsPerRun = ROWS_PER_RUN): Promise<Float32Array> {
    const { plan, release } = await this.acquirePlan(new Set());
    try {
      // Logits of every run first, checked once: the error counts the whole batch's bad rows.
      if (batch.size <= rowsPerRun) return probabilities(await this.#heldLogits(plan, batch, batch), 'row');
      const out = new Float32Array(batch.size);
      for (let start = 0; start < batch.size; start += rowsPerRun) {
        const part = sliceBatch(batch, start, Math.min(batch.size, start + rowsPerRun));
        out.set(await this.#heldLogits(plan, part, part), start);
      }
      return probabilities(out, 'row');
    } finally {
      release();
    }
  }

  /**
   * Releases every plan's session now (plans still building are released when they resolve) and
   * closes the mapped tables' file, if any.
   */
  dispose(): void {
    for (const e of this.#plans.values()) {
      e.evicted = true;
      this.#free(e);
    }
    this.#plans.clear();
    this.#mapped?.close();
  }

  /** Bytes of the embedding tables left in the serving file (mapped, not copied); 0 when none. */
  get mappedTableBytes(): number {
    let bytes = 0;
    for (const t of this.#mapped?.tables.values() ?? []) bytes += t.rows * t.dim * 4;
    return bytes;
  }

  #stopMapping(why: string): void {
    this.#unmapped = true;
    this.#options.log?.(`${why}: new plans read its tables into memory from the file as loaded`);
  }

  /** Feature f's whole table in memory: a mapped one is read in once, for the paths that need it all. */
  #table(f: number): Float32Array {
    const t = this.#emb[f];
    if (t) return t;
    const read = this.#mapped!.readTable(this.deepLayout.embeddings[f]!.feature);
    this.#emb[f] = read;
    return read;
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
      const weights = this.#tower;
      const mapped = this.#mapped;
      const build = (mapTables: boolean) =>
        createSplitTower(
          itemRows.length === 0 ? 'js' : (o.backend ?? 'auto'),
          weights,
          {
            itemRows,
            userRows: Int32Array.from(userCols),
            gathered: gatheredEmb.map((f) => {
              const { feature, vocabSize, dim } = layout.embeddings[f]!;
              const at = mapTables && !this.#emb[f] ? mapped?.tables.get(feature) : undefined;
              return {
                vocab: vocabSize,
                dim,
                ...(at && mapped ? { external: { location: mapped.fileName, offset: at.byteOffset, length: at.rows * at.dim * 4 } } : {}),
              };
            }),
            ...(mapped && mapTables ? { externalDataFolder: mapped.folder } : {}),
            ...(o.intraOpNumThreads !== undefined ? { intraOpNumThreads: o.intraOpNumThreads } : {}),
            ...(o.allowSpinning !== undefined ? { allowSpinning: o.allowSpinning } : {}),
            ...(this.#int8 ? { int8: this.#int8, ...(o.int8Ops ? { int8Ops: o.int8Ops } : {}) } : {}),
          },
          o.log,
        );
      if (mapped && !this.#unmapped) {
        // ONNX Runtime opens the file by path: it must still be the file that was checked, after
        // the session is built too. If it is not (a model saved over this one's folder while it
        // serves), this plan and every later one read the tables in from the descriptor opened at
        // load, which is still the checked file, as a copy in memory would have served them.
        let why = `${mapped.path} is no longer the file this model was loaded from`;
        if (mapped.unchanged()) {
          try {
            tower = await build(true);
          } catch (e) {
            // ONNX Runtime would not map it (a file system without mmap, say): copy the tables as
            // a model read from S3 does. A tower it refuses for itself is refused again below.
            if (mapped.unchanged()) why = `ONNX Runtime could not map ${mapped.path} (${(e as Error).message})`;
          }
        }
        if (tower?.mapsTables && !mapped.unchanged()) {
          tower.dispose();
          tower = undefined;
        }
        if (!tower) this.#stopMapping(why);
      }
      tower ??= await build(false);
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
      const input = user.embeddingInputs[f]!;
      const table = this.#emb[f];
      if (table) poolInto(x, c, table, spec.dim, spec.combiner, input, 0);
      else {
        // A mapped table: only the user's rows are read, in order, and pooled as from the table.
        const start = input.offsets[0]!;
        const end = input.offsets[1]!;
        const rows = this.#mapped!.readRows(spec.feature, input.ids, start, end);
        const local = { offsets: Int32Array.of(0, end - start), ids: Int32Array.from({ length: end - start }, (_, k) => k) };
        poolInto(x, c, rows, spec.dim, spec.combiner, local, 0);
      }
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
      return { table: plan.tower!.mapsTables && !this.#emb[f] ? NO_TABLE : this.#table(f), ids };
    });
    const Dr = plan.tower!.restDim;
    const x = new Float32Array(B * Dr);
    // Feature by feature: one table at a time keeps its rows' cache and TLB entries warm.
    let c = 0;
    for (const f of plan.pooledEmb) {
      const spec = this.deepLayout.embeddings[f]!;
      const table = this.#table(f);
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
