/**
 * The Scorer: a model loaded for serving plus the request path around it.
 *
 *   const scorer = await Scorer.load('s3://models/app/current');
 *   const res = await scorer.score({ context: { user: 'u1' }, candidates: [{ item: 'i1' }, { item: 'i2' }], topK: 1 });
 *   // { modelVersion: 'm-2026…', scores: [0.12, 0.31], ranked: [{ index: 1, score: 0.31 }] }
 *
 * Loading goes through the one model loader (readStoredModel, weights only) and is all-or-nothing: a
 * Scorer exists only once every file has been read and checked and the default tower session has
 * opened, so a failed load serves nothing. Loaded scorers are cached by folder and manifest.
 */
import type { RowChunk } from '../data/row-chunk.ts';
import type { TransformState } from '../features/state.ts';
import { FeatureTransforms } from '../features/transforms.ts';
import type { EncodedBatch } from '../features/encoded-batch.ts';
import { type ModelManifest, readManifest, readManifestDocument } from '../model/manifest.ts';
import { INT8_TOWER_FILE, mapServingTablesUnchecked, readServingTowerUnchecked, sameTowerBytes } from '../model/artifact.ts';
import type { SparseTable } from '../model/sparse/sparse-table.ts';
import { readStoredModel, type StoredModel } from '../model/stored-model.ts';
import type { TowerState } from '../model/tower/tower.ts';
import { DataError } from '../data/errors.ts';
import { type MappedTables, mapsTablesByDefault } from '../model/mapped-tables.ts';
import { preloadOnnxRuntime } from './create-split-tower.ts';
import { JsSplitTower } from './js-split-tower.ts';
import { NonFiniteScoresError, RequestError, ScoringError } from './errors.ts';
import { type AnyScoreRequest, buildColumns, clip, isColumnar, listing, parseEnvelope, type ScoreResponse } from './request.ts';
import { type PlanCacheStats, ServingModel, type ServingModelOptions } from './serving-model.ts';
import { asColumnar, warmUpRequest } from './warm-up.ts';

export interface ScorerOptions extends ServingModelOptions {
  /** Most candidates per request. @default 1000 */
  readonly maxCandidates?: number;
  /** Longest string a feature value may be. @default DEFAULT_MAX_STRING_LENGTH (1024) */
  readonly maxStringLength?: number;
  /** Most elements in one list value; a longer list is refused (400). @default DEFAULT_MAX_LIST_LENGTH (100,000) */
  readonly maxListLength?: number;
  /** Reuse a cached scorer of the same model id. @default true */
  readonly cache?: boolean;
  /**
   * Open the batch split's tower session during the load, so a model the backend cannot run
   * fails the load instead of the first request. Online requests open their own split's session
   * on first use, so a cold start that only serves requests skips this. @default false
   */
  readonly warmBatchPlan?: boolean;
  /**
   * The only features a request may give in `context` (a fixed set for this deployment). A
   * request with any other context feature is a 400, and a listed feature absent from the
   * context is a missing value there (and may not be given per candidate), so every online
   * request uses the same split: one plan, which no caller can multiply. Unset, any model
   * feature may be context, and the plan cache's LRU cap alone bounds memory. @default unset
   */
  readonly contextFeatures?: readonly string[];
  /**
   * Leave a local model's large embedding tables in its serving file, hashed and checked as
   * always, for ONNX Runtime to memory-map (model/mapped-tables.ts): a cold start then skips
   * copying them into fresh memory, and processes serving the model share one copy in the page
   * cache. (The plain-JS tower reads a mapped table into memory when it first needs it whole.)
   * Ignored for S3 models. @default true for local models, unless WDP_MAP_TABLES=0
   */
  readonly mapTables?: boolean;
}

/** Milliseconds spent in each stage of one request (Scorer.score fills them when given). */
export interface RequestTimings {
  /** Envelope, cells, the training transforms: bytes-side work before the model. */
  validateEncodeMs: number;
  /** Plan lookup and the model (wide, embeddings, tower, sigmoid). */
  modelMs: number;
  /** Scores to numbers and the ranking. */
  rankMs: number;
}

/** Whether candidate a ranks before b: higher score, then lower index. */
function before(p: Float32Array, a: number, b: number): boolean {
  const d = p[a]! - p[b]!;
  return d > 0 || (d === 0 && a < b);
}

