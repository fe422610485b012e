/**
 * The feature transforms: fitted once on training data, saved in the model (`toState`), and run
 * by the same `encode` in training and in serving, so there is no train/serve skew.
 *
 * Encoding turns a RowChunk (columns of raw values) into an EncodedBatch (CSR ids for the wide
 * part and each embedding, quantile-normalised numerics for the tower).
 */
import { crossName, type WdpConfig } from '../config/schema.ts';
import type { ColumnKind, ColumnValues, RowChunk } from '../data/row-chunk.ts';
import { cellToNumber, cellToToken } from '../data/cells.ts';
import { DataError } from '../data/errors.ts';
import type { DeepLayout, EmbeddingInput, EmbeddingSpec, EncodedBatch, WideLayout, WideSegment } from './encoded-batch.ts';
import { UnknownFeatureError } from './errors.ts';
import { MISSING_TOKEN, bucketOf, combineHashes, crossComponentHash, crossComponentOf, featureSeed } from './hashing.ts';
import { ReservoirSampler, bucketIndex, quantileCuts, quantileNormalise, samplerSeed } from './quantiles.ts';
import {
  TRANSFORM_FORMAT_VERSION,
  parseTransformState,
  type FeatureState,
  type NumericFeatureState,
  type TransformState,
} from './state.ts';
import { VocabCounter, Vocabulary } from './vocab.ts';
import { fmix32, mixBlock, murmur3 } from '../util/murmur3.ts';

/** A cross of lists emits at most this many ids per example (the cartesian product can explode). */
export const MAX_CROSS_IDS_PER_EXAMPLE = 1024;
/** Seed of the cross hash; the components already carry their feature names. */
const CROSS_SEED = 0x2545f491;
/** Rows per block when filling the wide CSR (keeps a block's output in L1/L2). */
const WIDE_BLOCK_ROWS = 512;

export interface RequiredColumn {
  readonly name: string;
  readonly kind: ColumnKind;
}
export type BadRowPolicy = 'error' | 'skip';

export interface FitOptions {
  /** The previous model's transforms (warm start). */
  readonly parent?: TransformState;
  /**
   * With a parent: refit numeric cut points and wide boundaries anyway. Vocabularies are always
   * refitted. @default false
   */
  readonly refitNumeric?: boolean;
  /** Seeds the reservoir samplers. @default 42 */
  readonly seed?: number;
  /** Called after each chunk with the number of rows read so far. */
  readonly onRows?: (rows: number) => void;
  /** Values sampled per numeric feature for the cut points. @default 100_000 */
  readonly sampleSize?: number;
}

export interface EncodeOptions {
  /** Read the label column and fill `batch.labels`. */
  readonly withLabels: boolean;
  /** @default 'error' */
  readonly onBadRow?: BadRowPolicy;
}

export interface EncodeResult {
  readonly batch: EncodedBatch;
  /** Int32Array [batch.size]: the chunk row (0-based within the chunk) of each encoded example. */
  readonly keptRows: Int32Array;
  /** Rows dropped as bad (only with onBadRow 'skip'). */
  readonly skipped: number;
}

// ---------------------------------------------------------------------------------------------
// Runtime structures (built from the state once; hold reusable scratch arrays for encode).

interface CatRuntime {
  readonly name: string;
  readonly state: Extract<FeatureState, { kind: 'categorical' | 'categorical_list' }>;
  readonly list: boolean;
  readonly maxLength: number;
  readonly vocab: Vocabulary | undefined;
  /** token → id (1..n) for vocabulary features; undefined for hashed ones. */
  readonly vocabIds: ReadonlyMap<string, number> | undefined;
  /** Cross component hash of each vocab id's token (index 0 unused), so known tokens are not re-hashed. */
  readonly vocabXh: Uint32Array;
  readonly hashBuckets: number;
  /** Ids are in [0, size). */
  readonly size: number;
  readonly seed: number;
  /** Some cross uses this feature: fill `xh`. */
  inCross: boolean;
  readonly missingId: number;
  readonly missingXh: number;
  // Scratch, valid for the kept rows of the current encode. Single: ids/xh [m]. List: CSR.
  ids: Int32Array;
  xh: Uint32Array;
  offsets: Int32Array;
}

