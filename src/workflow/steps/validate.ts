/**
 * Validate: evaluate the candidate and the champion on the same holdout, run the serving dry
 * run, and write a report (`validation.json`) beside the candidate. The candidate passes only
 * when every check holds; a first model (no champion) faces the absolute thresholds only.
 */
import type { BinaryMetrics } from '../../evaluation/metrics.ts';
import { evaluateModel } from '../../evaluation/evaluate.ts';
import { loadTrainableModel, type TrainableModel } from '../../model/trainable-model.ts';
import type { TowerKind } from '../../model/tower/kinds.ts';
import { silentLogger, type Logger } from '../../util/log.ts';
import { daysAfterValidation, withDropHint } from './days.ts';
import { readRunManifest } from './ingest.ts';
import { writeJson } from '../bucket/json-store.ts';
import { PredictionSample, writeRunReport } from '../report/collect.ts';
import { layout } from '../bucket/layout.ts';
import { WorkflowError } from '../errors.ts';
import type { RecordedMetrics, ValidateResult, ValidationCheck, ValidationReport } from '../schemas.ts';
import { holdoutRecords, runDryRun, type DryRunResult, type ServingScorerFactory } from './serving-dry-run.ts';
import { DEFAULT_THRESHOLDS, HOLDOUT_LABELS_CHECK, type ValidationThresholds } from './thresholds.ts';
import { INT8_TOWER_FILE } from '../../model/artifact.ts';
import type { ModelManifest } from '../../model/manifest.ts';
import type { RowSplit } from '../../data/row-split.ts';
import { compareInt8OnHoldout, int8Checks } from './int8-check.ts';
import { defaultScorerFactory } from './serving-scorer.ts';

export interface ValidateOptions {
  readonly manifestUri: string;
  /** @default DEFAULT_THRESHOLDS */
  readonly thresholds?: ValidationThresholds;
  /** How the dry run opens the candidate for serving. @default the scoring code (src/scoring) */
  readonly scorerFactory?: ServingScorerFactory;
  /** Backend for the evaluation passes. @default 'auto' */
  readonly backend?: TowerKind;
  readonly logger?: Logger;
  /** Write report.html beside validation.json (it never fails the run). @default true */
  readonly report?: boolean;
}

type Metrics = Pick<BinaryMetrics, 'rows' | 'auc' | 'logloss' | 'calibration'> & Partial<BinaryMetrics>;

