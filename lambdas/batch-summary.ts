/** Batch-scoring summary Lambda: totals over the Distributed Map's batch results. */
import { batchSummaryEventSchema, summarizeBatches, type BatchSummary } from '../src/workflow/steps/batch-score.ts';
import { parseEvent } from '../src/workflow/schemas.ts';
import { observe } from './shared/runtime.ts';

export function createBatchSummaryHandler() {
  return async (event: unknown): Promise<BatchSummary> => summarizeBatches(parseEvent('Summarize', batchSummaryEventSchema, event));
}

export const handler = observe('Summarize', async (event: unknown) => createBatchSummaryHandler()(event));
