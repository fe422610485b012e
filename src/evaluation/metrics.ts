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

/** ROC AUC as the Mann–Whitney U statistic, ties counted as half. NaN with one class only. */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  return new RankedScores(scores).auc(labels);
}

/**
 * Predictions sorted once, for AUCs of the same scores under different row weights (the paired
 * bootstrap redraws rows as counts: src/evaluation/bootstrap.ts); each AUC is then one pass.
 */
export class RankedScores {
  /** Row indices in increasing score order. */
  readonly #order: Uint32Array;
  /** One past the last position of the tie group each position is in. */
  readonly #groupEnd: Uint32Array;

  constructor(scores: ArrayLike<number>) {
    const n = scores.length;
    const s = Float64Array.from(scores as ArrayLike<number>);
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => s[a]! - s[b]!);
    const groupEnd = new Uint32Array(n);
    let i = 0;
    while (i < n) {
      let j = i;
      while (j + 1 < n && s[order[j + 1]!] === s[order[i]!]) j++;
      for (let k = i; k <= j; k++) groupEnd[k] = j + 1;
      i = j + 1;
    }
    this.#order = order;
    this.#groupEnd = groupEnd;
  }

  /** AUC with row i counted weight[i] times (every row once when no weights are given). */
  auc(labels: ArrayLike<number>, weight?: ArrayLike<number>): number {
    const order = this.#order;
    const groupEnd = this.#groupEnd;
    let negBelow = 0;
    let pairs = 0;
    let pos = 0;
    let k = 0;
    while (k < order.length) {
      const end = groupEnd[k]!;
      let groupPos = 0;
      let groupNeg = 0;
      for (let m = k; m < end; m++) {
        const r = order[m]!;
        const w = weight ? weight[r]! : 1;
        if (labels[r] === 1) groupPos += w;
        else groupNeg += w;
      }
      pairs += groupPos * (negBelow + 0.5 * groupNeg);
      negBelow += groupNeg;
      pos += groupPos;
      k = end;
    }
    return pos === 0 || negBelow === 0 ? Number.NaN : pairs / (pos * negBelow);
  }
}
