/**
 * Numeric features: quantile normalisation for the deep side (the paper maps a value in the
 * i-th of n_q quantiles to (i−1)/(n_q−1)) and bucketization for the wide side.
 * Cut points come from a seeded reservoir sample so memory stays bounded on millions of rows and
 * a re-run on the same data fits the same cut points.
 */
import { Rng, hash32 } from '../util/random.ts';

/** @default 100_000 values per feature. */
export const DEFAULT_SAMPLE_SIZE = 100_000;

/** Uniform sample of a stream of numbers (Vitter's algorithm R), reproducible from a seed. */
export class ReservoirSampler {
  readonly #capacity: number;
  readonly #rng: Rng;
  #buf: Float64Array;
  #seen = 0;

  constructor(opts: { capacity?: number; seed: number }) {
    this.#capacity = opts.capacity ?? DEFAULT_SAMPLE_SIZE;
    this.#rng = new Rng(opts.seed);
    this.#buf = new Float64Array(Math.min(this.#capacity, 1024));
  }

  add(v: number): void {
    const n = this.#seen++;
    if (n < this.#capacity) {
      if (n >= this.#buf.length) {
        const grown = new Float64Array(Math.min(this.#capacity, this.#buf.length * 2));
        grown.set(this.#buf);
        this.#buf = grown;
      }
      this.#buf[n] = v;
      return;
    }
    const j = this.#rng.int(n + 1);
    if (j < this.#capacity) this.#buf[j] = v;
  }

  /** Values seen (not only kept). */
  get seen(): number {
    return this.#seen;
  }

  /** The sample, sorted ascending (a copy). */
  sorted(): Float64Array {
    return this.#buf.slice(0, Math.min(this.#seen, this.#capacity)).sort();
  }
}

/** Seed for one feature's sampler: the run's seed mixed with the feature name. */
export function samplerSeed(seed: number, feature: string): number {
  let h = hash32(seed);
  for (let i = 0; i < feature.length; i++) h = hash32(h ^ feature.charCodeAt(i));
  return h;
}

/**
 * The j/n quantiles (j = 1..n−1) of a sorted sample, deduplicated, ascending.
 * Quantile j is sorted[floor(j·m/n)], so each of the n buckets (with upper-bound placement, see
 * `bucketIndex`) holds m/n sample values when values are distinct.
 * An empty sample gives no cut points.
 *
 * @example quantileCuts([1..10], 5) → [3, 5, 7, 9]
 */
export function quantileCuts(sorted: ArrayLike<number>, n: number): number[] {
  const m = sorted.length;
  const cuts: number[] = [];
  if (m === 0) return cuts;
  for (let j = 1; j < n; j++) {
    const v = sorted[Math.min(m - 1, Math.floor((j * m) / n))]!;
    if (cuts.length === 0 || v !== cuts[cuts.length - 1]) cuts.push(v);
  }
  return cuts;
}

/** Up to this many boundaries, bucketIndex counts rather than bisects. */
const LINEAR_SEARCH_MAX = 32;

/**
 * 0-based bucket of v among ascending boundaries: the number of boundaries ≤ v (upper bound,
 * like tf.feature_column.bucketized_column). In [0, boundaries.length].
 */
export function bucketIndex(boundaries: ArrayLike<number>, v: number): number {
  const n = boundaries.length;
  if (n <= LINEAR_SEARCH_MAX) {
    // Counted straight through, with no branch on the data: on random values a binary search
    // mispredicts about every other step, and at the default 19 cut points this loop measured
    // ~2× faster (0.55 vs 1.05 ms for 24,000 values, the numerics of a 1000-candidate request).
    let count = 0;
    for (let i = 0; i < n; i++) count += +(boundaries[i]! <= v);
    return count;
  }
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (boundaries[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Quantile normalisation to [0,1]: v in the i-th bucket (1-based) of k cut points → (i−1)/k,
 * which is (i−1)/(n_q−1) when the n_q−1 cut points are distinct. With no cut points → 0.
 */
export function quantileNormalise(cuts: ArrayLike<number>, v: number): number {
  const k = cuts.length;
  return k === 0 ? 0 : bucketIndex(cuts, v) / k;
}

/**
 * Piece t (0-based) of `pieces` of a quantile-normalised value q (config `deep.numericPieces`):
 * the share of [t/pieces, (t+1)/pieces] that lies below q, i.e. clamp(pieces·q − t, 0, 1).
 * With one piece it is q itself; the pieces of q sum to pieces·q.
 */
export function numericPiece(q: number, pieces: number, t: number): number {
  const v = pieces * q - t;
  return Math.min(1, Math.max(0, v));
}
