import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LocalPipelineResult } from '../../local/run-retraining.ts';
import { summaryScreen } from '../../local/run-summary.ts';
import type { ValidationReport } from '../../src/workflow/schemas.ts';
import { DEFAULT_THRESHOLDS } from '../../src/workflow/steps/thresholds.ts';
import { runChecks } from '../../src/workflow/steps/validate.ts';

const dry = { requests: 32, scorer: 'onnx', p95LatencyMs: 3, maxAbsDiff: 1e-7, allFinite: true };
const cand = { rows: 50_000, auc: 0.7605, logloss: 0.2887, calibration: 0.974 };
const champ = { rows: 50_000, auc: 0.7518, logloss: 0.2941, calibration: 0.9 };
const base = { bucketUri: '/b', executionName: 'local-x', states: [], seconds: 12.5 };
const validation = {
  passed: true,
  reasons: [],
  reportUri: '/b/models/candidates/r1/validation.json',
  candidateUri: '/b/models/candidates/r1',
  runId: 'r1',
};
const ingest = {
  hasNewData: true as const,
  runId: 'r1',
  manifestUri: '/b/runs/r1/manifest.json',
  candidateUri: '/b/models/candidates/r1',
  trainPartitions: ['2026-01-03'],
  holdoutPartitions: ['2026-01-04'],
  champion: { version: 1, uri: '/b/models/registry/v1', modelId: 'm1' },
  quarantined: [],
  lateFiles: [],
  skippedFiles: [],
};

function report(checks: ValidationReport['checks']): ValidationReport {
  return {
    runId: 'r1',
    candidateUri: '/b/models/candidates/r1',
    candidateModelId: 'm2',
    champion: { version: 1, uri: '/b/models/registry/v1', modelId: 'm1' },
    holdout: ['/b/logs/dt=2026-01-04/'],
    passed: checks.every((c) => c.passed),
    reasons: checks.filter((c) => !c.passed).map((c) => c.message),
    checks,
    candidateMetrics: cand,
    championMetrics: champ,
    dryRun: dry,
    thresholds: { ...DEFAULT_THRESHOLDS },
    createdAt: '2026-01-05T00:00:00Z',
  };
}

describe('the summary screen at the end of npm start', () => {
  it('a promotion: verdict, candidate against champion, report path, next commands', () => {
    const r: LocalPipelineResult = {
      ...base,
      status: 'promoted',
      ingest,
      validation,
      promotion: {
        version: 2,
        modelUri: '/b/models/registry/v2',
        modelId: 'm2',
        parentVersion: 1,
        lambdaVersion: null,
        alreadyPromoted: false,
      },
    };
    const lines = summaryScreen(r, {
      validation: report(runChecks(DEFAULT_THRESHOLDS, cand, champ, dry)),
      reportUri: '/b/models/candidates/r1/report.html',
      platform: 'linux',
    });
    const screen = lines.join('\n');
    assert.match(screen, /PROMOTED v2 \(m2\), warm-started from v1/);
    assert.match(screen, /candidate +champion v1 +Δ/);
    assert.match(screen, /AUC +0\.7605 +0\.7518 +\+0\.0087/);
    assert.match(screen, /logloss +0\.2887 +0\.2941 +-0\.0054/);
    assert.match(screen, /checks: all 8 passed/);
    assert.match(screen, /report: \/b\/models\/candidates\/r1\/report\.html/);
    assert.match(screen, /next: +xdg-open \/b\/models\/candidates\/r1\/report\.html/);
    assert.match(screen, /npx wdp runs show r1 --bucket \/b/);
    assert.match(screen, /npx wdp models list --bucket \/b/);
  });

  it('a rejection names the failed checks with their thresholds and the held days', () => {
    const bad = { ...cand, auc: 0.5012 };
    const r: LocalPipelineResult = { ...base, status: 'rejected', ingest, validation: { ...validation, passed: false } };
    const screen = summaryScreen(r, {
      validation: report(runChecks(DEFAULT_THRESHOLDS, bad, champ, dry)),
      reportUri: null,
      held: [{ day: '2026-01-04', role: 'holdout' }],
    }).join('\n');
    assert.match(screen, /checks: 2 of 8 failed: min_auc \(auc ≥ 0\.6\), max_auc_drop \(auc drop ≤ 0\.01\)/);
    assert.match(screen, /held back: 2026-01-04 \(holdout\) — npx wdp days release 2026-01-04 --bucket \/b/);
    assert.match(screen, /report: not written/);
  });

  it('no new data stays short', () => {
    const lines = summaryScreen({
      ...base,
      bucketUri: '.wdp/bucket',
      status: 'no_new_data',
      ingest: { hasNewData: false, reason: 'no partition after 2026-01-04' },
    });
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^NO NEW DATA: no partition after 2026-01-04$/);
    assert.match(lines[1]!, /npx wdp generate --out \.wdp\/bucket\/logs\/ --days 1 && npm start/);
  });
});
