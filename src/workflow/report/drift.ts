/**
 * How far this run's data moved from what the parent model was fitted on, from what the fitted
 * transforms keep. The manifest stores no token counts and no histograms, only quantile cut
 * points and vocabularies ordered by descending count (src/features/vocab.ts), so:
 *
 *  - numeric: PSI of this run's holdout over the parent's quantile buckets. The parent fitted its
 *    n_q − 1 cut points as equal-frequency quantiles of its training data, so each of its buckets
 *    held 1/n_q of that data; that is the reference. Where tied values merged quantiles (fewer
 *    distinct cuts than n_q − 1) the equal shares do not hold: there the parent's shares are counted on a sample of the rows it
 *    was trained on (its manifest lists them); only when those cannot be read are equal shares
 *    assumed, and the feature is flagged `approximate`.
 *  - categorical: PSI over the parent's top tokens (one bucket each), the rest of its vocabulary
 *    and the tokens it lacks, its shares counted on that same sample; and what the vocabularies
 *    say: new and dropped tokens, the share of the parent's most frequent tokens that are no
 *    longer among the candidate's most frequent ("top-k turnover").
 */
import { bucketIndex } from '../../features/quantiles.ts';
import type { NumericFeatureState } from '../../features/state.ts';

/** Shares below this are floored so an empty bucket gives a large, finite PSI (common practice). */
const PSI_FLOOR = 1e-4;

/**
 * Population stability index Σ (a − e)·ln(a / e) of `actual` shares against `expected` shares
 * (each summing to 1). Rule of thumb: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 major shift.
 */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length) throw new RangeError(`psi: ${expected.length} expected shares but ${actual.length} actual`);
  let s = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(PSI_FLOOR, expected[i]!);
    const a = Math.max(PSI_FLOOR, actual[i]!);
    s += (a - e) * Math.log(a / e);
  }
  return s;
}

export function psiBand(value: number): 'stable' | 'moderate' | 'major' {
  return value < 0.1 ? 'stable' : value < 0.25 ? 'moderate' : 'major';
}

/** Counts values into the parent's quantile buckets as they stream past (NaN counted as missing). */
export class QuantileBucketCounter {
  readonly cuts: readonly number[];
  readonly counts: Float64Array;
  missing = 0;

  constructor(cuts: readonly number[]) {
    this.cuts = cuts;
    this.counts = new Float64Array(cuts.length + 1);
  }

  add(v: number): void {
    if (Number.isNaN(v)) this.missing++;
    else this.counts[bucketIndex(this.cuts, v)]!++;
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts) n += c;
    return n;
  }
}

export interface NumericDrift {
  readonly feature: string;
  readonly psi: number;
  readonly band: ReturnType<typeof psiBand>;
  readonly buckets: number;
  /** Tied values merged some of the parent's quantiles and no sample of its data was read: equal shares were assumed. */
  readonly approximate: boolean;
  /** Where the parent's shares come from: its fitted quantiles, or a sample of its training rows (tied quantiles). */
  readonly reference: 'quantiles' | 'sample';
  /** Holdout rows with no value. */
  readonly missingShare: number;
  readonly rows: number;
}

/**
 * PSI of counts taken over `parent`'s quantile buckets against the parent's shares: equal shares
 * (how the parent fitted its cuts), or, where tied values merged quantiles and the equal shares
 * are not true, the shares of `reference` (the same buckets counted on a sample of the parent's
 * training rows) when given.
 */
export function numericDrift(
  feature: string,
  parent: Pick<NumericFeatureState, 'quantiles' | 'quantileCuts'>,
  counter: QuantileBucketCounter,
  reference?: QuantileBucketCounter,
): NumericDrift {
  const k = counter.counts.length;
  const total = counter.total;
  const tied = parent.quantileCuts.length < parent.quantiles - 1;
  const refTotal = reference?.total ?? 0;
  const useReference = tied && reference !== undefined && refTotal > 0;
  const expected = useReference ? Array.from(reference.counts, (c) => c / refTotal) : new Array<number>(k).fill(1 / k);
  const actual = Array.from(counter.counts, (c) => (total > 0 ? c / total : 0));
  const value = total > 0 ? psi(expected, actual) : Number.NaN;
  return {
    feature,
    psi: value,
    band: psiBand(value),
    buckets: k,
    approximate: tied && !useReference,
    reference: useReference ? 'sample' : 'quantiles',
    missingShare: total + counter.missing > 0 ? counter.missing / (total + counter.missing) : 0,
    rows: total + counter.missing,
  };
}

export interface VocabularyChange {
  readonly feature: string;
  readonly parentSize: number;
  readonly candidateSize: number;
  /** Candidate tokens the parent's vocabulary did not have (their embedding rows start fresh). */
  readonly newTokens: number;
  readonly droppedTokens: number;
  /** A few of the new tokens, most frequent first. */
  readonly newExamples: readonly string[];
  /** Share of the parent's top `topK` tokens that are not among the candidate's top `topK`. */
  readonly topTurnover: number;
  readonly topK: number;
}

/** Compares two vocabularies (tokens ordered by descending count, as fit keeps them). */
export function vocabularyChange(feature: string, parent: readonly string[], candidate: readonly string[], topK = 20): VocabularyChange {
  const p = new Set(parent);
  const c = new Set(candidate);
  const fresh = candidate.filter((t) => !p.has(t));
  let dropped = 0;
  for (const t of parent) if (!c.has(t)) dropped++;
  const k = Math.min(topK, parent.length, candidate.length);
  const candTop = new Set(candidate.slice(0, k));
  let gone = 0;
  for (const t of parent.slice(0, k)) if (!candTop.has(t)) gone++;
  return {
    feature,
    parentSize: parent.length,
    candidateSize: candidate.length,
    newTokens: fresh.length,
    droppedTokens: dropped,
    newExamples: fresh.slice(0, 5),
    topTurnover: k > 0 ? gone / k : 0,
    topK: k,
  };
}

/** Top tokens of the parent's vocabulary each get their own bucket; the rest share two. */
export const CATEGORICAL_TOP_TOKENS = 20;

/**
 * Counts categorical tokens into buckets for PSI: the parent's `top` most frequent tokens one by
 * one, then the rest of its vocabulary, then tokens the parent's vocabulary lacks. A long tail
 * split token by token would make PSI measure sampling noise.
 */
export class CategoricalBucketCounter {
  readonly #index: Map<string, number>;
  readonly #vocab: ReadonlySet<string>;
  readonly counts: Float64Array;

  constructor(parentTokens: readonly string[], top = CATEGORICAL_TOP_TOKENS) {
    this.#index = new Map(parentTokens.slice(0, top).map((t, i) => [t, i]));
    this.#vocab = new Set(parentTokens);
    this.counts = new Float64Array(this.#index.size + 2);
  }

  add(token: string): void {
    const i = this.#index.get(token);
    this.counts[i ?? (this.#vocab.has(token) ? this.#index.size : this.#index.size + 1)]!++;
  }

  shares(): number[] {
    let n = 0;
    for (const c of this.counts) n += c;
    return Array.from(this.counts, (c) => (n > 0 ? c / n : 0));
  }
}

/** PSI of the holdout's token shares against a sample of the parent's training rows. */
export function categoricalPsi(reference: CategoricalBucketCounter, holdout: CategoricalBucketCounter): number {
  return psi(reference.shares(), holdout.shares());
}
