/**
 * The per-feature runtime of the transforms: built once from the fitted state, it holds what
 * encode looks up (vocabulary ids, cross component hashes, bucket boundaries) and the scratch
 * arrays encode fills for the kept rows of a chunk, so a chunk allocates almost nothing.
 */
import { cellToToken } from '../data/cells.ts';
import { isListValue } from './columns.ts';
import { MISSING_TOKEN, bucketOf, crossComponentHash, crossComponentOf, featureSeed } from './hashing.ts';
import { bucketIndex } from './quantiles.ts';
import type { FeatureState, NumericFeatureState } from './state.ts';
import { Vocabulary } from './vocab.ts';
import { murmur3 } from '../util/murmur3.ts';

export interface CatRuntime {
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

export interface NumRuntime {
  readonly name: string;
  readonly state: NumericFeatureState;
  readonly cuts: Float64Array;
  readonly boundaries: Float64Array;
  /** Cross component hash of each wide bucket index (the bucket index is the token). */
  readonly xhByBucket: Uint32Array;
  // Scratch: values [n chunk rows]; bucket / xh [m kept rows].
  values: Float64Array;
  bucket: Int32Array;
  xh: Uint32Array;
}

/** A categorical feature's runtime; `inCross` is set by the wide plan. */
export function catRuntime(name: string, f: Extract<FeatureState, { kind: 'categorical' | 'categorical_list' }>): CatRuntime {
  const vocab = f.tokens ? new Vocabulary(f.tokens) : undefined;
  const buckets = f.hashBuckets ?? 0;
  const seed = featureSeed(name);
  const vocabXh = new Uint32Array(vocab ? vocab.size : 0);
  for (let id = 1; id < vocabXh.length; id++) vocabXh[id] = crossComponentOf(seed, vocab!.tokens[id - 1]!);
  return {
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
  };
}

/** A numeric feature's runtime. */
export function numRuntime(name: string, f: NumericFeatureState): NumRuntime {
  const seed = featureSeed(name);
  const xhByBucket = new Uint32Array(f.boundaries.length + 1);
  for (let b = 0; b < xhByBucket.length; b++) xhByBucket[b] = crossComponentOf(seed, String(b));
  return {
    name,
    state: f,
    cuts: Float64Array.from(f.quantileCuts),
    boundaries: Float64Array.from(f.boundaries),
    xhByBucket,
    values: new Float64Array(0),
    bucket: new Int32Array(0),
    xh: new Uint32Array(0),
  };
}

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
export function growF64(a: Float64Array, n: number): Float64Array {
  return a.length >= n ? a : new Float64Array(Math.max(n, a.length * 2));
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

/**
 * Ids (and cross component hashes) of the kept rows of one categorical column, into the
 * feature's scratch: ids/xh [m] for a single feature, a CSR (offsets [m + 1]) for a list.
 */
export function encodeCategorical(f: CatRuntime, col: ArrayLike<unknown>, kept: Int32Array): void {
  const m = kept.length;
  if (!f.list) {
    f.ids = growI32(f.ids, m, 0);
    f.xh = growU32(f.xh, m, 0);
    // A cell equal to the previous row's takes its id and hash: a run of one value (a request's
    // user value repeated for every candidate, a log sorted by user) is looked up once. Only
    // the last value is kept, so nothing grows.
    let last: unknown;
    for (let j = 0; j < m; j++) {
      const v = col[kept[j]!];
      if (j > 0 && v === last) {
        f.ids[j] = f.ids[j - 1]!;
        f.xh[j] = f.xh[j - 1]!;
        continue;
      }
      last = v;
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

/** Wide bucket index (and its cross component hash) of the kept rows of one numeric feature. */
export function bucketizeNumeric(f: NumRuntime, kept: Int32Array): void {
  const m = kept.length;
  f.bucket = growI32(f.bucket, m, 0);
  f.xh = growU32(f.xh, m, 0);
  const { values, bucket, xh, boundaries, xhByBucket } = f;
  for (let j = 0; j < m; j++) {
    const b = bucketIndex(boundaries, values[kept[j]!]!);
    bucket[j] = b;
    xh[j] = xhByBucket[b]!;
  }
}
