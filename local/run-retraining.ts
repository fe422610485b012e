/**
 * `npm start` / `wdp pipeline`: the synthesized retraining state machine, run on this machine.
 * Each Task state is bound by name to the same code the deployed stack runs — the Lambda handlers
 * in lambdas/ and, for Train, the training container's entrypoint — against a bucket that is a
 * local folder (default `.wdp/bucket`) or an `s3://` URI.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createIngestHandler } from '../lambdas/ingest.ts';
import { createPromoteHandler } from '../lambdas/promote.ts';
import { createRejectHandler } from '../lambdas/reject.ts';
import { createRunLockHandler } from '../lambdas/run-lock.ts';
import { createValidateHandler } from '../lambdas/validate.ts';
import { generateLogs } from '../src/generator/generate.ts';
import type { TowerKind } from '../src/model/tower/kinds.ts';
import { absoluteUri, storeFor } from '../src/storage/index.ts';
import { silentLogger, type Logger } from '../src/util/log.ts';
import { writeJson } from '../src/workflow/bucket/json-store.ts';
import { WorkflowError } from '../src/workflow/errors.ts';
import { layout } from '../src/workflow/bucket/layout.ts';
import type { RunLockResult } from '../src/workflow/bucket/run-lock.ts';
import { promotedVersionFolders } from '../src/workflow/bucket/state.ts';
import type { IngestResult, PromoteResult, ValidateResult } from '../src/workflow/schemas.ts';
import { ingestNoticeLines } from '../src/workflow/steps/ingest-notices.ts';
import { FileServingTarget } from '../src/workflow/steps/serving-target.ts';
import type { ServingScorerFactory } from '../src/workflow/steps/serving-dry-run.ts';
import { RETRAINING_STATES as S } from '../src/workflow/state-names.ts';
import { DEFAULT_THRESHOLDS, type ValidationThresholds } from '../src/workflow/steps/thresholds.ts';
import { trainFromManifest } from '../src/workflow/steps/train-step.ts';
import { synthesizedDefinitions } from './definition.ts';
import { executeLocally, type LocalTaskHandler, type StateTiming } from './execute.ts';
import { summaryDetails, summaryScreen } from './run-summary.ts';

const REPO_ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_LOCAL_BUCKET = '.wdp/bucket';
export const DEFAULT_CONFIG = path.join(REPO_ROOT, 'examples', 'app-store', 'wdp.config.json');

export interface SampleDataOptions {
  /** @default 3 (two to train on, one held out) */
  readonly days?: number;
  /** @default 50_000 */
  readonly rowsPerDay?: number;
  /** @default 7 */
  readonly seed?: number;
}

export interface LocalPipelineOptions {
  /** @default '.wdp/bucket' */
  readonly bucketUri?: string;
  /** Installed as `<bucket>/config/wdp.config.json` when the bucket has none. @default the app-store example */
  readonly configUri?: string;
  /** Sample logs generated when the bucket is brand new: no logs, no registry, no models, no watermark. */
  readonly sample?: SampleDataOptions;
  /** @default DEFAULT_THRESHOLDS */
  readonly thresholds?: ValidationThresholds;
  /** @default 'auto' */
  readonly backend?: TowerKind;
  /** Step logs (training progress, metrics). */
  readonly logger?: Logger;
  /** One line per state, and the result. */
  readonly print?: (line: string) => void;
  /** Show training progress. @default true */
  readonly progress?: boolean;
  /** The dry run's scorer. @default the scoring code */
  readonly scorerFactory?: ServingScorerFactory;
  /** Replace the binding of some Task states (tests: e.g. a Train that crashes). */
  readonly overrides?: Readonly<Record<string, LocalTaskHandler>>;
  /** The run lock's lease. @default DEFAULT_LOCK_LEASE_MS (24 h); a local run whose process is gone is taken over at once (isHolderGone) */
  readonly lockLeaseMs?: number;
}

/** `locked`: another run held the run lock, so this one trained nothing (and changed nothing). */
export type LocalPipelineStatus = 'promoted' | 'rejected' | 'no_new_data' | 'locked' | 'failed';

export interface LocalPipelineResult {
  readonly status: LocalPipelineStatus;
  readonly bucketUri: string;
  /** This run's execution name: the run lock's owner, and part of the run id. */
  readonly executionName: string;
  /** What the Lock state answered. */
  readonly lock?: RunLockResult;
  readonly ingest?: IngestResult;
  readonly validation?: ValidateResult;
  readonly promotion?: PromoteResult;
  readonly error?: { readonly error: string; readonly cause: string };
  /** Sample logs this run generated before it started (a brand-new bucket only). */
  readonly sampleData?: GeneratedSample;
  readonly states: StateTiming[];
  readonly seconds: number;
}

