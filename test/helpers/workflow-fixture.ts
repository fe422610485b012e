/**
 * A small workflow bucket for tests: the app-store config shrunk (one small hidden layer, small hash spaces,
 * three short epochs) and a few days of generated logs with few rows, so a whole retraining run takes
 * seconds on two cores.
 */
import { readFileSync } from 'node:fs';
import { generateLogs } from '../../src/generator/generate.ts';
import { storeFor } from '../../src/storage/index.ts';
import { layout } from '../../src/workflow/bucket/layout.ts';
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
