/**
 * The feature transforms: fitted once on training data, saved in the model (`toState`), and run
 * by the same `encode` in training and in serving, so there is no train/serve skew.
 *
 * Encoding turns a RowChunk (columns of raw values) into an EncodedBatch (CSR ids for the wide
 * part and each embedding, quantile-normalised numerics for the tower).
 */
import type { WdpConfig } from '../config/schema.ts';
import { cellToNumber } from '../data/cells.ts';
import { DataError } from '../data/errors.ts';
import type { RowChunk } from '../data/row-chunk.ts';
import { type RequiredColumn, getColumn, requiredColumnsOfConfig, requiredColumnsOfState } from './columns.ts';
import type { DeepLayout, EmbeddingInput, EmbeddingSpec, EncodedBatch, WideLayout } from './encoded-batch.ts';
import { UnknownFeatureError } from './errors.ts';
import {
  type CatRuntime,
  type NumRuntime,
  bucketizeNumeric,
  catRuntime,
  encodeCategorical,
  growF64,
  numRuntime,
} from './feature-runtime.ts';
import { type FitOptions, fitTransformState } from './fit.ts';
import { numericPiece, quantileNormalise } from './quantiles.ts';
import { parseTransformState, type TransformState } from './state.ts';
import { WideEncoder, type WidePlan, planWide } from './wide.ts';
import { quoted } from '../util/terminal-text.ts';

export type { RequiredColumn } from './columns.ts';
export type { FitOptions } from './fit.ts';
export { MAX_CROSS_IDS_PER_EXAMPLE } from './wide.ts';

export type BadRowPolicy = 'error' | 'skip';

export interface EncodeOptions {
  /** Read the label column and fill `batch.labels`. */
  readonly withLabels: boolean;
  /** @default 'error' */
  readonly onBadRow?: BadRowPolicy;
  /**
   * Encode only the parts of the input that read at least one of these features: their
   * embeddings and deep numerics, and the wide segments and crosses that involve one of them
   * (a cross also reads its other features' columns, which the chunk must then carry). Every
   * other part is left out, and its columns are not read: an embedding left out has no ids in
   * any row, a deep numeric left out is 0, a wide segment left out emits no ids. Serving uses
   * it for a request's candidates, which differ only in their item features: the user's parts
   * are encoded once, from the context, rather than once per candidate. Training and batch
   * scoring encode everything (the default), through the same code. @default every feature
   */
  readonly features?: ReadonlySet<string>;
}

/** Which parts one `encode` computes: everything, or the parts that read a subset of features. */
interface EncodeParts {
  readonly cats: readonly CatRuntime[];
  readonly nums: readonly NumRuntime[];
  /** Numerics whose wide bucket some included wide plan reads. */
  readonly bucketized: readonly NumRuntime[];
  readonly wide: readonly WidePlan[];
  /** Per DeepLayout.embeddings / DeepLayout.numeric: whether it is encoded. */
  readonly embed: readonly boolean[];
  readonly deepNum: readonly boolean[];
  readonly columns: readonly RequiredColumn[];
}

/** Distinct feature subsets whose parts are kept (a serving process sees one or a few). */
const MAX_CACHED_PARTS = 16;

export interface EncodeResult {
  readonly batch: EncodedBatch;
  /** Int32Array [batch.size]: the chunk row (0-based within the chunk) of each encoded example. */
  readonly keptRows: Int32Array;
  /** Rows dropped as bad (only with onBadRow 'skip'). */
  readonly skipped: number;
}