export interface GeneratedSample {
  readonly rows: number;
  readonly days: readonly string[];
  /** Where they were written (the bucket's logs/). */
  readonly uri: string;
}

/**
 * Puts a config and, into a brand-new bucket (no logs, no registry, no promoted model folders, no
 * watermark), sample days: the first `npm start`. A bucket with history but no logs gets none: made-up
 * days would be trained into the model it serves, so the run finds no data and changes nothing.
 * @returns the sample generated, if any
 */
export async function prepareLocalBucket(options: LocalPipelineOptions & { bucketUri: string }): Promise<GeneratedSample | undefined> {
  const l = layout(options.bucketUri);
  const print = options.print ?? (() => {});
  const store = storeFor(l.config);
  if (!(await store.stat(l.config))) {
    const from = options.configUri ?? DEFAULT_CONFIG;
    await store.write(l.config, await storeFor(from).read(from));
    print(`installed config ${from} → ${l.config}`);
  } else if (options.configUri !== undefined) {
    // The bucket's config is what every run trains with, so a --config that differs from it would
    // be ignored without a word; installing it over a bucket with history could change the
    // features under the champion a run warm-starts from. Refused instead, with the way to do it.
    const given = await storeFor(options.configUri).read(options.configUri);
    if (!Buffer.from(given).equals(Buffer.from(await store.read(l.config)))) {
      throw new WorkflowError(
        `${options.configUri} differs from the config this bucket already trains with (${l.config}); --config only installs a config into a new bucket. To change this bucket's config, replace ${l.config} with it (the next run trains with it)`,
      );
    }
  }
  const logs = await storeFor(l.logs).list(l.logs);
  if (logs.length > 0) return undefined;
  const history = [
    ...((await storeFor(l.registry).stat(l.registry)) ? [l.registry] : []),
    ...((await storeFor(l.watermark).stat(l.watermark)) ? [l.watermark] : []),
    ...((await promotedVersionFolders(l, { any: true })).length > 0 ? [`${l.registryModel(1).replace(/v1$/, '')}v*`] : []),
  ];
  if (history.length > 0) {
    print(`no logs under ${l.logs}: no sample data generated, as the bucket is not new (it has ${history.join(', ')})`);
    return undefined;
  }
  const days = options.sample?.days ?? 3;
  const rowsPerDay = options.sample?.rowsPerDay ?? 50_000;
  const t0 = performance.now();
  const r = await generateLogs({ days, rowsPerDay, seed: options.sample?.seed ?? 7, out: l.logs }, storeFor(l.logs));
  print(
    `no logs yet (a new bucket): generated ${r.rows} sample rows for ${r.days.join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)}s`,
  );
  return { rows: r.rows, days: r.days, uri: l.logs };
}

