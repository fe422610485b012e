/**
 * How closely a second scorer (the int8 tower) follows a reference (float32) on the same rows:
 * the AUC difference, and, per group of rows standing for one request's candidates, Spearman's
 * rank correlation of the two scores and the overlap of their top K. A recommender serves a
 * ranking, so a precision change is judged by the order it gives each request, not only by AUC.
 *
 * Groups are fixed-size runs of consecutive rows (`groupSize`, the last one shorter): holdout
 * logs carry no request id in general (UCI Adult has none), and a group of candidates is what a
 * request is. Groups of fewer than 2 rows are skipped.
 */
import { auc } from './metrics.ts';

export interface AgreementOptions {
  /** Rows per group (one "request"). @default 100 */
  readonly groupSize?: number;
  /** K of the top-K overlap. @default 10 */
  readonly topK?: number;
}

export interface RankAgreement {
  readonly rows: number;
  readonly groups: number;
  readonly groupSize: number;
  readonly topK: number;
  readonly aucReference: number;
  readonly aucCompared: number;
  /** aucCompared − aucReference. */
  readonly aucDelta: number;
  /** Mean over groups of Spearman's rank correlation between the two scores. */
  readonly spearmanMean: number;
  readonly spearmanMin: number;
  /** Mean over groups of |top-K(reference) ∩ top-K(compared)| / K (K capped at the group's size). */
  readonly topKOverlapMean: number;
  readonly topKOverlapMin: number;
  /** Largest |compared − reference| over all rows. */
  readonly maxAbsDiff: number;
}

/** Ranks 1…n of `x` (ties share their mean rank). */
export function ranks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a]! - x[b]!);
  const r = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && x[order[j + 1]!] === x[order[i]!]) j++;
    const mean = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[order[k]!] = mean;
    i = j + 1;
  }
  return r;
}

/**
 * Spearman's rank correlation (Pearson's on tie-averaged ranks). When either side is constant
 * it is undefined; then 1 if both are (the same order: none), else 0.
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = ra.length;
  const mean = (n + 1) / 2;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = ra[i]! - mean;
    const db = rb[i]! - mean;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return saa === sbb ? 1 : 0;
  return sab / Math.sqrt(saa * sbb);
}

/** Indices of the `k` highest scores (ties by lower index). */
function topIndices(x: ArrayLike<number>, k: number): Set<number> {
  const order = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[b]! - x[a]! || a - b);
  return new Set(order.slice(0, k));
}

/** Compares `compared` with `reference` (aligned scores, probabilities) on rows labelled `labels`. */
export function rankAgreement(
  reference: Float32Array,
  compared: Float32Array,
  labels: ArrayLike<number>,
  options: AgreementOptions = {},
): RankAgreement {
  const n = reference.length;
  if (compared.length !== n || labels.length !== n)
    throw new RangeError(`rankAgreement: ${n} reference scores, ${compared.length} compared, ${labels.length} labels`);
  const groupSize = options.groupSize ?? 100;
  const topK = options.topK ?? 10;
  if (!Number.isInteger(groupSize) || groupSize < 2) throw new RangeError(`groupSize must be an integer ≥ 2, got ${groupSize}`);
  if (!Number.isInteger(topK) || topK < 1) throw new RangeError(`topK must be a positive integer, got ${topK}`);
  let groups = 0;
  let rhoSum = 0;
  let rhoMin = 1;
  let overlapSum = 0;
  let overlapMin = 1;
  for (let s = 0; s + 1 < n; s += groupSize) {
    const a = reference.subarray(s, Math.min(n, s + groupSize));
    const b = compared.subarray(s, Math.min(n, s + groupSize));
    const rho = spearman(a, b);
    const k = Math.min(topK, a.length);
    const ta = topIndices(a, k);
    let common = 0;
    for (const i of topIndices(b, k)) if (ta.has(i)) common++;
    groups++;
    rhoSum += rho;
    rhoMin = Math.min(rhoMin, rho);
    overlapSum += common / k;
    overlapMin = Math.min(overlapMin, common / k);
  }
  let maxAbsDiff = 0;
  for (let i = 0; i < n; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(compared[i]! - reference[i]!));
  const aucReference = auc(reference, labels);
  const aucCompared = auc(compared, labels);
  return {
    rows: n,
    groups,
    groupSize,
    topK,
    aucReference,
    aucCompared,
    aucDelta: aucCompared - aucReference,
    spearmanMean: groups ? rhoSum / groups : Number.NaN,
    spearmanMin: groups ? rhoMin : Number.NaN,
    topKOverlapMean: groups ? overlapSum / groups : Number.NaN,
    topKOverlapMin: groups ? overlapMin : Number.NaN,
    maxAbsDiff,
  };
}