function describe(v: unknown): string {
  return typeof v === 'string' ? quoted(v) : typeof v === 'bigint' ? `${v}n` : String(v);
}

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
  readonly #wide: WideEncoder;
  readonly #embed: CatRuntime[];
  readonly #deepNum: NumRuntime[];
  /** Tower inputs per deep numeric (`deep.numericPieces`). */
  readonly #pieces: number;
  readonly #signatures = new Map<string, string>();
  readonly #vocabTokens = new Map<string, readonly string[]>();
  readonly #widePlans: readonly WidePlan[];
  /** Parts per feature subset, keyed by withLabels and the sorted names. */
  readonly #partsCache = new Map<string, EncodeParts>();
  /** The parts of a whole encode: [without labels, with labels]. */
  readonly #allParts: readonly [EncodeParts, EncodeParts];
  // Per-encode scratch over chunk rows.
  #bad = new Uint8Array(0);
  #labels = new Float32Array(0);

  private constructor(state: TransformState) {
    this.#state = state;
    for (const [name, f] of Object.entries(state.features)) {
      if (f.kind === 'numeric') {
        this.#nums.set(name, numRuntime(name, f));
        this.#signatures.set(name, `buckets:${f.boundaries.join(',')}`);
      } else {
        const cat = catRuntime(name, f);
        this.#cats.set(name, cat);
        this.#signatures.set(name, cat.vocab ? 'vocab' : `hash:${cat.hashBuckets}`);
        if (cat.vocab) this.#vocabTokens.set(name, Object.freeze(['', ...cat.vocab.tokens]));
      }
    }

    const wide = planWide(state, this.#cats, this.#nums);
    for (const [name, signature] of wide.crossSignatures) this.#signatures.set(name, signature);
    this.#wide = new WideEncoder(wide.plans);
    this.#widePlans = wide.plans;
    this.wideLayout = wide.layout;

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
    this.#pieces = state.deep.numericPieces ?? 1;
    // One column per piece: each deep numeric's name repeated numericPieces times in a row, so
    // serving's split (user columns vs candidate columns, by feature) reads it as before.
    const numericCols = state.deep.numeric.flatMap((n) => Array.from({ length: this.#pieces }, () => n));
    this.deepLayout = Object.freeze({
      embeddings: Object.freeze(embeddings),
      numeric: Object.freeze(numericCols),
      inputDim: embeddings.reduce((s, e) => s + e.dim, 0) + numericCols.length,
    });
    this.#allParts = [this.#partsOf(undefined, false), this.#partsOf(undefined, true)];
  }

  /**
   * The parts an encode of `features` computes (all when undefined): the included wide plans,
   * embeddings and deep numerics, and the features they read, in state order.
   */
  #partsOf(features: ReadonlySet<string> | undefined, withLabels: boolean): EncodeParts {
    const reads = (name: string) => features === undefined || features.has(name);
    const wide = this.#widePlans.filter((pl) => (pl.kind === 'cross' ? pl.comps.some((c) => reads(c.name)) : reads(pl.f.name)));
    const embed = this.#state.deep.embeddings.map((e) => reads(e.feature));
    const deepNum = this.#state.deep.numeric.map((n) => reads(n));
    // Features read: those in the subset that the model uses anywhere, and the other
    // components of the crosses included.
    const read = new Set<string>();
    for (const name of Object.keys(this.#state.features)) if (reads(name)) read.add(name);
    for (const pl of wide) if (pl.kind === 'cross') for (const c of pl.comps) read.add(c.name);
    const bucketized = new Set<NumRuntime>();
    for (const pl of wide) {
      if (pl.kind === 'num') bucketized.add(pl.f);
      else if (pl.kind === 'cross') for (const c of pl.comps) if (!('list' in c)) bucketized.add(c);
    }
    return {
      cats: [...this.#cats.values()].filter((f) => read.has(f.name)),
      nums: [...this.#nums.values()].filter((f) => read.has(f.name)),
      bucketized: [...this.#nums.values()].filter((f) => bucketized.has(f)),
      wide,
      embed,
      deepNum,
      columns: this.requiredColumns(withLabels).filter((c) => c.name === this.#state.label || read.has(c.name)),
    };
  }

  #parts(features: ReadonlySet<string> | undefined, withLabels: boolean): EncodeParts {
    if (features === undefined) return this.#allParts[withLabels ? 1 : 0];
    const key = `${withLabels ? 1 : 0}\u0000${[...features].sort().join('\u0000')}`;
    let parts = this.#partsCache.get(key);
    if (!parts) {
      // Callers pass model feature names (serving checks them first), so the cache stays small;
      // a caller cycling through many subsets only rebuilds, it cannot grow it.
      if (this.#partsCache.size >= MAX_CACHED_PARTS) this.#partsCache.clear();
      parts = this.#partsOf(features, withLabels);
      this.#partsCache.set(key, parts);
    }
    return parts;
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
    return requiredColumnsOfConfig(config, withLabel);
  }

  /**
   * Fits the transforms in one streaming pass over the chunks: vocabularies (always), and
   * numeric quantile cut points / wide boundaries (from a reservoir sample, unless a warm start
   * takes them from `parent`). The label is not read. Cells that are not valid numbers are left
   * out of the sample; bad rows are otherwise counted as usual (encode applies the bad-row policy).
   */
  static async fit(config: WdpConfig, chunks: AsyncIterable<RowChunk>, opts: FitOptions = {}): Promise<FeatureTransforms> {
    const state = await fitTransformState(config, chunks, opts);
    // Same validation as a state loaded from a file, so fit cannot produce a state fromState rejects.
    return new FeatureTransforms(parseTransformState(state));
  }

  /** What the log reader must supply, in config order (label last). */
  requiredColumns(withLabel: boolean): RequiredColumn[] {
    return requiredColumnsOfState(this.#state, withLabel);
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
    const parts = this.#parts(opts.features, opts.withLabels);
    const cols = new Map<string, ArrayLike<unknown>>();
    for (const c of parts.columns) cols.set(c.name, getColumn(chunk, c.name) as ArrayLike<unknown>);

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
    for (const f of parts.nums) {
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
    for (const f of parts.cats) encodeCategorical(f, cols.get(f.name)!, kept);
    // 3. Numeric wide buckets (for wide segments and crosses).
    for (const f of parts.bucketized) bucketizeNumeric(f, kept);

    // 4. Wide CSR.
    const { wideOffsets, wideIds } = this.#wide.encode(m, parts.wide);
    const wideValues = new Float32Array(wideIds.length).fill(1);

    // 5. Embeddings.
    // Single-valued features share one identity offsets array (consumers only read offsets).
    let identity: Int32Array | undefined;
    let none: EmbeddingInput | undefined;
    const embeddingInputs: EmbeddingInput[] = this.#embed.map((f, e) => {
      if (!parts.embed[e]) {
        none ??= { offsets: new Int32Array(m + 1), ids: new Int32Array(0) };
        return none;
      }
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

    // 6. Numeric tower inputs, row-major [m × k]: numeric c's pieces in columns c·P … c·P+P−1.
    const P = this.#pieces;
    const k = this.#deepNum.length * P;
    const numeric = new Float32Array(m * k);
    for (let c = 0; c < this.#deepNum.length; c++) {
      if (!parts.deepNum[c]) continue;
      const { values, cuts } = this.#deepNum[c]!;
      if (P === 1) {
        // One piece is q itself: the paper's input, without a call per cell (serving's hot path).
        for (let j = 0; j < m; j++) numeric[j * k + c] = quantileNormalise(cuts, values[kept[j]!]!);
        continue;
      }
      for (let j = 0; j < m; j++) {
        const q = quantileNormalise(cuts, values[kept[j]!]!);
        for (let t = 0; t < P; t++) numeric[j * k + c * P + t] = numericPiece(q, P, t);
      }
    }

    let labels: Float32Array | undefined;
    if (opts.withLabels) {
      labels = new Float32Array(m);
      for (let j = 0; j < m; j++) labels[j] = this.#labels[kept[j]!]!;
    }
    const batch: EncodedBatch = { size: m, ...(labels ? { labels } : {}), wideOffsets, wideIds, wideValues, embeddingInputs, numeric };
    return { batch, keptRows: kept, skipped };
  }
}
