/**
 * Batch-scoring item processor Lambda: scores one ItemBatcher batch of Parquet objects with the
 * scoring package. Only scoring code is imported, so the bundle carries no training code.
 */
import { parseEvent } from '../src/workflow/schemas.ts';
import { scoreBatch, scoreBatchEventSchema, type ScoreBatchResult, type ScoreObjectFn } from '../src/workflow/steps/batch-score.ts';
import { defaultScoreObject } from '../src/workflow/steps/serving-scorer.ts';
import { silentLogger, type Logger } from '../src/util/log.ts';
import { observe } from './shared/runtime.ts';

export function createScoreBatchHandler(scoreObject: ScoreObjectFn = defaultScoreObject, logger: Logger = silentLogger) {
  return async (event: unknown): Promise<ScoreBatchResult> =>
    scoreBatch(parseEvent('ScoreObjects', scoreBatchEventSchema, event), { scoreObject, logger });
}

export const handler = observe('ScoreObjects', (event: unknown, logger) => createScoreBatchHandler(defaultScoreObject, logger)(event));
