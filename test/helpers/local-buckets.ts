/**
 * Bucket folders for the local end-to-end tests: each test makes its own (so it passes alone and in
 * any order), with the small config and three days of logs, and runs `npm start`'s runner on it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalPipelineOptions, type LocalPipelineResult, runLocalPipeline } from '../../local/run-retraining.ts';
import { type BucketLayout, layout } from '../../src/workflow/bucket/layout.ts';
import { addDays, TEST_THRESHOLDS, writeConfig } from './workflow-fixture.ts';

export interface LocalBucket {
  readonly dir: string;
  readonly l: BucketLayout;
}

export interface LocalBuckets {
  /** A new bucket folder with the config and days 2026-01-01..03. */
  newBucket(): Promise<LocalBucket>;
  /** A new bucket whose champion is v1 (trained on the first two days, the third held out). */
  bucketWithChampion(): Promise<LocalBucket>;
  /** The local pipeline on `dir` with the test thresholds and no progress bar. */
  run(dir: string, extra?: Partial<LocalPipelineOptions>): Promise<LocalPipelineResult>;
  /** Deletes every folder made (call from `after`). */
  cleanup(): Promise<void>;
}

export function localBuckets(prefix: string): LocalBuckets {
  const dirs: string[] = [];
  const run = (dir: string, extra: Partial<LocalPipelineOptions> = {}) =>
    runLocalPipeline({ bucketUri: dir, thresholds: TEST_THRESHOLDS, progress: false, ...extra });
  const newBucket = async (): Promise<LocalBucket> => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    await writeConfig(dir);
    await addDays(dir, 3);
    return { dir, l: layout(dir) };
  };
  return {
    newBucket,
    run,
    async bucketWithChampion() {
      const b = await newBucket();
      const r = await run(b.dir);
      assert.equal(r.status, 'promoted', JSON.stringify(r.error ?? r.validation));
      return b;
    },
    async cleanup() {
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}
