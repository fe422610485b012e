/**
 * How hard a generated day is: the AUC of the Bayes-optimal prediction and of the true logit
 * with one signal removed. They bound what each half of Wide & Deep can reach:
 *  - without the memorisation term ≈ the best a deep-only model can do (it generalises the
 *    low-rank affinity but cannot memorise sparse pairs);
 *  - without the affinity term ≈ the best a wide-only model can do (crosses memorise pairs but
 *    cannot generalise u·v to unseen (user, app) pairs).
 */
import type { GeneratedDay } from './day.ts';

export interface TruthAucs {
  /** AUC of σ(base + affinity + memo) against the labels. */
  readonly oracle: number;
  /** AUC of base + affinity (memorisation removed): ≈ deep-only ceiling. */
  readonly withoutMemo: number;
  /** AUC of base + memo (affinity removed): ≈ wide-only ceiling. */
  readonly withoutAffinity: number;
  /** AUC of base alone. */
  readonly baseOnly: number;
  /** Share of positive labels. */
  readonly positiveRate: number;
  /** Share of rows with a non-zero memorisation term. */
  readonly memoRowShare: number;
}

/**
 * Rank-based ROC AUC (Mann–Whitney U), ties counted half.
 * @param scores Float64Array [n]
 * @param labels Int32Array [n] of 0/1
 */
export function rocAuc(scores: Float64Array, labels: Int32Array): number {
  const n = scores.length;
  if (labels.length !== n) throw new RangeError(`scores (${n}) and labels (${labels.length}) differ in length`);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]!] === 1) {
        pos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Oracle and ablated AUCs of one generated day, scored against its (possibly shuffled) labels. */
export function truthAucs(day: GeneratedDay): TruthAucs {
  const { base, affinity, memo, logit } = day.truth;
  const labels = day.columns.installed;
  const n = day.numRows;
  const noMemo = new Float64Array(n);
  const noAff = new Float64Array(n);
  let positives = 0;
  let memoRows = 0;
  for (let i = 0; i < n; i++) {
    noMemo[i] = base[i]! + affinity[i]!;
    noAff[i] = base[i]! + memo[i]!;
    positives += labels[i]!;
    if (memo[i] !== 0) memoRows++;
  }
  return {
    oracle: rocAuc(logit, labels),
    withoutMemo: rocAuc(noMemo, labels),
    withoutAffinity: rocAuc(noAff, labels),
    baseOnly: rocAuc(base, labels),
    positiveRate: positives / Math.max(1, n),
    memoRowShare: memoRows / Math.max(1, n),
  };
}