/**
 * The best `topK` (default all) by descending score, ties by index. When K is small against B
 * (the usual "top 10 of 1000"), a bounded heap selects them in O(B log K) and only K are sorted;
 * otherwise one typed array of sort keys is sorted natively (rankBySortKey). Either way no object
 * is made per candidate, only per ranked entry.
 */
export function rank(p: Float32Array, topK: number | undefined): { index: number; score: number }[] {
  const B = p.length;
  const k = Math.min(topK ?? B, B);
  let order: Uint32Array;
  if (k * 8 <= B) {
    // heap[0] is the worst of the best k so far.
    const heap = new Uint32Array(k);
    let size = 0;
    const down = (at: number) => {
      for (;;) {
        const l = 2 * at + 1;
        if (l >= size) return;
        const r = l + 1;
        const worse = r < size && before(p, heap[l]!, heap[r]!) ? r : l;
        if (!before(p, heap[at]!, heap[worse]!)) return;
        const t = heap[at]!;
        heap[at] = heap[worse]!;
        heap[worse] = t;
        at = worse;
      }
    };
    for (let i = 0; i < B; i++) {
      if (size < k) {
        let at = size++;
        heap[at] = i;
        while (at > 0) {
          const parent = (at - 1) >> 1;
          if (!before(p, heap[parent]!, heap[at]!)) break;
          const t = heap[at]!;
          heap[at] = heap[parent]!;
          heap[parent] = t;
          at = parent;
        }
      } else if (before(p, i, heap[0]!)) {
        heap[0] = i;
        down(0);
      }
    }
    order = heap;
  } else if (B <= SORT_KEY_INDEX) {
    return rankBySortKey(p, k);
  } else {
    order = new Uint32Array(B);
    for (let i = 0; i < B; i++) order[i] = i;
  }
  order.sort((a, b) => p[b]! - p[a]! || a - b);
  const ranked = new Array<{ index: number; score: number }>(k);
  for (let i = 0; i < k; i++) ranked[i] = { index: order[i]!, score: p[order[i]!]! };
  return ranked;
}

/** Indices below this fit beside a float32's 32 bits in one float64 sort key (32 + 21 = 53 bits). */
const SORT_KEY_INDEX = 2 ** 21;

/**
 * The best k of all B by one native sort of Float64Array keys, with no comparator called from
 * C++ (measured 0.04 vs 0.14 ms at 1000 candidates): key = (descending order of the score's
 * float32 bits) · 2^21 + index, exact in a float64, so ascending keys are descending scores,
 * ties by index.
 */
function rankBySortKey(p: Float32Array, k: number): { index: number; score: number }[] {
  const B = p.length;
  const bits = new Uint32Array(B);
  const f = new Float32Array(bits.buffer);
  f.set(p);
  const keys = new Float64Array(B);
  for (let i = 0; i < B; i++) {
    // Float bits as an unsigned order (negatives flipped, -0 as +0), then reversed.
    const b = bits[i]! === 0x80000000 ? 0 : bits[i]!;
    const ascending = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
    keys[i] = (0xffffffff - ascending) * SORT_KEY_INDEX + i;
  }
  keys.sort();
  const ranked = new Array<{ index: number; score: number }>(k);
  for (let i = 0; i < k; i++) {
    const index = keys[i]! % SORT_KEY_INDEX;
    ranked[i] = { index, score: p[index]! };
  }
  return ranked;
}

/**
 * The request with exactly `fixed` as its context: other context features are refused, and
 * listed ones it lacks become null there (a value missing for every candidate either way, so the
 * scores are those of the request as sent).
 */
function fixContext(req: AnyScoreRequest, fixed: ReadonlySet<string>): AnyScoreRequest {
  const other = Object.keys(req.context).filter((n) => !fixed.has(n));
  if (other.length > 0)
    throw new RequestError(
      `context feature(s) not accepted by this deployment: ${listing(other.map((n) => `context.${clip(n)}`))} (context may hold ${listing([...fixed])})`,
    );
  const context: Record<string, unknown> = {};
  for (const n of fixed) {
    if (Object.hasOwn(req.context, n)) continue;
    const i = isColumnar(req) ? (Object.hasOwn(req.candidates, n) ? 0 : -1) : req.candidates.findIndex((c) => Object.hasOwn(c, n));
    if (i >= 0) throw new RequestError(`candidates[${i}].${n}: ${n} is a context feature in this deployment; give it once in context`);
    context[n] = null;
  }
  return { ...req, context: { ...context, ...req.context } };
}

