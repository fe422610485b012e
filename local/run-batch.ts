/**
 * `wdp score-batch` locally: the synthesized batch-scoring state machine's own item processor,
 * run inline. aws-local-stepfunctions has no Distributed Map, so this does what the Map's
 * ItemReader and ItemBatcher would (list the objects under the input prefix, cut them into
 * batches of MaxItemsPerBatch with the BatchInput), runs the ItemProcessor definition on each
 * batch, applies ToleratedFailurePercentage, and then the Summarize step.
 */
import { createBatchSummaryHandler } from '../lambdas/batch-summary.ts';
import { createScoreBatchHandler } from '../lambdas/score-batch.ts';
import { joinUri, storeFor } from '../src/storage/index.ts';
import { lockOutput } from '../src/storage/output-lock.ts';
import type { Logger } from '../src/util/log.ts';
import type { BatchSummary, ScoreObjectFn } from '../src/workflow/steps/batch-score.ts';
import { PREFIXES } from '../src/workflow/bucket/layout.ts';
import { WorkflowError } from '../src/workflow/errors.ts';
import { BATCH_STATES as S } from '../src/workflow/state-names.ts';
import { synthesizedDefinitions, type Asl } from './definition.ts';
import { executeLocally } from './execute.ts';

export interface LocalBatchOptions {
  /** @default '.wdp/bucket' */
  readonly bucketUri?: string;
  /** Key prefix of the input objects, relative to the bucket. */
  readonly inputPrefix: string;
  /** Key prefix the scores are written under. */
  readonly outputPrefix: string;
  /** @default the champion */
  readonly modelUri?: string;
  readonly scoreObject?: ScoreObjectFn;
  readonly logger?: Logger;
  readonly print?: (line: string) => void;
}

export interface LocalBatchResult {
  readonly status: 'succeeded' | 'failed';
  readonly summary?: BatchSummary;
  readonly failedBatches: number;
  readonly batches: number;
  readonly error?: string;
}

interface MapState {
  ItemBatcher?: { MaxItemsPerBatch?: number; BatchInput?: Record<string, unknown> };
  ItemProcessor: Asl;
  ToleratedFailurePercentage?: number;
}

/** Resolves `{"k.$": "$.field"}` entries against `input` (the only paths the definition uses). */
function resolvePaths(template: Record<string, unknown>, input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(template)) {
    if (k.endsWith('.$') && typeof v === 'string' && v.startsWith('$.')) out[k.slice(0, -2)] = input[v.slice(2)];
    else out[k] = v;
  }
  return out;
}

/** A key prefix with `.` segments and repeated slashes dropped (how a local folder bucket reads it). */
function plainPrefix(prefix: string): string {
  const trailing = prefix.endsWith('/');
  const key = prefix
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
  return trailing && key !== '' ? `${key}/` : key;
}

/**
 * Refuses prefixes that overlap, one a beginning of the other: each input is scored to its own
 * relative key under the output prefix, so equal prefixes replaced every input with its scores,
 * and an output under the input prefix is read as input by the next run. The deployed state
 * machine cannot meet this (CheckPrefixes keeps them under batch/input/ and batch/output/), but
 * the local run does not go through that check.
 * @throws WorkflowError naming both prefixes
 */
function refuseOverlappingPrefixes(inputPrefix: string, outputPrefix: string): void {
  const input = plainPrefix(inputPrefix);
  const output = plainPrefix(outputPrefix);
  if (output.startsWith(input) || input.startsWith(output))
    throw new WorkflowError(
      `output prefix ${outputPrefix} overlaps the input prefix ${inputPrefix}: the scores would be written over or among the objects being scored; write them under a prefix of their own (deployed: under ${PREFIXES.batchOutput})`,
    );
  // The workflow's own areas: a batch writes its in-progress report page before it scores, so an
  // output in a model's folder (models/registry/v1/) left a page there before scoreParquet refused.
  const own = Object.entries(PREFIXES)
    .filter(([name]) => name !== 'batchInput' && name !== 'batchOutput')
    .map(([, prefix]) => prefix as string)
    .find((prefix) => output.startsWith(prefix) || prefix.startsWith(output));
  if (own !== undefined)
    throw new WorkflowError(
      `output prefix ${outputPrefix} overlaps the workflow's ${own}: batch scores are written under a prefix of their own (deployed: under ${PREFIXES.batchOutput})`,
    );
}