/**
 * Writes token t's id (and, for crossed features, cross component hash) at position p of the
 * feature's scratch. Vocab features: one Map lookup (an unseen token is hashed only if crossed).
 * Hashed features: one murmur3 serves both the bucket and the cross component. No cache: a
 * token→id cache would grow without bound on high-cardinality hashed ids (user ids) in serving.
 */
function putToken(f: CatRuntime, t: string, p: number): void {
  const vocab = f.vocabIds;
  if (vocab !== undefined) {
    const id = vocab.get(t) ?? 0;
    f.ids[p] = id;
    if (f.inCross) f.xh[p] = id !== 0 ? f.vocabXh[id]! : crossComponentHash(f.seed, murmur3(t));
  } else {
    const h = murmur3(t);
    f.ids[p] = bucketOf(h, f.hashBuckets);
    if (f.inCross) f.xh[p] = crossComponentHash(f.seed, h);
  }
}

interface NumRuntime {
  readonly name: string;
  readonly state: NumericFeatureState;
  readonly cuts: Float64Array;
  readonly boundaries: Float64Array;
  /** Cross component hash of each wide bucket index (the bucket index is the token). */
  readonly xhByBucket: Uint32Array;
  /** Read by a wide segment or a cross (else its bucket is never needed). */
  inWide: boolean;
  // Scratch: values [n chunk rows]; bucket / xh [m kept rows].
  values: Float64Array;
  bucket: Int32Array;
  xh: Uint32Array;
}

type WidePlan =
  | { readonly kind: 'cat'; readonly f: CatRuntime; readonly offset: number }
  | { readonly kind: 'num'; readonly f: NumRuntime; readonly offset: number }
  | {
      readonly kind: 'cross';
      readonly comps: readonly (CatRuntime | NumRuntime)[];
      readonly buckets: number;
      readonly offset: number;
    };

function growI32(a: Int32Array, n: number, keep: number): Int32Array {
  if (a.length >= n) return a;
  const b = new Int32Array(Math.max(n, a.length * 2));
  if (keep > 0) b.set(a.subarray(0, keep));
  return b;
}
function growU32(a: Uint32Array, n: number, keep: number): Uint32Array {
  if (a.length >= n) return a;
  const b = new Uint32Array(Math.max(n, a.length * 2));
  if (keep > 0) b.set(a.subarray(0, keep));
  return b;
}
function growF64(a: Float64Array, n: number): Float64Array {
  return a.length >= n ? a : new Float64Array(Math.max(n, a.length * 2));
}

function isListValue(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}

/** Features the model reads, in config order. */
function referencedFeatures(config: WdpConfig): string[] {
  const used = new Set<string>([
    ...config.wide.features,
    ...config.wide.crosses.flatMap((c) => c.features),
    ...config.deep.embeddings,
    ...config.deep.numeric,
  ]);
  return Object.keys(config.features).filter((n) => used.has(n));
}

function columnKindOf(f: { kind: FeatureState['kind'] }): ColumnKind {
  return f.kind === 'numeric' ? 'numeric' : f.kind === 'categorical' ? 'string' : 'list';
}

function requiredColumnsOf(state: TransformState, withLabel: boolean): RequiredColumn[] {
  const cols: RequiredColumn[] = Object.entries(state.features).map(([name, f]) => ({ name, kind: columnKindOf(f) }));
  if (withLabel) cols.push({ name: state.label, kind: 'label' });
  return cols;
}

function getColumn(chunk: RowChunk, name: string): ColumnValues {
  const col = chunk.columns.get(name);
  if (col === undefined) throw new DataError({ source: chunk.source, column: name }, 'column is missing');
  if (col.length !== chunk.numRows) {
    throw new DataError({ source: chunk.source, column: name }, `column has ${col.length} values for ${chunk.numRows} rows`);
  }
  return col;
}

function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : typeof v === 'bigint' ? `${v}n` : String(v);
}

// ---------------------------------------------------------------------------------------------

/**
 * Fitted feature transforms.
 *
 * @example
 * const columns = FeatureTransforms.requiredColumns(config, false);
 * const t = await FeatureTransforms.fit(config, readLogChunks(files, { columns }));
 * const { batch, skipped } = t.encode(chunk, { withLabels: true, onBadRow: config.data.onBadRow });
 * const saved = JSON.stringify(t.toState()); // … later: FeatureTransforms.fromState(JSON.parse(saved))
 */