export async function runLocalPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipelineResult> {
  // As given, for the commands the summary suggests (`--bucket ./b`)...
  const givenBucketUri = options.bucketUri ?? DEFAULT_LOCAL_BUCKET;
  // ...and absolute for the run: Ingest records the bucket so in the run manifest (to be read from
  // any directory), later steps build their locations from it, and the serving target built here
  // must spell the champion as they do (Promote compares the two).
  const bucketUri = absoluteUri(givenBucketUri);
  const l = layout(bucketUri);
  const log = options.logger ?? silentLogger;
  const print = options.print ?? (() => {});
  const sampleData = await prepareLocalBucket({ ...options, bucketUri });

  const t0 = performance.now();
  const { retraining, origin, cacheFile } = await synthesizedDefinitions();
  const states = `${Object.keys(retraining.States).length} states`;
  const took = `${((performance.now() - t0) / 1000).toFixed(1)}s`;
  print(
    origin === 'synthesized'
      ? `synthesized the retraining state machine (${states}) in ${took}`
      : `used the cached retraining state machine (${states}, ${path.relative(process.cwd(), cacheFile)}: no change under cdk/ or src/ since it was synthesized) in ${took}`,
  );

  const notify: LocalTaskHandler = async (input) => {
    const { Subject, Message } = input as { Subject?: string; Message?: unknown };
    await writeJson(`${l.notifications}${new Date().toISOString().replace(/[:.]/g, '-')}.json`, {
      subject: Subject ?? null,
      message: Message ?? null,
    });
    print(`  notification: ${Subject ?? ''} ${JSON.stringify(Message)}`);
    return { MessageId: 'local' };
  };
  const runLock = createRunLockHandler(
    // This process is the whole run, so a lock held by a local run whose process is gone (Ctrl-C,
    // kill, crash) is taken over rather than blocking every run until its lease ends.
    { bucketUri, takeOverFromGoneProcess: true, ...(options.lockLeaseMs !== undefined ? { leaseMs: options.lockLeaseMs } : {}) },
    log,
  );
  const handlers: Record<string, LocalTaskHandler> = {
    [S.lock]: runLock,
    [S.unlockNoNewData]: runLock,
    [S.unlockPromoted]: runLock,
    [S.unlockRejected]: runLock,
    [S.unlockFailed]: runLock,
    [S.ingest]: createIngestHandler({ bucketUri, configUri: l.config }, log),
    [S.train]: async (input) => {
      // The same job parameters Batch would pass to the container as Ref::manifestUri.
      const { Parameters } = input as { Parameters?: { manifestUri?: string } };
      if (!Parameters?.manifestUri) throw new Error('Train: no manifestUri in the job parameters');
      const r = await trainFromManifest({
        manifestUri: Parameters.manifestUri,
        backend: options.backend ?? 'auto',
        logger: log,
        progress: options.progress ?? true,
      });
      return { JobId: `local-${r.runId}`, JobName: `wdp-train-${r.runId}`, Status: 'SUCCEEDED' };
    },
    [S.validate]: createValidateHandler(
      { thresholds: options.thresholds ?? DEFAULT_THRESHOLDS, ...(options.scorerFactory ? { scorerFactory: options.scorerFactory } : {}) },
      log,
    ),
    [S.promote]: createPromoteHandler({ serving: new FileServingTarget(l.servingPointer) }, log),
    [S.reject]: createRejectHandler(log),
    [S.notifyRejected]: notify,
    [S.notifyQuarantined]: notify,
    [S.notifyFailure]: notify,
    ...options.overrides,
  };

  // Unique per run even when two start in the same millisecond: it names the run lock's owner.
  const executionName = `local-${new Date().toISOString().replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`;
  const exec = await executeLocally({ definition: retraining, input: { trigger: 'local' }, handlers, print, executionName });
  const out = (exec.output ?? {}) as {
    lock?: RunLockResult;
    ingest?: IngestResult;
    validation?: ValidateResult;
    promotion?: PromoteResult;
  };
  const lock = out.lock ?? (exec.stateOutputs[S.lock] as { lock?: RunLockResult } | undefined)?.lock;
  const ingest = out.ingest ?? (exec.stateOutputs[S.ingest] as { ingest?: IngestResult } | undefined)?.ingest;
  const validation = out.validation ?? (exec.stateOutputs[S.validate] as { validation?: ValidateResult } | undefined)?.validation;
  let status: LocalPipelineStatus;
  if (exec.status === 'succeeded') status = out.promotion ? 'promoted' : lock?.acquired === false ? 'locked' : 'no_new_data';
  else status = exec.error?.error === 'CandidateRejected' ? 'rejected' : 'failed';

  const result: LocalPipelineResult = {
    status,
    bucketUri: givenBucketUri,
    executionName,
    ...(lock ? { lock } : {}),
    ...(ingest ? { ingest } : {}),
    ...(validation ? { validation } : {}),
    ...(out.promotion ? { promotion: out.promotion } : {}),
    ...(exec.error ? { error: exec.error } : {}),
    ...(sampleData ? { sampleData } : {}),
    states: exec.states,
    seconds: exec.seconds,
  };
  for (const line of summaryScreen(result, await summaryDetails(result))) print(line);
  // Not a state of the machine: what Ingest set aside, picked up late, found off the champion's
  // scale or skipped for its name, so the operator sees it (`wdp days` lists the first two, the run
  // record the last: `wdp runs show`, the run report).
  for (const line of ingest ? ingestNoticeLines(ingest) : []) print(line);
  return result;
}

export function describeResult(r: LocalPipelineResult): string {
  switch (r.status) {
    case 'promoted': {
      const p = r.promotion!;
      return `PROMOTED v${p.version} (${p.modelId})${p.parentVersion ? `, warm-started from v${p.parentVersion}` : ', trained from scratch'} → ${p.modelUri} in ${r.seconds.toFixed(1)}s`;
    }
    case 'rejected':
      return `REJECTED: ${(r.validation?.reasons ?? []).join('; ')} (validation: ${r.validation?.reportUri ?? '?'}); the champion is unchanged`;
    case 'locked':
      return `${r.lock?.message ?? 'ANOTHER RUN IS IN PROGRESS'}; this run trained nothing and changed nothing${r.sampleData ? ' but the sample logs it generated' : ''}`;
    case 'no_new_data':
      return `NO NEW DATA: ${r.ingest && !r.ingest.hasNewData ? r.ingest.reason : 'nothing to do'}`;
    case 'failed': {
      // The Fail state's own cause is generic; the step that failed says what went wrong.
      const step = r.states.find((s) => s.status === 'caught' || s.status === 'failed');
      const what = step?.error ? `${step.name}: ${step.error}` : `${r.error?.error ?? 'error'}: ${r.error?.cause ?? ''}`;
      return `FAILED at ${what} — the watermark did not move; the next run retries the same data`;
    }
  }
}