/**
 * Cached scorers, so a process that loads the same model again (the workflow's dry run, the int8
 * check, batch scoring) does not read and hash it again; kept small because each holds a whole
 * model in memory. Keyed by the folder's URI and its manifest's sha256, not the model id: a copy
 * of a model (a registry copy, a copy with one flipped byte) has the same id, and only reading
 * that folder checks its files. The manifest is read on every load, so a URI re-pointed at
 * another model (or a folder rewritten with a new manifest) misses and loads afresh.
 */
const cache = new Map<string, Promise<Scorer>>();
const MAX_CACHED_MODELS = 2;
/** Made-up requests Scorer.warmUp scores by default: enough for the paper shape's model runs to settle (see warmUp). */
export const WARM_UP_REQUESTS = 8;
/** Scorer.warmUp stops after the request that passes this many ms (a huge maxCandidates, a slow host). */
export const WARM_UP_BUDGET_MS = 3000;
/**
 * Most candidates in a made-up request: the budget is checked between requests, and the first
 * one of a maxCandidates of 20 million (`wdp serve --max-candidates 20000000 --warm-up`) was
 * still being built and scored after 60 s, at 2.4 GB. Ten times the default limit; a larger
 * request's first run pays its own ONNX Runtime allocations.
 */
export const WARM_UP_MAX_CANDIDATES = 10_000;

export class Scorer {
  readonly uri: string;
  readonly manifest: ModelManifest;
  /** The model id, reported as `modelVersion` in every response. */
  readonly modelVersion: string;
  readonly transforms: FeatureTransforms;
  readonly model: ServingModel;
  readonly maxCandidates: number;
  /** Columns passed through by batch scoring (config data.idColumns). */
  readonly idColumns: readonly string[];
  readonly #state: TransformState;
  readonly #contextFeatures: ReadonlySet<string> | undefined;
  /** The cell limits buildColumns applies (only those given: the rest take its defaults). */
  readonly #cellLimits: { maxStringLength?: number; maxListLength?: number };

