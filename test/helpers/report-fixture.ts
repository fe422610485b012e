/**
 * A run report's input with real numbers and no training: predictions drawn from a seeded
 * logistic model, so the ROC and calibration curves are real curves.
 */
import { binaryMetrics } from '../../src/evaluation/metrics.ts';
import { reliabilityBins, rocPoints } from '../../src/evaluation/plots.ts';
import { Rng } from '../../src/util/random.ts';
import type { RunReportInput } from '../../src/workflow/report/run-report.ts';
import { DEFAULT_THRESHOLDS } from '../../src/workflow/steps/thresholds.ts';
import { runChecks } from '../../src/workflow/steps/validate.ts';

/** Predictions of a model whose logit carries `signal` × the true one, and the labels. */
export function predictions(n: number, signal: number, seed = 1): { probs: Float32Array; labels: Float32Array } {
  const rng = new Rng(seed);
  const probs = new Float32Array(n);
  const labels = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const z = rng.normal() * 1.2 - 2.2;
    labels[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    probs[i] = 1 / (1 + Math.exp(-(signal * z + (1 - signal) * -2.2 + (1 - signal) * rng.normal() * 0.3)));
  }
  return { probs, labels };
}

export const HOSTILE = '<img src=x onerror=alert(1)>';

export function reportInput(overrides: Partial<RunReportInput> = {}): RunReportInput {
  const cand = predictions(20_000, 0.9, 1);
  const champ = predictions(20_000, 0.7, 1);
  const cm = binaryMetrics(cand.probs, cand.labels);
  const hm = binaryMetrics(champ.probs, champ.labels);
  const checks = runChecks(DEFAULT_THRESHOLDS, cm, hm, {
    requests: 32,
    scorer: 'onnx',
    p95LatencyMs: 3.2,
    maxAbsDiff: 2e-7,
    allFinite: true,
  });
  const lossCurve = Array.from({ length: 600 }, (_, i) => ({
    examples: (i + 1) * 500,
    loss: 0.3 + 0.2 * Math.exp(-i / 80),
    epoch: 1 + Math.floor(i / 200),
  }));
  return {
    runId: 'run-20260104-abc',
    createdAt: '2026-01-05T02:00:00.000Z',
    passed: checks.every((c) => c.passed),
    checks,
    candidate: {
      name: 'candidate',
      modelId: 'm-cand',
      uri: '/b/models/candidates/run-20260104-abc',
      metrics: cm,
      roc: rocPoints(cand.probs, cand.labels, 300),
      reliability: reliabilityBins(cand.probs, cand.labels),
    },
    champion: {
      name: 'champion v1',
      version: 1,
      modelId: 'm-champ',
      uri: '/b/models/registry/v1',
      metrics: hm,
      roc: rocPoints(champ.probs, champ.labels, 300),
      reliability: reliabilityBins(champ.probs, champ.labels),
    },
    dryRun: { requests: 32, scorer: 'onnx', p95LatencyMs: 3.2, maxAbsDiff: 2e-7, allFinite: true },
    training: {
      lossCurve,
      validationCurve: [1, 2, 3].map((epoch) => ({
        examples: epoch * 100_000,
        epoch,
        logloss: 0.33 - 0.01 * epoch,
        auc: 0.75 + 0.01 * epoch,
      })),
      bestEpoch: 3,
      examplesPerSecond: 24_000,
      trainSeconds: 12.5,
      epochs: 3,
      backend: 'onnx',
      rows: 100_000,
      skippedRows: 0,
    },
    trainDays: [
      { day: '2026-01-02', rows: 50_000, positives: 5_400 },
      { day: '2026-01-03', rows: 50_000, positives: 5_600 },
    ],
    holdout: { days: ['2026-01-04'], rows: cm.rows, positives: Math.round(cm.positiveRate * cm.rows) },
    oov: [
      { feature: 'app_id', tokens: 20_000, share: 0.0125, parentShare: 0.031, hashed: false },
      { feature: HOSTILE, tokens: 20_000, share: 0.5, parentShare: null, hashed: false },
      { feature: 'user', tokens: 20_000, share: 0, parentShare: null, hashed: true },
    ],
    vocabulary: [
      {
        feature: HOSTILE,
        parentSize: 10,
        candidateSize: 12,
        newTokens: 2,
        droppedTokens: 0,
        newExamples: [`${HOSTILE}-token`, 'b&b'],
        topTurnover: 0.2,
        psi: 0.042,
        topK: 10,
      },
    ],
    numericDrift: [
      {
        feature: 'app_price',
        psi: 0.31,
        band: 'major',
        buckets: 10,
        approximate: false,
        reference: 'sample',
        missingShare: 0,
        rows: 20_000,
      },
      {
        feature: 'hour_of_day',
        psi: 0.004,
        band: 'stable',
        buckets: 10,
        approximate: false,
        reference: 'quantiles',
        missingShare: 0.01,
        rows: 20_000,
      },
    ],
    sparsity: { wideZeroFraction: 0.305, wideTouchedZeroFraction: 0.27, wideCoordinates: 1_048_576 },
    lineage: { parent: { version: 1, modelId: 'm-champ', uri: '/b/models/registry/v1' }, lateFiles: [], quarantined: [], skipped: [] },
    days: { held: [], untrained: ['2026-01-04'], note: 'Once promoted, the training days 2026-01-02, 2026-01-03 are in the champion.' },
    notes: [],
    ...overrides,
  };
}
