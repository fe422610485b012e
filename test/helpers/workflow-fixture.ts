/**
 * A small workflow bucket for tests: the app-store config shrunk (one small hidden layer, small hash spaces,
 * three short epochs) and a few days of generated logs with few rows, so a whole retraining run takes
 * seconds on two cores.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { generateLogs } from '../../src/generator/generate.ts';
import { storeFor } from '../../src/storage/index.ts';
import { writeJson } from '../../src/workflow/bucket/json-store.ts';
import { layout } from '../../src/workflow/bucket/layout.ts';
import { type RunManifest, type ValidationReport, watermarkSchema } from '../../src/workflow/schemas.ts';
import { thresholdsSchema, type ValidationThresholds } from '../../src/workflow/steps/thresholds.ts';

export const TEST_ROWS_PER_DAY = 5000;

export function smallConfig(): Record<string, unknown> {
  // biome-ignore lint/suspicious/noExplicitAny: a config document edited by key in tests
  const cfg = JSON.parse(readFileSync(new URL('../../examples/app-store/wdp.config.json', import.meta.url), 'utf8')) as Record<string, any>;
  cfg.deep.hiddenUnits = [32];
  cfg.wide.crosses = cfg.wide.crosses.map((c: { hashBuckets: number }) => ({ ...c, hashBuckets: Math.min(c.hashBuckets, 4096) }));
  cfg.training = { ...cfg.training, epochs: 3, batchSize: 256, shuffleBuffer: 4096 };
  for (const f of Object.values(cfg.features) as { vocab?: { minCount: number } }[]) if (f.vocab) f.vocab.minCount = 2;
  return cfg;
}

/** Lenient gates for tiny data; a shuffled-label holdout (AUC ≈ 0.5) still fails min_auc. */
export const TEST_THRESHOLDS: ValidationThresholds = thresholdsSchema.parse({
  minAuc: 0.56,
  maxLogloss: 0.7,
  calibrationMin: 0.5,
  calibrationMax: 2,
  maxAucDrop: 0.05,
  maxLoglossRise: 0.05,
  dryRunRequests: 4,
  dryRunCandidatesPerRequest: 4,
  latencyBudgetMs: 2000,
});

export async function writeConfig(bucketUri: string): Promise<void> {
  const uri = layout(bucketUri).config;
  await storeFor(uri).write(uri, JSON.stringify(smallConfig()));
}

export async function addDays(
  bucketUri: string,
  days: number,
  options: { shuffleLabels?: boolean; rowsPerDay?: number } = {},
): Promise<string[]> {
  const out = layout(bucketUri).logs;
  const r = await generateLogs(
    { days, rowsPerDay: options.rowsPerDay ?? TEST_ROWS_PER_DAY, seed: 7, out, shuffleLabels: options.shuffleLabels ?? false },
    storeFor(out),
  );
  return r.days;
}

export interface StagedRunOptions {
  readonly runId: string;
  /** Where the run's candidate model is (already saved there by the caller). */
  readonly candidateUri: string;
  /** @default true */
  readonly passed?: boolean;
  /** @default null (no champion) */
  readonly champion?: RunManifest['champion'];
  /** @default smallConfig() */
  readonly config?: Record<string, unknown>;
  /** The day the run's promotion moves the watermark through (left untrained: it was held out). @default '2026-01-02' */
  readonly through?: string;
}

/**
 * Writes what Ingest and Validate leave for Promote/Reject: the run manifest (train 2026-01-01,
 * hold out 2026-01-02) and the candidate's validation report. Returns the run manifest's URI.
 */
export async function stageValidatedRun(bucketUri: string, o: StagedRunOptions): Promise<string> {
  const l = layout(bucketUri);
  const { runId, candidateUri } = o;
  const passed = o.passed ?? true;
  const champion = o.champion ?? null;
  const now = new Date().toISOString();
  const manifest: RunManifest = {
    formatVersion: 1,
    runId,
    createdAt: now,
    bucketUri,
    configUri: l.config,
    config: o.config ?? smallConfig(),
    partitions: { train: ['2026-01-01'], holdout: ['2026-01-02'] },
    data: [`${l.logs}dt=2026-01-01/`],
    holdout: [`${l.logs}dt=2026-01-02/`],
    champion,
    candidateUri,
    watermarkAfter: watermarkSchema.parse({
      through: o.through ?? '2026-01-02',
      untrained: [o.through ?? '2026-01-02'],
      runId,
      updatedAt: now,
    }),
  };
  const report: ValidationReport = {
    runId,
    candidateUri,
    candidateModelId: runId,
    champion,
    holdout: manifest.holdout,
    passed,
    reasons: passed ? [] : ['min_auc: auc 0.5000 fails auc ≥ 0.6'],
    checks: [],
    candidateMetrics: { rows: 10, auc: 0.7, logloss: 0.3, calibration: 1 },
    championMetrics: null,
    dryRun: { requests: 1, scorer: 'test', p95LatencyMs: 1, maxAbsDiff: 0, allFinite: true },
    thresholds: {},
    createdAt: now,
  };
  await writeJson(l.runManifest(runId), manifest);
  await writeJson(l.validationReport(candidateUri), report);
  return l.runManifest(runId);
}

/**
 * Makes folder buckets with two days of generated logs (2026-01-01, 2026-01-02), removed once the
 * test file is done. Call it at the top level of a test file: it registers that cleanup there.
 * @example const newBucket = tempLogBuckets('wdp-promote-race-'); … const bucket = await newBucket();
 */
export function tempLogBuckets(prefix: string, rowsPerDay = 600): () => Promise<string> {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    await addDays(dir, 2, { rowsPerDay });
    return dir;
  };
}

export interface TrainedRunOptions extends Omit<StagedRunOptions, 'runId' | 'candidateUri' | 'config'> {
  /** Warm-start the candidate from the champion's folder, as Train does. @default false */
  readonly warmStart?: boolean;
}

/**
 * A candidate trained on 2026-01-01 with model id `runId` (smallConfig) under the bucket's
 * candidates, and what Ingest and Validate leave for Promote/Reject (stageValidatedRun). Returns
 * the run manifest's URI.
 */
export async function stageTrainedRun(bucketUri: string, runId: string, o: TrainedRunOptions = {}): Promise<string> {
  // Loaded here, not at the top: most users of this module never train, and training loads tfjs.
  const [{ parseConfig }, { trainModel }] = await Promise.all([import('../../src/config/index.ts'), import('../../src/training/train.ts')]);
  const l = layout(bucketUri);
  const candidateUri = l.candidate(runId);
  const { warmStart, ...staged } = o;
  await trainModel({
    config: parseConfig(smallConfig(), 'test'),
    data: [`${l.logs}dt=2026-01-01/`],
    out: candidateUri,
    progress: false,
    modelId: runId,
    ...(warmStart && o.champion ? { warmStart: o.champion.uri } : {}),
  });
  return stageValidatedRun(bucketUri, { ...staged, runId, candidateUri });
}