export class FeatureTransforms {
  readonly wideLayout: WideLayout;
  readonly deepLayout: DeepLayout;
  readonly #state: TransformState;
  readonly #cats = new Map<string, CatRuntime>();
  readonly #nums = new Map<string, NumRuntime>();
  readonly #wide: WidePlan[] = [];
  readonly #embed: CatRuntime[];
  readonly #deepNum: NumRuntime[];
  readonly #signatures = new Map<string, string>();
  readonly #vocabTokens = new Map<string, readonly string[]>();
  // Per-encode scratch over chunk rows.
  #bad = new Uint8Array(0);
  #labels = new Float32Array(0);
  #crossParts = new Uint32Array(4);
  #crossIdx = new Int32Array(4);

  private constructor(state: TransformState) {
    this.#state = state;
    for (const [name, f] of Object.entries(state.features)) {
      if (f.kind === 'numeric') {
        const seed = featureSeed(name);
        const xhByBucket = new Uint32Array(f.boundaries.length + 1);
        for (let b = 0; b < xhByBucket.length; b++) xhByBucket[b] = crossComponentOf(seed, String(b));
        this.#nums.set(name, {
          name,
          state: f,
          cuts: Float64Array.from(f.quantileCuts),
          boundaries: Float64Array.from(f.boundaries),
          xhByBucket,
          inWide: false,
          values: new Float64Array(0),
          bucket: new Int32Array(0),
          xh: new Uint32Array(0),
        });
        this.#signatures.set(name, `buckets:${f.boundaries.join(',')}`);
      } else {
        const vocab = f.tokens ? new Vocabulary(f.tokens) : undefined;
        const buckets = f.hashBuckets ?? 0;
        const seed = featureSeed(name);
        const vocabXh = new Uint32Array(vocab ? vocab.size : 0);
        for (let id = 1; id < vocabXh.length; id++) vocabXh[id] = crossComponentOf(seed, vocab!.tokens[id - 1]!);
        this.#cats.set(name, {
          name,
          state: f,
          list: f.kind === 'categorical_list',
          maxLength: f.kind === 'categorical_list' ? f.maxLength : 1,
          vocab,
          vocabIds: vocab?.ids,
          vocabXh,
          hashBuckets: buckets,
          size: vocab ? vocab.size : buckets,
          seed,
          inCross: false,
          missingId: vocab ? 0 : bucketOf(murmur3(MISSING_TOKEN), buckets),
          missingXh: crossComponentOf(seed, null),
          ids: new Int32Array(0),
          xh: new Uint32Array(0),
          offsets: new Int32Array(0),
        });
        this.#signatures.set(name, vocab ? 'vocab' : `hash:${buckets}`);
        if (vocab) this.#vocabTokens.set(name, Object.freeze(['', ...vocab.tokens]));
      }
    }

    const segments: WideSegment[] = [];
    let offset = 0;
    for (const name of state.wide.features) {
      const cat = this.#cats.get(name);
      const num = this.#nums.get(name);
      const size = cat ? cat.size : num!.boundaries.length + 1;
      segments.push({ name, offset, size });
      if (num) num.inWide = true;
      this.#wide.push(cat ? { kind: 'cat', f: cat, offset } : { kind: 'num', f: num!, offset });
      offset += size;
    }
    for (const c of state.wide.crosses) {
      segments.push({ name: c.name, offset, size: c.hashBuckets });
      const comps = c.features.map((n) => this.#cats.get(n) ?? this.#nums.get(n)!);
      for (const n of c.features) {
        const cat = this.#cats.get(n);
        if (cat) cat.inCross = true;
        const num = this.#nums.get(n);
        if (num) num.inWide = true;
      }
      this.#wide.push({ kind: 'cross', comps, buckets: c.hashBuckets, offset });
      offset += c.hashBuckets;
      // The cross ids depend on the raw tokens and on numeric components' bucket boundaries.
      const parts = c.features.map((n) => {
        const num = this.#nums.get(n);
        return num ? `${n}[${num.state.boundaries.join(',')}]` : n;
      });
      this.#signatures.set(c.name, `cross:${c.hashBuckets}:${parts.join(',')}`);
    }
    this.wideLayout = Object.freeze({ segments: Object.freeze(segments), size: offset });

    this.#embed = state.deep.embeddings.map((e) => this.#cats.get(e.feature)!);
    this.#deepNum = state.deep.numeric.map((n) => this.#nums.get(n)!);
    const embeddings: EmbeddingSpec[] = state.deep.embeddings.map((e, i) => {
      const c = this.#embed[i]!;
      return {
        feature: e.feature,
        vocabSize: c.size,
        dim: e.dim,
        combiner: c.state.kind === 'categorical_list' ? c.state.combiner : 'sum',
      };
    });
    this.deepLayout = Object.freeze({
      embeddings: Object.freeze(embeddings),
      numeric: Object.freeze([...state.deep.numeric]),
      inputDim: embeddings.reduce((s, e) => s + e.dim, 0) + state.deep.numeric.length,
    });
  }

  /** Rebuilds transforms saved with `toState` (validated: it comes from a file). */
  static fromState(state: unknown): FeatureTransforms {
    return new FeatureTransforms(parseTransformState(state));
  }

  /** A plain JSON-serialisable copy of the fitted state. */
  toState(): TransformState {
    return structuredClone(this.#state);
  }

  /** The columns a chunk must carry for `fit` (withLabel false) without building transforms. */
  static requiredColumns(config: WdpConfig, withLabel: boolean): RequiredColumn[] {
    const cols: RequiredColumn[] = referencedFeatures(config).map((name) => ({ name, kind: columnKindOf(config.features[name]!) }));
    if (withLabel) cols.push({ name: config.label, kind: 'label' });
    return cols;
  }

  /**
   * Fits the transforms in one streaming pass over the chunks: vocabularies (always), and
   * numeric quantile cut points / wide boundaries (from a reservoir sample, unless a warm start
   * takes them from `parent`). The label is not read. Cells that are not valid numbers are left
   * out of the sample; bad rows are otherwise counted as usual (encode applies the bad-row policy).
   */
  static async fit(config: WdpConfig, chunks: AsyncIterable<RowChunk>, opts: FitOptions = {}): Promise<FeatureTransforms> {
    const seed = opts.seed ?? config.training.seed;
    const names = referencedFeatures(config);
    const counters = new Map<string, VocabCounter>();
    const samplers = new Map<string, ReservoirSampler>();
    const features: Record<string, FeatureState> = {};
    const pending = new Map<string, { cuts: number[] | null; boundaries: number[] | null }>();

    for (const name of names) {
      const f = config.features[name]!;
      if (f.kind === 'numeric') {
        const parent = opts.parent && !opts.refitNumeric ? opts.parent.features[name] : undefined;
        const p = parent?.kind === 'numeric' ? parent : undefined;
        // Warm start keeps the parent's cut points only when they mean the same thing.
        const cuts = p && p.quantiles === f.quantiles ? p.quantileCuts : null;
        const boundaries = f.boundaries ?? (p && p.wideBuckets === f.wideBuckets ? p.boundaries : null);
        pending.set(name, { cuts, boundaries });
        if (cuts === null || boundaries === null) {
          samplers.set(
            name,
            new ReservoirSampler({ seed: samplerSeed(seed, name), ...(opts.sampleSize ? { capacity: opts.sampleSize } : {}) }),
          );
        }
      } else if (f.hashBuckets === undefined) {
        counters.set(name, new VocabCounter());
      }
    }

    let rows = 0;
    for await (const chunk of chunks) {
      for (const name of names) {
        const counter = counters.get(name);
        const sampler = samplers.get(name);
        if (!counter && !sampler) continue;
        const col = getColumn(chunk, name) as ArrayLike<unknown>;
        const f = config.features[name]!;
        const n = chunk.numRows;
        if (sampler && f.kind === 'numeric') {
          for (let i = 0; i < n; i++) {
            let v = col[i];
            if (typeof v !== 'number') v = cellToNumber(v as never);
            if (typeof v !== 'number') continue;
            if (Number.isNaN(v)) {
              if (f.default === undefined) continue;
              v = f.default;
            }
            if (Number.isFinite(v)) sampler.add(v as number);
          }
        } else if (counter && f.kind === 'categorical') {
          for (let i = 0; i < n; i++) {
            const v = col[i];
            const t = typeof v === 'string' ? v : cellToToken(v);
            if (t !== null) counter.add(t);
          }
        } else if (counter && f.kind === 'categorical_list') {
          for (let i = 0; i < n; i++) {
            const v = col[i];
            if (isListValue(v)) {
              const len = Math.min(v.length, f.maxLength);
              for (let e = 0; e < len; e++) {
                const el = v[e];
                const t = typeof el === 'string' ? el : cellToToken(el);
                if (t !== null) counter.add(t);
              }
            } else {
              const t = cellToToken(v);
              if (t !== null) counter.add(t);
            }
          }
        }
      }
      rows += chunk.numRows;
      opts.onRows?.(rows);
    }

    for (const name of names) {
      const f = config.features[name]!;
      if (f.kind === 'numeric') {
        const p = pending.get(name)!;
        const sorted = samplers.get(name)?.sorted() ?? new Float64Array(0);
        const nf: NumericFeatureState = {
          kind: 'numeric',
          quantiles: f.quantiles,
          quantileCuts: p.cuts ? [...p.cuts] : quantileCuts(sorted, f.quantiles),
          boundaries: p.boundaries ? [...p.boundaries] : quantileCuts(sorted, f.wideBuckets),
          wideBuckets: f.boundaries ? null : f.wideBuckets,
        };
        if (f.default !== undefined) nf.default = f.default;
        features[name] = nf;
      } else {
        const enc =
          f.hashBuckets !== undefined
            ? { hashBuckets: f.hashBuckets }
            : {
                tokens: [...counters.get(name)!.build({ minCount: f.vocab?.minCount ?? 1, maxSize: f.vocab?.maxSize ?? 1_000_000 }).tokens],
              };
        features[name] =
          f.kind === 'categorical'
            ? { kind: 'categorical', ...enc }
            : { kind: 'categorical_list', ...enc, combiner: f.combiner, maxLength: f.maxLength };
      }
    }

    const state: TransformState = {
      formatVersion: TRANSFORM_FORMAT_VERSION,
      label: config.label,
      features,
      wide: {
        features: [...config.wide.features],
        crosses: config.wide.crosses.map((c) => ({ name: crossName(c), features: [...c.features], hashBuckets: c.hashBuckets })),
      },
      deep: {
        embeddings: config.deep.embeddings.map((feature) => ({
          feature,
          dim: config.deep.embeddingDims[feature] ?? config.deep.defaultEmbeddingDim,
        })),
        numeric: [...config.deep.numeric],
      },
    };
    // Same validation as a state loaded from a file, so fit cannot produce a state fromState rejects.
    return new FeatureTransforms(parseTransformState(state));
  }

  /** What the log reader must supply, in config order (label last). */
  requiredColumns(withLabel: boolean): RequiredColumn[] {
    return requiredColumnsOf(this.#state, withLabel);
  }

  /** The vocabulary of a feature, index = id, index 0 = the OOV slot (''); undefined if hashed/numeric. */
  vocabTokens(feature: string): readonly string[] | undefined {
    return this.#vocabTokens.get(feature);
  }

  /**
   * How a wide segment's / embedding table's rows are addressed, so a warm start can decide
   * whether they carry over: 'vocab' (by token), 'hash:<buckets>', 'buckets:<boundaries>' or
   * 'cross:<buckets>:<features>' (by index when the signature is unchanged), else start fresh.
   */
  segmentSignature(name: string): string {
    const s = this.#signatures.get(name);
    if (s === undefined) throw new UnknownFeatureError(name);
    return s;
  }

  /**
   * Encodes one chunk. Bad rows (missing/non-0/1 label, missing numeric without default,
   * ±Infinity or non-numeric numeric) throw a DataError naming file, column and row with
   * onBadRow 'error', or are dropped and counted with 'skip'. A missing column always throws.
   */
  encode(chunk: RowChunk, opts: EncodeOptions): EncodeResult {
    const policy = opts.onBadRow ?? 'error';
    const n = chunk.numRows;
    const cols = new Map<string, ArrayLike<unknown>>();
    for (const c of this.requiredColumns(opts.withLabels)) cols.set(c.name, getColumn(chunk, c.name) as ArrayLike<unknown>);

    if (this.#bad.length < n) this.#bad = new Uint8Array(Math.max(n, this.#bad.length * 2));
    const bad = this.#bad;
    bad.fill(0, 0, n);
    let skipped = 0;
    const fail = (i: number, column: string, message: string): void => {
      if (policy === 'error') throw new DataError({ source: chunk.source, column, row: chunk.rowOffset + i }, message);
      if (bad[i] === 0) {
        bad[i] = 1;
        skipped++;
      }
    };

    // 1. Validate labels and numerics (the only sources of bad rows).
    if (opts.withLabels) {
      if (this.#labels.length < n) this.#labels = new Float32Array(Math.max(n, this.#labels.length * 2));
      const labels = this.#labels;
      const label = this.#state.label;
      const col = cols.get(label)!;
      for (let i = 0; i < n; i++) {
        const raw = col[i];
        const v = typeof raw === 'number' ? raw : cellToNumber(raw as never);
        if (v === 0 || v === 1) labels[i] = v;
        else if (v === undefined) fail(i, label, `label is not a number: ${describe(raw)}`);
        else if (Number.isNaN(v)) fail(i, label, 'label is missing');
        else fail(i, label, `label must be 0 or 1, got ${describe(raw)}`);
      }
    }
    for (const f of this.#nums.values()) {
      f.values = growF64(f.values, n);
      const values = f.values;
      const col = cols.get(f.name)!;
      const dflt = f.state.default;
      for (let i = 0; i < n; i++) {
        const raw = col[i];
        let v = typeof raw === 'number' ? raw : cellToNumber(raw as never);
        if (v === undefined) {
          fail(i, f.name, `not a number: ${describe(raw)}`);
          v = 0;
        } else if (Number.isNaN(v)) {
          if (dflt === undefined) {
            fail(i, f.name, 'value is missing and the feature has no default');
            v = 0;
          } else v = dflt;
        } else if (v === Infinity || v === -Infinity) {
          fail(i, f.name, `value is not finite: ${v}`);
          v = 0;
        }
        values[i] = v;
      }
    }

    const m = n - skipped;
    const kept = new Int32Array(m);
    for (let i = 0, j = 0; i < n; i++) if (bad[i] === 0) kept[j++] = i;

    // 2. Categorical ids and cross hashes of the kept rows.
    for (const f of this.#cats.values()) this.#encodeCategorical(f, cols.get(f.name)!, kept);
    // 3. Numeric wide buckets (for wide segments and crosses).
    for (const f of this.#nums.values()) {
      if (!f.inWide) continue;
      f.bucket = growI32(f.bucket, m, 0);
      f.xh = growU32(f.xh, m, 0);
      const { values, bucket, xh, boundaries, xhByBucket } = f;
      for (let j = 0; j < m; j++) {
        const b = bucketIndex(boundaries, values[kept[j]!]!);
        bucket[j] = b;
        xh[j] = xhByBucket[b]!;
      }
    }

    // 4. Wide CSR.
    const { wideOffsets, wideIds } = this.#encodeWide(m);
    const wideValues = new Float32Array(wideIds.length).fill(1);

    // 5. Embeddings.
    // Single-valued features share one identity offsets array (consumers only read offsets).
    let identity: Int32Array | undefined;
    const embeddingInputs: EmbeddingInput[] = this.#embed.map((f) => {
      if (f.list) {
        const offsets = f.offsets.slice(0, m + 1);
        return { offsets, ids: f.ids.slice(0, offsets[m]!) };
      }
      if (!identity) {
        identity = new Int32Array(m + 1);
        for (let j = 0; j <= m; j++) identity[j] = j;
      }
      return { offsets: identity, ids: f.ids.slice(0, m) };
    });

    // 6. Numeric tower inputs, row-major [m × k].
    const k = this.#deepNum.length;
    const numeric = new Float32Array(m * k);
    for (let c = 0; c < k; c++) {
      const { values, cuts } = this.#deepNum[c]!;
      for (let j = 0; j < m; j++) numeric[j * k + c] = quantileNormalise(cuts, values[kept[j]!]!);
    }

    let labels: Float32Array | undefined;
    if (opts.withLabels) {
      labels = new Float32Array(m);
      for (let j = 0; j < m; j++) labels[j] = this.#labels[kept[j]!]!;
    }
    const batch: EncodedBatch = { size: m, ...(labels ? { labels } : {}), wideOffsets, wideIds, wideValues, embeddingInputs, numeric };
    return { batch, keptRows: kept, skipped };
  }

  #encodeCategorical(f: CatRuntime, col: ArrayLike<unknown>, kept: Int32Array): void {
    const m = kept.length;
    if (!f.list) {
      f.ids = growI32(f.ids, m, 0);
      f.xh = growU32(f.xh, m, 0);
      for (let j = 0; j < m; j++) {
        const v = col[kept[j]!];
        const t = typeof v === 'string' ? v : cellToToken(v);
        if (t === null) {
          f.ids[j] = f.missingId;
          f.xh[j] = f.missingXh;
        } else putToken(f, t, j);
      }
      return;
    }
    f.offsets = growI32(f.offsets, m + 1, 0);
    const offsets = f.offsets;
    let p = 0;
    offsets[0] = 0;
    for (let j = 0; j < m; j++) {
      const v = col[kept[j]!];
      if (isListValue(v)) {
        const len = Math.min(v.length, f.maxLength);
        if (p + len > f.ids.length) {
          f.ids = growI32(f.ids, p + len, p);
          f.xh = growU32(f.xh, p + len, p);
        }
        for (let e = 0; e < len; e++) {
          const el = v[e];
          // Null elements carry nothing; they are dropped rather than mapped to OOV.
          const t = typeof el === 'string' ? el : cellToToken(el);
          if (t !== null) putToken(f, t, p++);
        }
      } else if (v !== null && v !== undefined) {
        // A scalar where a list was expected (e.g. a JSON request): a one-element list.
        const t = cellToToken(v);
        if (t !== null) {
          if (p + 1 > f.ids.length) {
            f.ids = growI32(f.ids, p + 1, p);
            f.xh = growU32(f.xh, p + 1, p);
          }
          putToken(f, t, p++);
        }
      }
      offsets[j + 1] = p;
    }
  }

  /**
   * Wide CSR over the kept rows, from the categorical / numeric scratch filled by encode.
   * Built segment by segment (tight, monomorphic loops) with a per-row write cursor, so each
   * row's ids still come out in segment order.
   */
  #encodeWide(m: number): { wideOffsets: Int32Array; wideIds: Int32Array } {
    const plans = this.#wide;
    // Count pass: singles contribute 1, lists their length, crosses the (capped) product.
    const cursor = new Int32Array(m);
    let fixed = 0;
    for (const pl of plans) if (pl.kind === 'num' || (pl.kind === 'cat' && !pl.f.list)) fixed++;
    cursor.fill(fixed);
    for (const pl of plans) {
      if (pl.kind === 'cat' && pl.f.list) {
        const off = pl.f.offsets;
        for (let j = 0; j < m; j++) cursor[j] = cursor[j]! + off[j + 1]! - off[j]!;
      } else if (pl.kind === 'cross') {
        const lists = pl.comps.filter((c): c is CatRuntime => 'list' in c && c.list).map((c) => c.offsets);
        if (lists.length === 0) {
          for (let j = 0; j < m; j++) cursor[j] = cursor[j]! + 1;
        } else {
          for (let j = 0; j < m; j++) {
            let prod = 1;
            for (const off of lists) prod *= off[j + 1]! - off[j]!;
            cursor[j] = cursor[j]! + Math.min(prod, MAX_CROSS_IDS_PER_EXAMPLE);
          }
        }
      }
    }
    const wideOffsets = new Int32Array(m + 1);
    for (let j = 0; j < m; j++) {
      const c = cursor[j]!;
      cursor[j] = wideOffsets[j]!;
      wideOffsets[j + 1] = wideOffsets[j]! + c;
    }

    const wideIds = new Int32Array(wideOffsets[m]!);
    // Blocks of rows keep the output being written in cache across the segment passes.
    for (let j0 = 0; j0 < m; j0 += WIDE_BLOCK_ROWS) {
      const j1 = Math.min(m, j0 + WIDE_BLOCK_ROWS);
      for (const pl of plans) {
        const base = pl.offset;
        if (pl.kind === 'num') {
          const bucket = pl.f.bucket;
          for (let j = j0; j < j1; j++) wideIds[cursor[j]!++] = base + bucket[j]!;
        } else if (pl.kind === 'cat') {
          const { ids, offsets } = pl.f;
          if (!pl.f.list) {
            for (let j = j0; j < j1; j++) wideIds[cursor[j]!++] = base + ids[j]!;
          } else {
            for (let j = j0; j < j1; j++) {
              let p = cursor[j]!;
              for (let e = offsets[j]!, end = offsets[j + 1]!; e < end; e++) wideIds[p++] = base + ids[e]!;
              cursor[j] = p;
            }
          }
        } else {
          this.#fillCross(pl, j0, j1, wideIds, cursor);
        }
      }
    }
    return { wideOffsets, wideIds };
  }

  /**
   * Cross ids of rows [j0, j1). The hash is MurmurHash3's mixing over the components' hashes in
   * feature order (= combineHashes); the common shapes (no list, one list) are mixed inline.
   */
  #fillCross(pl: Extract<WidePlan, { kind: 'cross' }>, j0: number, j1: number, wideIds: Int32Array, cursor: Int32Array): void {
    const { comps, buckets, offset: base } = pl;
    const k = comps.length;
    const xhs = comps.map((c) => c.xh);
    const lists = comps.map((c) => ('list' in c && c.list ? c.offsets : null));
    const listPositions = lists.flatMap((l, i) => (l ? [i] : []));
    const tail = k * 4;

    if (listPositions.length <= 1) {
      // No list (one id per row) or one list (one id per element): mix the components before
      // the list once per row, then each element and the components after it.
      const L = listPositions.length === 1 ? listPositions[0]! : k;
      const off = L < k ? lists[L]! : null;
      const listXh = L < k ? xhs[L]! : null;
      for (let j = j0; j < j1; j++) {
        let h0 = CROSS_SEED;
        for (let c = 0; c < L; c++) h0 = mixBlock(h0, xhs[c]![j]! | 0);
        if (off === null) {
          wideIds[cursor[j]!++] = base + bucketOf(fmix32(h0 ^ tail), buckets);
          continue;
        }
        let p = cursor[j]!;
        const start = off[j]!;
        const end = Math.min(off[j + 1]!, start + MAX_CROSS_IDS_PER_EXAMPLE);
        for (let e = start; e < end; e++) {
          let h = mixBlock(h0, listXh![e]! | 0);
          for (let c = L + 1; c < k; c++) h = mixBlock(h, xhs[c]![j]! | 0);
          wideIds[p++] = base + bucketOf(fmix32(h ^ tail), buckets);
        }
        cursor[j] = p;
      }
      return;
    }

    // Several lists: odometer over the cartesian product of the components' tokens, capped.
    if (this.#crossParts.length < k) {
      this.#crossParts = new Uint32Array(k);
      this.#crossIdx = new Int32Array(k);
    }
    const parts = this.#crossParts;
    const idx = this.#crossIdx;
    const starts = new Int32Array(k);
    const counts = new Int32Array(k);
    for (let j = j0; j < j1; j++) {
      let empty = false;
      for (let c = 0; c < k; c++) {
        const off = lists[c];
        if (off) {
          starts[c] = off[j]!;
          counts[c] = off[j + 1]! - off[j]!;
          if (counts[c] === 0) empty = true;
        } else {
          starts[c] = j;
          counts[c] = 1;
        }
        idx[c] = 0;
      }
      if (empty) continue;
      let p = cursor[j]!;
      for (let emitted = 0; emitted < MAX_CROSS_IDS_PER_EXAMPLE; emitted++) {
        for (let c = 0; c < k; c++) parts[c] = xhs[c]![starts[c]! + idx[c]!]!;
        wideIds[p++] = base + bucketOf(combineHashes(CROSS_SEED, parts, k), buckets);
        let c = k - 1;
        while (c >= 0) {
          if (++idx[c]! < counts[c]!) break;
          idx[c] = 0;
          c--;
        }
        if (c < 0) break;
      }
      cursor[j] = p;
    }
  }
}
