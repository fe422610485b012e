/** Batch-scoring summary Lambda: totals over the Distributed Map's batch results, and the batch report. */
import { batchSummaryEventSchema, summarizeBatches, type BatchSummary } from '../src/workflow/steps/batch-score.ts';
import { writeBatchReport } from '../src/workflow/report/batch-report.ts';
import { parseEvent } from '../src/workflow/schemas.ts';
import { silentLogger, type Logger } from '../src/util/log.ts';
import { observe } from './shared/runtime.ts';

export function createBatchSummaryHandler(logger: Logger = silentLogger) {
  return async (event: unknown): Promise<BatchSummary> => {
    const e = parseEvent('Summarize', batchSummaryEventSchema, event);
    const summary = summarizeBatches(e);
    // The report needs the bucket and the outputs; it never fails the run (a warning at most).
    const reportUri =
      e.input && summary.outputPrefix
        ? await writeBatchReport(
            {
              bucketUri: e.input.bucketUri,
              inputPrefix: e.input.inputPrefix,
              outputPrefix: summary.outputPrefix,
              batches: e.batches,
              objects: summary.objects,
              skipped: summary.skipped,
              rows: summary.rows,
            },
            logger,
          )
        : undefined;
    return { ...summary, reportUri: reportUri ?? null };
  };
}

export const handler = observe('Summarize', async (event: unknown, logger) => createBatchSummaryHandler(logger)(event));