export async function validateRun(options: ValidateOptions): Promise<ValidateResult> {
  const log = options.logger ?? silentLogger;
  const t = options.thresholds ?? DEFAULT_THRESHOLDS;
  const run = await readRunManifest(options.manifestUri);
  const sample = t.dryRunRequests * t.dryRunCandidatesPerRequest;

  // With a hash holdout, train and holdout read the same partitions and the split picks the rows.
  const split = run.split ? { ...run.split, take: 'holdout' as const } : undefined;
  const candidate = await loadTrainableModel(run.candidateUri, { ...(options.backend ? { backend: options.backend } : {}) });
  let candidateMetrics: Metrics;
  const expected = new Float32Array(sample);
  let records: Record<string, unknown>[];
  const withReport = options.report ?? true;
  const candidateSample = withReport ? new PredictionSample() : undefined;
  const championSample = withReport && run.champion ? new PredictionSample() : undefined;
  try {
    let seen = 0;
    candidateMetrics = await evaluateModel(candidate, run.holdout, {
      ...(split ? { split } : {}),
      onPredictions: (probs, labels) => {
        candidateSample?.add(probs, labels);
        const take = Math.min(probs.length, sample - seen);
        if (take > 0) expected.set(probs.subarray(0, take), seen);
        seen += Math.max(0, take);
      },
    });
    records = await holdoutRecords(candidate.transforms, run.holdout, sample, split);
  } catch (e) {
    throw withDropHint(e);
  } finally {
    candidate.model.dispose();
  }
  log.info(
    `candidate: auc ${fixed(candidateMetrics.auc, 4)} logloss ${fixed(candidateMetrics.logloss, 4)} calibration ${fixed(candidateMetrics.calibration, 3)} on ${candidateMetrics.rows} holdout rows`,
  );

  let championMetrics: Metrics | null = null;
  if (run.champion) {
    let champion: TrainableModel | undefined;
    try {
      champion = await loadTrainableModel(run.champion.uri, { ...(options.backend ? { backend: options.backend } : {}) });
      // Another model in the champion's folder (replaced or swapped by hand) would be the yardstick
      // the candidate is promoted over: a failure of the run, not a verdict on the candidate.
      if (champion.manifest.modelId !== run.champion.modelId)
        throw new WorkflowError(
          `the registry's champion v${run.champion.version} is model ${run.champion.modelId}, but ${run.champion.uri} holds model ${champion.manifest.modelId}: not validating against another model (the folder was replaced or swapped by hand?)`,
        );
      championMetrics = await evaluateModel(champion, run.holdout, {
        ...(split ? { split } : {}),
        ...(championSample ? { onPredictions: (probs: Float32Array, labels: Float32Array) => championSample.add(probs, labels) } : {}),
      });
    } finally {
      champion?.model.dispose();
    }
    log.info(`champion v${run.champion.version}: auc ${fixed(championMetrics.auc, 4)} logloss ${fixed(championMetrics.logloss, 4)}`);
  }

  let dryRun: DryRunResult;
  let dryRunError: string | undefined;
  try {
    const scorer = await (options.scorerFactory ?? defaultScorerFactory)(run.candidateUri);
    try {
      dryRun = await runDryRun(scorer, records, expected, t.dryRunCandidatesPerRequest);
    } finally {
      await scorer.dispose?.();
    }
  } catch (e) {
    // A candidate that the serving code cannot load or score is a rejection, not a crash.
    dryRunError = e instanceof Error ? e.message : String(e);
    dryRun = { requests: 0, scorer: 'failed', p95LatencyMs: 0, maxAbsDiff: 0, allFinite: false };
  }
  log.info(
    `dry run: ${dryRun.requests} requests via ${dryRun.scorer}, p95 ${dryRun.p95LatencyMs.toFixed(1)} ms, max |diff| ${dryRun.maxAbsDiff.toExponential(2)}`,
  );

  const int8 = await checkInt8(run.candidateUri, candidate.manifest, run.holdout, split, t, log);
  const checks = runChecks(t, candidateMetrics, championMetrics, dryRun, dryRunError, run.partitions.holdout);
  const reasons = checks.filter((c) => !c.passed).map((c) => c.message);
  const reportUri = layout(run.bucketUri).validationReport(run.candidateUri);
  const report: ValidationReport = {
    runId: run.runId,
    candidateUri: run.candidateUri,
    candidateModelId: candidate.manifest.modelId,
    champion: run.champion,
    holdout: run.holdout,
    passed: reasons.length === 0,
    reasons,
    checks,
    candidateMetrics: pickMetrics(candidateMetrics),
    championMetrics: championMetrics ? pickMetrics(championMetrics) : null,
    dryRun,
    thresholds: { ...t },
    ...(int8 ? { int8 } : {}),
    createdAt: new Date().toISOString(),
  };
  await writeJson(reportUri, report);
  // After validation.json and before Promote/Reject, so a rejected run has its report too.
  if (withReport) {
    await writeRunReport(
      {
        run,
        validation: report,
        days: daysAfterValidation(run, report),
        ...(candidateSample ? { candidatePredictions: candidateSample } : {}),
        ...(championSample ? { championPredictions: championSample } : {}),
      },
      log,
    );
  }
  return { passed: report.passed, reasons, reportUri, candidateUri: run.candidateUri, runId: run.runId };
}