  private constructor(
    uri: string,
    manifest: ModelManifest,
    transforms: FeatureTransforms,
    model: ServingModel,
    idColumns: readonly string[],
    options: ScorerOptions,
  ) {
    this.uri = uri;
    this.manifest = manifest;
    this.modelVersion = manifest.modelId;
    this.transforms = transforms;
    this.model = model;
    this.idColumns = idColumns;
    this.maxCandidates = options.maxCandidates ?? 1000;
    this.#cellLimits = {
      ...(options.maxStringLength !== undefined ? { maxStringLength: options.maxStringLength } : {}),
      ...(options.maxListLength !== undefined ? { maxListLength: options.maxListLength } : {}),
    };
    this.#state = transforms.toState();
    const fixed = options.contextFeatures;
    if (fixed) {
      const notFeatures = fixed.filter((f) => !Object.hasOwn(this.#state.features, f));
      if (notFeatures.length > 0)
        throw new ScoringError(
          `contextFeatures names what is not a feature of model ${manifest.modelId}: ${listing(notFeatures.map((f) => clip(f)))}`,
        );
    }
    this.#contextFeatures = fixed ? new Set(fixed) : undefined;
  }

  /**
   * Loads (or returns the cached) scorer for the model folder at `uri`.
   * @throws ModelLoadError when any file is missing, truncated or corrupted (nothing is cached)
   */
  static async load(uri: string, options: ScorerOptions = {}): Promise<Scorer> {
    if (options.cache === false) return Scorer.#open(uri, options);
    // The manifest is small; reading it first lets a re-pointed URI pick up a new version.
    const { manifest, sha256 } = await readManifestDocument(uri);
    // Keyed by the options too: a scorer opened with another backend, plan cap or context set
    // must not be handed to a caller that asked for different ones.
    // (Whether it serves int8 follows from the manifest and the options: a registry copy whose
    // int8 tower Validate refused lists no tower-int8.safetensors, so its manifest differs.)
    const key = `${uri}\u0000${sha256}\u0000${optionsKey(options)}`;
    let p = cache.get(key);
    if (!p) {
      p = Scorer.#open(uri, options, manifest);
      cache.set(key, p);
      p.catch(() => {
        if (cache.get(key) === p) cache.delete(key);
      });
      while (cache.size > MAX_CACHED_MODELS) cache.delete(cache.keys().next().value!);
    }
    return p;
  }

  /** Forgets cached scorers (tests). */
  static clearCache(): void {
    cache.clear();
  }

  static async #open(uri: string, options: ScorerOptions, manifest?: ModelManifest): Promise<Scorer> {
    const m = manifest ?? (await readManifest(uri));
    if (options.precision === 'int8' && m.tower && !(INT8_TOWER_FILE in m.files))
      throw new ScoringError(`int8 serving asked for, but model ${uri} lists no ${INT8_TOWER_FILE} (make one with \`wdp quantize\`)`);
    // ONNX Runtime's native library loads on this thread while the weights are read and hashed
    // on another (storage/read-worker.ts), instead of after them.
    if ((options.backend ?? 'auto') !== 'js' && m.tower)
      preloadOnnxRuntime({
        ...(options.intraOpNumThreads !== undefined ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
        ...(options.allowSpinning !== undefined ? { allowSpinning: options.allowSpinning } : {}),
      });
    const int8 = readsInt8Tower(m, options);
    const mapTables = options.mapTables ?? mapsTablesByDefault(uri);
    // A deployment with fixed context features has one online plan: its ONNX session is built
    // from the tower read ahead (unchecked) while the whole weights file is read and checked, and
    // kept only if that tower is byte-identical to the checked one (and its mapped tables, if any,
    // the checked load's).
    const ahead = options.contextFeatures && !int8 ? planAhead(uri, m, options, options.contextFeatures, mapTables) : undefined;
    let artifact: StoredModel;
    try {
      artifact = await readStoredModel(uri, { weightsOnly: true, manifest: m, int8Tower: int8, mapTables });
    } catch (e) {
      void ahead?.then((a) => a?.model.dispose());
      throw e;
    }
    let model: ServingModel;
    try {
      model = new ServingModel(artifact, options);
    } catch (e) {
      artifact.mappedTables?.close();
      void ahead?.then((a) => a?.model.dispose());
      throw e;
    }
    const early = await ahead;
    if (early) {
      const sameTables =
        early.mapped && artifact.mappedTables ? early.mapped.sameAs(artifact.mappedTables) : !early.mapped && !artifact.mappedTables;
      if (artifact.state.tower && sameTowerBytes(early.tower, artifact.state.tower) && sameTables) model.adoptPlans(early.model);
      early.model.dispose();
    }
    try {
      if (options.warmBatchPlan) await model.plan(new Set());
      return new Scorer(uri, artifact.manifest, artifact.transforms, model, artifact.config.data.idColumns, options);
    } catch (e) {
      // A scorer that is not returned must not keep its sessions (a plan built ahead included).
      model.dispose();
      throw e;
    }
  }

  /**
   * Validates and scores one request.
   * @throws RequestError with a message for the caller
   */
  async score(body: unknown, timings?: RequestTimings): Promise<ScoreResponse> {
    const t0 = timings ? performance.now() : 0;
    const envelope = parseEnvelope(body, { maxCandidates: this.maxCandidates });
    const req = this.#contextFeatures ? fixContext(envelope, this.#contextFeatures) : envelope;
    const cols = buildColumns(req, this.#state, this.#cellLimits);
    let user: EncodedBatch;
    let items: EncodedBatch;
    try {
      user = this.transforms.encode(cols.contextChunk, { withLabels: false }).batch;
      // Only the parts that read an item feature: the user's own are in `user`, once.
      items = this.transforms.encode(cols.candidateChunk, { withLabels: false, features: cols.itemFeatures }).batch;
    } catch (e) {
      // Validation should have caught every bad cell; keep any that slips through a 400.
      // Its message may quote a cell, which is caller input: clip it as request.ts clips names.
      if (e instanceof DataError) throw new RequestError(`invalid feature value: ${clip(e.message, 300)}`, { cause: e });
      throw e;
    }
    const t1 = timings ? performance.now() : 0;
    const { plan, release } = await this.model.acquirePlan(cols.userFeatures);
    let p: Float32Array;
    try {
      p = await this.model.scoreSplit(plan, user, items);
    } finally {
      release();
    }
    const t2 = timings ? performance.now() : 0;
    const res: ScoreResponse = { modelVersion: this.modelVersion, scores: Array.from(p), ranked: rank(p, req.topK) };
    if (timings) {
      timings.validateEncodeMs = t1 - t0;
      timings.modelMs = t2 - t1;
      timings.rankMs = performance.now() - t2;
    }
    return res;
  }

  /**
   * Probabilities for rows that carry every feature (batch scoring); bad rows follow `onBadRow`.
   * @throws NonFiniteScoresError when any score is not finite (naming the chunk's row): the batch
   *   fails rather than write NaN
   */
  async scoreChunk(chunk: RowChunk, onBadRow: 'error' | 'skip' = 'error'): Promise<{ scores: Float32Array; keptRows: Int32Array }> {
    const { batch, keptRows } = this.transforms.encode(chunk, { withLabels: false, onBadRow });
    if (batch.size === 0) return { scores: new Float32Array(0), keptRows };
    try {
      return { scores: await this.model.scoreRows(batch), keptRows };
    } catch (e) {
      // The model indexes the rows it scored; rows skipped by `onBadRow` shift that, so name the chunk's row.
      if (e instanceof NonFiniteScoresError) {
        const row = keptRows[e.first]!;
        throw new NonFiniteScoresError(
          `model ${this.modelVersion}: ${e.count} of ${batch.size} rows scored not finite (first: row ${row} of the chunk); ${e.message}`,
          e.count,
          row,
          { cause: e },
        );
      }
      throw e;
    }
  }

  /**
   * Scores made-up requests of `maxCandidates` candidates (at most WARM_UP_MAX_CANDIDATES;
   * src/scoring/warm-up.ts), alternating rows and columns, so that what a scorer's first
   * requests pay (the plan's session, compiling the request path, ONNX Runtime's first
   * allocations, first touches of mapped tables) is paid now. Their context is the fixed
   * `contextFeatures` (the one plan real requests then use), else empty. Several requests, not
   * one: at the paper shape the model's part of the next real request took 21–47 ms after two
   * made-up requests and 14–17 ms after eight (~10 ms warm); the JIT's later tiers and ONNX
   * Runtime's buffers settle over the first handful of runs. They count in planCacheStats like
   * any request.
   * @param options.requests how many made-up requests (@default WARM_UP_REQUESTS)
   * @param options.budgetMs stop after the request that passes this much time (@default WARM_UP_BUDGET_MS)
   * @returns how many were scored, of how many candidates, and how long it took, in ms
   */
  async warmUp(
    options: { readonly requests?: number; readonly budgetMs?: number } = {},
  ): Promise<{ requests: number; candidates: number; ms: number }> {
    const started = performance.now();
    const requests = options.requests ?? WARM_UP_REQUESTS;
    const budget = options.budgetMs ?? WARM_UP_BUDGET_MS;
    const candidates = Math.min(this.maxCandidates, WARM_UP_MAX_CANDIDATES);
    const rows = warmUpRequest(this.#state, this.#contextFeatures, candidates, this.#cellLimits.maxStringLength);
    // Every feature in context leaves the candidates empty objects, which only the rows shape can say.
    const columns = Object.keys(rows.candidates[0] ?? {}).length > 0 ? asColumnar(rows) : rows;
    let done = 0;
    // At least one, however small the budget.
    do {
      await this.score(done % 2 === 0 ? rows : columns);
      done++;
    } while (done < requests && performance.now() - started < budget);
    return { requests: done, candidates, ms: performance.now() - started };
  }

  /** The plan cache's counters (hits, misses, evictions since load) and size, for metrics. */
  planCacheStats(): PlanCacheStats {
    return this.model.planCacheStats();
  }

  dispose(): void {
    this.model.dispose();
  }
}

/**
 * The plan for the split `contextFeatures`, built on a ServingModel whose tower is the serving
 * file's tower read ahead of the check (readServingTowerUnchecked) and whose tables are empty
 * placeholders (a plan never reads them), then run once on zeros. Undefined when anything goes
 * wrong: the checked load then builds the plan itself and meets any real problem there.
 */
async function planAhead(
  uri: string,
  manifest: ModelManifest,
  options: ScorerOptions,
  contextFeatures: readonly string[],
  mapTables: boolean,
): Promise<{ model: ServingModel; tower: TowerState; mapped: MappedTables | undefined } | undefined> {
  let mapped: MappedTables | undefined;
  try {
    if ((options.backend ?? 'auto') === 'js' || !manifest.tower) return undefined;
    const tower = await readServingTowerUnchecked(uri, manifest);
    if (!tower) return undefined;
    // The tables the checked load will map, mapped here too, so the session built ahead is the one it needs.
    mapped = mapTables ? await mapServingTablesUnchecked(uri, manifest) : undefined;
    const transforms = FeatureTransforms.fromState(manifest.transforms);
    const embeddings = new Map<string, SparseTable>(
      transforms.deepLayout.embeddings
        .filter((e) => !mapped?.tables.has(e.feature))
        .map((e) => [e.feature, { rows: e.vocabSize, dim: e.dim, weights: new Float32Array(0), slots: {} }]),
    );
    const bias: SparseTable = { rows: 1, dim: 1, weights: new Float32Array(1), slots: {} };
    const model = new ServingModel(
      { manifest, transforms, state: { bias, embeddings, tower }, ...(mapped ? { mappedTables: mapped } : {}) },
      { ...options, log: () => undefined },
    );
    try {
      const plan = await model.plan(new Set(contextFeatures));
      // One run on zeros at the largest request size (1-row tables): ONNX Runtime's first run
      // allocates its activation buffers (~7 MB at the paper shape, fresh pages) and sets up its
      // kernels; done here, it overlaps the read instead of delaying the first request.
      // (Not the plain-JS fallback: on its tower this run would cost seconds of this thread.)
      // A table the session maps is gathered at rows 64 KiB apart instead of row 0: each such
      // touch maps a block of the file (the kernel's fault-around), so the first request does not
      // take those page faults (~65 ms at the paper shape on this project's VM).
      if (plan.tower && !(plan.tower instanceof JsSplitTower) && plan.itemCols.length > 0) {
        const B = options.maxCandidates ?? 1000;
        const gathered = plan.gatheredEmb.map((f) => {
          const { feature, dim, vocabSize } = transforms.deepLayout.embeddings[f]!;
          const ids = new Int32Array(B);
          if (mapped?.tables.has(feature)) {
            const stride = Math.max(1, Math.floor(65536 / (dim * 4)));
            for (let i = 0; i < B; i++) ids[i] = Math.min(i * stride, vocabSize - 1);
          }
          return { table: new Float32Array(dim), ids };
        });
        await plan.tower.forward(new Float32Array(plan.tower.userDim), { gathered, rest: new Float32Array(B * plan.tower.restDim) }, B);
      }
    } catch {
      model.dispose();
      return undefined;
    }
    return { model, tower, mapped };
  } catch {
    mapped?.close();
    return undefined;
  }
}

/**
 * Whether loading reads the int8 tower: when forced ('int8'), or by default when the model's
 * config asks for int8 serving and its folder lists the file (the workflow's Promote leaves the
 * file out of the registry copy when Validate refused it).
 */
function readsInt8Tower(manifest: ModelManifest, options: ScorerOptions): boolean {
  const precision = options.precision ?? 'auto';
  if (precision === 'fp32' || !(INT8_TOWER_FILE in manifest.files)) return false;
  return precision === 'int8' || manifest.config.serving?.quantize === 'int8';
}

/** The options that shape a scorer, as a stable string (the log callback and `cache` do not). */
function optionsKey(o: ScorerOptions): string {
  return JSON.stringify([
    o.backend ?? null,
    o.intraOpNumThreads ?? null,
    o.allowSpinning ?? null,
    o.planCacheSize ?? null,
    o.precision ?? null,
    o.int8Ops ?? null,
    o.maxCandidates ?? null,
    o.maxStringLength ?? null,
    o.maxListLength ?? null,
    o.warmBatchPlan ?? null,
    o.contextFeatures ? [...o.contextFeatures].sort() : null,
    o.mapTables ?? null,
  ]);
}
