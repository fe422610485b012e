/**
 * The scoring package as the workflow uses it: the dry run loads candidates with its Scorer, and
 * batch scoring runs its Parquet scorer — the same code the scoring Lambda serves with.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Scorer, scoreParquetObject } from '../../scoring/index.ts';
import { isS3Uri } from '../../storage/index.ts';
import type { ScoreObjectFn } from './batch-score.ts';
import type { ServingScorer } from './serving-dry-run.ts';

/**
 * Opens `modelUri` with the serving code's Scorer, as the scoring Lambda does, on the float32
 * tower: the dry run checks float32 parity with evaluation (1e-4); an int8 tower is checked on
 * its own terms (int8-check.ts).
 */
export async function defaultScorerFactory(modelUri: string): Promise<ServingScorer> {
  const scorer = await Scorer.load(modelUri, { precision: 'fp32' });
  return {
    name: 'src/scoring Scorer',
    async score(request) {
      return (await scorer.score(request)).scores;
    },
    dispose: () => scorer.dispose(),
  };
}

/** Scores one Parquet object with the scoring package's batch scorer. */
export async function defaultScoreObject(args: Parameters<ScoreObjectFn>[0]): Promise<{ rows: number }> {
  // scoreParquet stages a local output beside its destination, so the folder must exist.
  if (!isS3Uri(args.output) && !args.output.startsWith('file://')) await mkdir(dirname(args.output), { recursive: true });
  const r = await scoreParquetObject(args);
  return { rows: r.rows };
}