/**
 * The int8 tower's gate, when the candidate's config asks for int8 serving and it has a tower.
 * A refusal does not reject the run: the float32 model passed its own checks and is fine, so it
 * promotes and serves float32 (Promote leaves tower-int8.safetensors out of the registry copy),
 * and the reasons say so. Rejecting would hold a good model back over an optional speed-up.
 */
async function checkInt8(
  uri: string,
  manifest: ModelManifest,
  holdout: readonly string[],
  split: RowSplit | undefined,
  t: ValidationThresholds,
  log: Logger,
): Promise<ValidationReport['int8']> {
  if (manifest.config.serving?.quantize !== 'int8' || !manifest.tower) return undefined;
  const fallback = 'the model is promoted and serves float32 (the int8 tower is left out of the registry copy)';
  if (!(INT8_TOWER_FILE in manifest.files)) {
    const reason = `int8: the config asks for int8 serving but the model lists no ${INT8_TOWER_FILE}; ${fallback}`;
    log.warn(reason);
    return { passed: false, serves: 'fp32', reasons: [reason], checks: [], comparison: null };
  }
  try {
    const c = await compareInt8OnHoldout(uri, holdout, {
      ...(split ? { split } : {}),
      maxRows: t.int8MaxRows,
      groupSize: t.int8GroupSize,
      topK: t.int8TopK,
    });
    const checks = int8Checks(t, c);
    const failed = checks.filter((x) => !x.passed).map((x) => x.message);
    const passed = failed.length === 0;
    log.info(
      `int8 vs float32 on ${c.rows} holdout rows: ΔAUC ${c.aucDelta.toExponential(2)}, mean Spearman ${c.spearmanMean.toFixed(5)}, top-${c.topK} overlap ${c.topKOverlapMean.toFixed(3)}: ${passed ? 'serves int8' : 'refused, serves float32'}`,
    );
    return {
      passed,
      serves: passed ? 'int8' : 'fp32',
      reasons: passed ? [] : [...failed, `int8 tower refused: ${fallback}`],
      checks,
      comparison: { ...c },
    };
  } catch (e) {
    const reason = `int8: the int8 tower could not be compared (${e instanceof Error ? e.message : String(e)}); ${fallback}`;
    log.warn(reason);
    return { passed: false, serves: 'fp32', reasons: [reason], checks: [], comparison: null };
  }
}

/** A metric for a log line: `undefined` where it has no value (NaN, ±Infinity). */
function fixed(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : 'undefined';
}

/** The metrics validation.json keeps; an undefined one (NaN, ±Infinity) is recorded as null. */
function pickMetrics(m: Metrics): RecordedMetrics {
  const defined = (x: number) => (Number.isFinite(x) ? x : null);
  return {
    rows: m.rows,
    auc: defined(m.auc),
    logloss: defined(m.logloss),
    calibration: defined(m.calibration),
    ...(m.positiveRate !== undefined ? { positiveRate: defined(m.positiveRate) } : {}),
    ...(m.accuracy !== undefined ? { accuracy: defined(m.accuracy) } : {}),
  };
}

/**
 * Why the holdout cannot validate any model, or undefined when it can: it must hold both label
 * classes, or AUC (and, with no positive, calibration) is undefined.
 */
export function holdoutLabelProblem(m: Pick<Metrics, 'rows' | 'positiveRate'>, holdoutDays: readonly string[] = []): string | undefined {
  const which =
    holdoutDays.length === 1
      ? `the holdout day ${holdoutDays[0]}`
      : holdoutDays.length > 1
        ? `the holdout (${holdoutDays.join(', ')})`
        : 'the holdout';
  if (m.rows === 0) return `${which} has no rows: no metric is defined`;
  const rate = m.positiveRate;
  if (rate === undefined || (rate > 0 && rate < 1)) return undefined;
  return `${which} has one label class (all ${m.rows} row${m.rows === 1 ? ' is' : 's are'} ${rate === 1 ? 1 : 0}): AUC is undefined`;
}

