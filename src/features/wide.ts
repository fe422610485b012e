/**
 * The wide part of encode: the plan of wide segments (single features, bucketized numerics and
 * hashed crosses, in the state's order) and the encoder that turns the per-feature scratch of a
 * chunk into the wide CSR (wideOffsets / wideIds).
 */
import type { WideLayout, WideSegment } from './encoded-batch.ts';
import type { CatRuntime, NumRuntime } from './feature-runtime.ts';
import { bucketOf, combineHashes } from './hashing.ts';
import type { TransformState } from './state.ts';
import { fmix32, mixBlock } from '../util/murmur3.ts';

/** A cross of lists emits at most this many ids per example (the cartesian product can explode). */
export const MAX_CROSS_IDS_PER_EXAMPLE = 1024;
/** Seed of the cross hash; the components already carry their feature names. */
const CROSS_SEED = 0x2545f491;
/** Rows per block when filling the wide CSR (keeps a block's output in L1/L2). */
const WIDE_BLOCK_ROWS = 512;

export type WidePlan =
  | { readonly kind: 'cat'; readonly f: CatRuntime; readonly offset: number }
  | { readonly kind: 'num'; readonly f: NumRuntime; readonly offset: number }
  | {
      readonly kind: 'cross';
      readonly comps: readonly (CatRuntime | NumRuntime)[];
      readonly buckets: number;
      readonly offset: number;
    };

export interface WidePlanResult {
  readonly plans: WidePlan[];
  readonly layout: WideLayout;
  /** Each cross's signature (see FeatureTransforms.segmentSignature). */
  readonly crossSignatures: ReadonlyMap<string, string>;
}

/**
 * Lays out the wide segments in state order (features, then crosses) and marks the crossed
 * categoricals, whose cross component hashes encode fills (which numerics get bucketized follows
 * from the plans an encode includes).
 */
export function planWide(
  state: TransformState,
  cats: ReadonlyMap<string, CatRuntime>,
  nums: ReadonlyMap<string, NumRuntime>,
): WidePlanResult {
  const plans: WidePlan[] = [];
  const crossSignatures = new Map<string, string>();
  const segments: WideSegment[] = [];
  let offset = 0;
  for (const name of state.wide.features) {
    const cat = cats.get(name);
    const num = nums.get(name);
    const size = cat ? cat.size : num!.boundaries.length + 1;
    segments.push({ name, offset, size });
    plans.push(cat ? { kind: 'cat', f: cat, offset } : { kind: 'num', f: num!, offset });
    offset += size;
  }
  for (const c of state.wide.crosses) {
    segments.push({ name: c.name, offset, size: c.hashBuckets });
    const comps = c.features.map((n) => cats.get(n) ?? nums.get(n)!);
    for (const n of c.features) {
      const cat = cats.get(n);
      if (cat) cat.inCross = true;
    }
    plans.push({ kind: 'cross', comps, buckets: c.hashBuckets, offset });
    offset += c.hashBuckets;
    // The cross ids depend on the raw tokens and on numeric components' bucket boundaries.
    const parts = c.features.map((n) => {
      const num = nums.get(n);
      return num ? `${n}[${num.state.boundaries.join(',')}]` : n;
    });
    crossSignatures.set(c.name, `cross:${c.hashBuckets}:${parts.join(',')}`);
  }
  return { plans, layout: Object.freeze({ segments: Object.freeze(segments), size: offset }), crossSignatures };
}

/** Builds the wide CSR of a chunk; holds the scratch of the cross odometer between chunks. */
export class WideEncoder {
  readonly #plans: readonly WidePlan[];
  #crossParts = new Uint32Array(4);
  #crossIdx = new Int32Array(4);

  constructor(plans: readonly WidePlan[]) {
    this.#plans = plans;
  }

  /**
   * Wide CSR over the kept rows, from the categorical / numeric scratch filled by encode: of
   * every plan, or of `plans` (a subset of them, in layout order).
   * Built segment by segment (tight, monomorphic loops) with a per-row write cursor, so each
   * row's ids still come out in segment order.
   */
  encode(m: number, plans: readonly WidePlan[] = this.#plans): { wideOffsets: Int32Array; wideIds: Int32Array } {
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