export async function runLocalBatchScoring(options: LocalBatchOptions): Promise<LocalBatchResult> {
  const bucketUri = options.bucketUri ?? '.wdp/bucket';
  refuseOverlappingPrefixes(options.inputPrefix, options.outputPrefix);
  // One run per output prefix: each scores file has its own lock, but two runs to one prefix
  // (say with two models) would otherwise take turns file by file, and the prefix and its report
  // would end up a mix of both, each run reporting success. The second fails here, naming the first.
  const lock = await lockOutput(joinUri(bucketUri, options.outputPrefix), 'this batch output prefix');
  try {
    return await runBatches(options, bucketUri);
  } finally {
    await lock?.release();
  }
}

async function runBatches(options: LocalBatchOptions, bucketUri: string): Promise<LocalBatchResult> {
  const print = options.print ?? (() => {});
  const { batchScoring } = await synthesizedDefinitions();
  const map = batchScoring.States[S.map] as unknown as MapState | undefined;
  if (!map?.ItemProcessor) throw new WorkflowError(`the batch-scoring definition has no ${S.map} Map state`);

  const input = { inputPrefix: options.inputPrefix, outputPrefix: options.outputPrefix };
  const prefixUri = joinUri(bucketUri, options.inputPrefix);
  const root = `${bucketUri.replace(/\/+$/, '')}/`;
  const objects = (await storeFor(prefixUri).list(prefixUri)).map((b) => ({ Key: b.uri.slice(root.length), Size: b.sizeBytes }));
  const perBatch = map.ItemBatcher?.MaxItemsPerBatch ?? 1;
  // BatchInput.bucketUri is the deployed bucket's s3:// URI; locally the bucket is `bucketUri`.
  const batchInput = {
    ...resolvePaths(map.ItemBatcher?.BatchInput ?? {}, input),
    bucketUri,
    ...(options.modelUri ? { modelUri: options.modelUri } : {}),
  };
  const handler = createScoreBatchHandler(options.scoreObject, options.logger);
  // The previous run's report stops vouching for the prefix before any scores file is replaced:
  // each batch (the same handler as on AWS) writes the in-progress page over it first.

  const results: unknown[] = [];
  let failed = 0;
  const batches = Math.ceil(objects.length / perBatch);
  print(`${objects.length} object(s) under ${prefixUri} → ${batches} batch(es) of ≤ ${perBatch}`);
  for (let b = 0; b < batches; b++) {
    const items = objects.slice(b * perBatch, (b + 1) * perBatch);
    const exec = await executeLocally({
      // ProcessorConfig (Mode DISTRIBUTED) describes how AWS runs it; inline only StartAt/States matter.
      definition: { StartAt: map.ItemProcessor.StartAt, States: map.ItemProcessor.States },
      input: { Items: items, BatchInput: batchInput },
      handlers: { [S.scoreBatch]: handler },
      print: (line) => print(`  [batch ${b + 1}/${batches}] ${line}`),
    });
    if (exec.status === 'succeeded') results.push(exec.output);
    else {
      failed++;
      results.push({});
      print(`  [batch ${b + 1}/${batches}] failed: ${exec.error?.cause ?? ''}`);
    }
  }
  const tolerated = map.ToleratedFailurePercentage ?? 0;
  if (batches > 0 && (100 * failed) / batches > tolerated) {
    const error = `${failed} of ${batches} batch(es) failed, over ToleratedFailurePercentage ${tolerated}`;
    print(`FAILED: ${error}`);
    return { status: 'failed', failedBatches: failed, batches, error };
  }
  const summary = await createBatchSummaryHandler(options.logger)({ input: { bucketUri, ...input }, batches: results });
  print(`✓ ${S.summarize}: ${summary.objects} object(s), ${summary.rows} rows scored → ${joinUri(bucketUri, options.outputPrefix)}`);
  if (summary.reportUri) print(`  report: ${summary.reportUri}`);
  return { status: 'succeeded', summary, failedBatches: failed, batches };
}
