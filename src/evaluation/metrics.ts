/**
 * Binary-classification metrics over probabilities and 0/1 labels. Written by hand because they
 * are a few lines each and must agree exactly between training, validation and tests.
 */

export interface BinaryMetrics {
  readonly rows: number;
  /** Area under the ROC curve, ties counted as half (Mann–Whitney U). NaN with one class only. */
  readonly auc: number;
  /** Mean negative log-likelihood, probabilities clipped to [1e-7, 1 − 1e-7]. */
  readonly logloss: number;
  /** Mean prediction ÷ observed positive rate: 1 is perfectly calibrated on average. */
  readonly calibration: number;
  readonly meanPrediction: number;
  readonly positiveRate: number;
  /** Share of rows where (p ≥ 0.5) equals the label. */
  readonly accuracy: number;
}

const EPS = 1e-7;

/**
 * @param probs  predictions in [0,1], length N
 * @param labels 0/1 labels, length N
 */
export function binaryMetrics(probs: ArrayLike<number>, labels: ArrayLike<number>): BinaryMetrics {
  const n = probs.length;
  if (labels.length !== n) throw new RangeError(`probs has ${n} rows but labels has ${labels.length}`);
  let sumP = 0;
  let pos = 0;
  let ll = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.min(1 - EPS, Math.max(EPS, probs[i]!));
    const y = labels[i]!;
    sumP += probs[i]!;
    pos += y;
    ll -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
    if ((probs[i]! >= 0.5 ? 1 : 0) === y) correct++;
  }
  const meanPrediction = n ? sumP / n : NaN;
  const positiveRate = n ? pos / n : NaN;
  return {
    rows: n,
    auc: auc(probs, labels),
    logloss: n ? ll / n : NaN,
    calibration: meanPrediction / positiveRate,
    meanPrediction,
    positiveRate,
    accuracy: n ? correct / n : NaN,
  };
}

/** ROC AUC by ranking: (sum of positive ranks − P(P+1)/2) / (P·N), average ranks for ties. */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const s = Float64Array.from(scores as ArrayLike<number>);
  order.sort((a, b) => s[a]! - s[b]!);
  let rankSumPos = 0;
  let pos = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && s[order[j + 1]!] === s[order[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]!] === 1) {
        rankSumPos += avgRank;
        pos++;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}
