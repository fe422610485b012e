/**
 * The batch-scoring state machine's item processor and summary. The Distributed Map lists the
 * objects under the input prefix (ItemReader) and hands them out in batches (ItemBatcher); each
 * batch is one call here, which scores every Parquet object to the same relative key under the
 * output prefix. Locally the same processor runs inline over the same batches.
 */
import { z } from 'zod';
import { joinUri } from '../../storage/index.ts';
import { silentLogger, type Logger } from '../../util/log.ts';
import { WorkflowError } from '../errors.ts';
import { layout } from '../bucket/layout.ts';
import { readRegistry } from '../bucket/state.ts';
import { markBatchInProgress } from '../report/batch-in-progress.ts';
import type { ExpectedModel } from '../../scoring/expected-model.ts';

/** One S3 object as the Distributed Map's S3 ItemReader (listObjectsV2) gives it. */
export const batchItemSchema = z.object({ Key: z.string().min(1), Size: z.number().optional() }).passthrough();

export const batchInputSchema = z
  .object({
    /** Bucket root the keys are relative to, e.g. `s3://my-bucket` or a local folder. */
    bucketUri: z.string().min(1),
    inputPrefix: z.string(),
    outputPrefix: z.string().min(1),
    /** Model to score with. @default the registry's champion */
    modelUri: z.string().optional(),
  })
  .strict();
export type BatchInput = z.output<typeof batchInputSchema>;

/** What ItemBatcher delivers: `Items` plus the shared `BatchInput`. */
export const scoreBatchEventSchema = z.object({ Items: z.array(batchItemSchema), BatchInput: batchInputSchema }).strict();
export type ScoreBatchEvent = z.output<typeof scoreBatchEventSchema>;

export const scoreBatchResultSchema = z
  .object({
    objects: z.number().int(),
    skipped: z.number().int(),
    rows: z.number().int(),
    outputs: z.array(z.string()),
  })
  .strict();
export type ScoreBatchResult = z.output<typeof scoreBatchResultSchema>;

/** Scores one Parquet object to another; the scoring package provides it. */
export type ScoreObjectFn = (args: {
  input: string;
  output: string;
  modelUri?: string;
  /** The champion's version and model id, when `modelUri` is the champion: another model in its folder is refused. */
  expectedModel?: ExpectedModel;
}) => Promise<{ rows: number }>;

export interface ScoreBatchOptions {
  readonly scoreObject: ScoreObjectFn;
  readonly logger?: Logger;
}

/** Scores each `.parquet` item; other keys (folders, `_SUCCESS`) are counted as skipped. */
export async function scoreBatch(event: ScoreBatchEvent, options: ScoreBatchOptions): Promise<ScoreBatchResult> {
  const log = options.logger ?? silentLogger;
  const { bucketUri, inputPrefix, outputPrefix } = event.BatchInput;
  // Without an explicit model, score with the champion (what alias `live` serves), and only if its
  // folder holds the champion's model id, as serving checks (scoring/expected-model.ts).
  const l = layout(bucketUri);
  const champion = event.BatchInput.modelUri === undefined ? (await readRegistry(l)).champion : null;
  const modelUri = event.BatchInput.modelUri ?? champion?.uri;
  if (!modelUri) throw new WorkflowError(`no model to score with: pass modelUri, or promote a model first (no champion in ${l.registry})`);
  const expectedModel: ExpectedModel | undefined = champion
    ? { version: `v${champion.version}`, modelId: champion.modelId, source: `the registry ${l.registry}` }
    : undefined;
  let rows = 0;
  let skipped = 0;
  const outputs: string[] = [];
  let marked = false;
  for (const item of event.Items) {
    const name = item.Key.split('/').pop() ?? '';
    if (!item.Key.toLowerCase().endsWith('.parquet') || name.startsWith('_') || name.startsWith('.')) {
      skipped++;
      continue;
    }
    // Before this batch replaces any scores file, the prefix's report stops vouching for it
    // (report/batch-in-progress.ts); the run's summary writes the real one at the end.
    if (!marked) {
      await markBatchInProgress({ bucketUri, inputPrefix, outputPrefix, startedAt: new Date().toISOString() });
      marked = true;
    }
    const rel = item.Key.startsWith(inputPrefix) ? item.Key.slice(inputPrefix.length) : item.Key;
    const input = joinUri(bucketUri, item.Key);
    const output = joinUri(bucketUri, outputPrefix, rel);
    const r = await options.scoreObject({ input, output, modelUri, ...(expectedModel ? { expectedModel } : {}) });
    log.info(`scored ${input} → ${output} (${r.rows} rows)`);
    rows += r.rows;
    outputs.push(output);
  }
  return { objects: outputs.length, skipped, rows, outputs };
}

export const batchSummaryEventSchema = z
  .object({
    input: batchInputSchema.optional(),
    batches: z.array(scoreBatchResultSchema.partial().passthrough()),
  })
  .passthrough();
export type BatchSummaryEvent = z.output<typeof batchSummaryEventSchema>;

export interface BatchSummary {
  readonly batches: number;
  readonly objects: number;
  readonly skipped: number;
  readonly rows: number;
  readonly outputPrefix: string | null;
  /** The batch report (`_report.html` under the output prefix), when it was written. */
  readonly reportUri?: string | null;
}

/** Totals over the Map's results (failed batches, within the tolerated share, come back without counts). */
export function summarizeBatches(event: BatchSummaryEvent): BatchSummary {
  let objects = 0;
  let skipped = 0;
  let rows = 0;
  for (const b of event.batches) {
    objects += b.objects ?? 0;
    skipped += b.skipped ?? 0;
    rows += b.rows ?? 0;
  }
  return { batches: event.batches.length, objects, skipped, rows, outputPrefix: event.input?.outputPrefix ?? null };
}