/**
 * Every gate, in report order. A NaN metric fails its check (NaN comparisons are false). The
 * first, `holdout_labels` (when the candidate's metrics carry the positive rate), names the cause
 * when the holdout itself cannot validate a model (one label class), so the reasons start with it.
 */
export function runChecks(
  t: ValidationThresholds,
  cand: Metrics,
  champ: Metrics | null,
  dry: DryRunResult,
  dryRunError?: string,
  holdoutDays: readonly string[] = [],
): ValidationCheck[] {
  const check = (name: string, value: number | null, ok: boolean, threshold: string, what: string): ValidationCheck => ({
    name,
    passed: ok,
    value: value !== null && Number.isFinite(value) ? value : null,
    threshold,
    message: ok ? `${name}: ${what} ok` : `${name}: ${what} fails ${threshold}`,
  });
  const f = (x: number) => fixed(x, 4);
  const labels: ValidationCheck[] = [];
  if (cand.positiveRate !== undefined) {
    const problem = holdoutLabelProblem(cand, holdoutDays);
    labels.push({
      name: HOLDOUT_LABELS_CHECK,
      passed: problem === undefined,
      value: Number.isFinite(cand.positiveRate) ? cand.positiveRate : null,
      threshold: 'both label classes (0 and 1) on the holdout',
      message:
        problem === undefined ? `${HOLDOUT_LABELS_CHECK}: positive rate ${f(cand.positiveRate)} ok` : `${HOLDOUT_LABELS_CHECK}: ${problem}`,
    });
  }
  const checks = [
    ...labels,
    check('min_auc', cand.auc, cand.auc >= t.minAuc, `auc ≥ ${t.minAuc}`, `auc ${f(cand.auc)}`),
    check('max_logloss', cand.logloss, cand.logloss <= t.maxLogloss, `logloss ≤ ${t.maxLogloss}`, `logloss ${f(cand.logloss)}`),
    check(
      'calibration_band',
      cand.calibration,
      cand.calibration >= t.calibrationMin && cand.calibration <= t.calibrationMax,
      `calibration in [${t.calibrationMin}, ${t.calibrationMax}]`,
      `calibration ${f(cand.calibration)}`,
    ),
  ];
  if (champ) {
    const drop = champ.auc - cand.auc;
    const rise = cand.logloss - champ.logloss;
    checks.push(
      check(
        'max_auc_drop',
        drop,
        drop <= t.maxAucDrop,
        `auc drop ≤ ${t.maxAucDrop}`,
        `auc ${f(cand.auc)} vs champion ${f(champ.auc)} (drop ${f(drop)})`,
      ),
      check(
        'max_logloss_rise',
        rise,
        rise <= t.maxLoglossRise,
        `logloss rise ≤ ${t.maxLoglossRise}`,
        `logloss ${f(cand.logloss)} vs champion ${f(champ.logloss)} (rise ${f(rise)})`,
      ),
    );
  }
  if (dryRunError !== undefined) {
    checks.push({
      name: 'dry_run',
      passed: false,
      value: null,
      threshold: 'the scoring code loads and scores the candidate',
      message: `dry_run: serving failed: ${dryRunError}`,
    });
  } else {
    checks.push(
      check('dry_run_finite', null, dry.allFinite && dry.requests > 0, 'all scores finite', `${dry.requests} requests`),
      check(
        'dry_run_parity',
        dry.maxAbsDiff,
        dry.maxAbsDiff <= t.parityTolerance,
        `|serving − evaluation| ≤ ${t.parityTolerance}`,
        `max |diff| ${dry.maxAbsDiff.toExponential(2)}`,
      ),
      check(
        'dry_run_latency',
        dry.p95LatencyMs,
        dry.p95LatencyMs <= t.latencyBudgetMs,
        `p95 ≤ ${t.latencyBudgetMs} ms`,
        `p95 ${dry.p95LatencyMs.toFixed(1)} ms`,
      ),
    );
  }
  return checks;
}
