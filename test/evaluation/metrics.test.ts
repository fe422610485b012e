import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auc, binaryMetrics, RankedScores } from '../../src/evaluation/metrics.ts';

test('auc of a perfect ranking is 1 and of a reversed one is 0', () => {
  assert.equal(auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1);
  assert.equal(auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
});

test('auc counts ties as half', () => {
  // pairs (pos, neg): (0.5 vs 0.5) tie → 0.5, (0.5 vs 0.1) → 1; AUC = 1.5 / 2 = 0.75
  assert.equal(auc([0.5, 0.5, 0.1], [1, 0, 0]), 0.75);
});

test('auc hand example', () => {
  // positives 0.8, 0.4; negatives 0.6, 0.2: pairs won 0.8>0.6, 0.8>0.2, 0.4>0.2 → 3/4
  assert.equal(auc([0.8, 0.6, 0.4, 0.2], [1, 0, 1, 0]), 0.75);
});

test('binaryMetrics: logloss, calibration and accuracy', () => {
  const m = binaryMetrics([0.5, 0.5, 0.25, 0.75], [1, 0, 0, 1]);
  // logloss = −(ln .5 + ln .5 + ln .75 + ln .75)/4 = 0.4904146
  assert.ok(Math.abs(m.logloss - 0.4904146) < 1e-6);
  assert.equal(m.meanPrediction, 0.5);
  assert.equal(m.positiveRate, 0.5);
  assert.equal(m.calibration, 1);
  assert.equal(m.accuracy, 0.75);
  assert.equal(m.rows, 4);
});

test('auc is NaN with a single class', () => {
  assert.ok(Number.isNaN(auc([0.1, 0.2], [0, 0])));
});

test('auc equals pair counting (ties as half); a weighted AUC equals the AUC of the rows repeated', () => {
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const n = 300;
  const scores = Array.from({ length: n }, () => Math.round(next() * 40) / 40); // many ties
  const labels = scores.map((s) => (next() < 0.2 + 0.6 * s ? 1 : 0));
  let pairs = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < n; j++) {
      if (labels[j] !== 0) continue;
      count++;
      pairs += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  assert.ok(Math.abs(auc(scores, labels) - pairs / count) < 1e-12);

  const weights = scores.map(() => Math.floor(next() * 4)); // 0–3 copies of each row
  const repeatedScores = scores.flatMap((s, i) => Array(weights[i]).fill(s) as number[]);
  const repeatedLabels = labels.flatMap((y, i) => Array(weights[i]).fill(y) as number[]);
  assert.ok(Math.abs(new RankedScores(scores).auc(labels, weights) - auc(repeatedScores, repeatedLabels)) < 1e-12);
});
