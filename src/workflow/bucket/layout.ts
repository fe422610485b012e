/**
 * Where the workflow keeps things in its bucket. One function per kind of object, so the Lambdas,
 * the training container, the local runner and the CDK lifecycle rules agree on the keys.
 *
 *   <bucket>/logs/dt=YYYY-MM-DD/*.parquet        impression logs (input)
 *   <bucket>/config/wdp.config.json               the model config
 *   <bucket>/state/watermark.json                 newest partition already used, untrained/held days, files read
 *   <bucket>/state/quarantine.json                log files Ingest set aside (data.onBadFile "quarantine")
 *   <bucket>/state/run.lock                       the run lock: one retraining run at a time (lease)
 *   <bucket>/runs/<runId>/manifest.json           ingest manifest: the training job's input
 *   <bucket>/models/candidates/<runId>/           candidate model + validation.json + report.html (expire)
 *   <bucket>/models/registry/v<N>/                promoted models (kept for rollback)
 *   <bucket>/registry/registry.json               champion + history
 *   <bucket>/serving/live.json                    local stand-in for the Lambda alias `live`
 *   <bucket>/notifications/<time>.json            local stand-in for the SNS topic
 */
import { joinUri } from '../../storage/index.ts';

/** Key prefixes relative to the bucket root; CDK lifecycle rules use these too. */
export const PREFIXES = {
  logs: 'logs/',
  config: 'config/',
  state: 'state/',
  runs: 'runs/',
  candidates: 'models/candidates/',
  registryModels: 'models/registry/',
  registry: 'registry/',
  serving: 'serving/',
  notifications: 'notifications/',
  batchInput: 'batch/input/',
  batchOutput: 'batch/output/',
} as const;

/** The run lock's key; its own grant (only the lock functions write it). */
export const RUN_LOCK_KEY = `${PREFIXES.state}run.lock`;

/** The watermark's key; Promote's and Reject's only read and write under state/ (their own grants). */
export const WATERMARK_KEY = `${PREFIXES.state}watermark.json`;

/** The quarantine document's key; Ingest's only write under state/ (its own grant). */
export const QUARANTINE_KEY = `${PREFIXES.state}quarantine.json`;

/** The registry document's key: the only object under registry/ a workflow step reads or writes (its own grants). */
export const REGISTRY_KEY = `${PREFIXES.registry}registry.json`;

/** Written create-only into `models/registry/v<N>/` before the copy: which run's model owns v<N>. */
export const VERSION_CLAIM_FILE = 'claim.json';

export const VALIDATION_REPORT_FILE = 'validation.json';
/** The run's human report, beside validation.json. */
export const RUN_REPORT_FILE = 'report.html';

export function layout(bucketUri: string) {
  const at = (...parts: string[]) => joinUri(bucketUri, ...parts);
  /** A prefix URI with exactly one trailing slash. */
  const dir = (prefix: string) => `${joinUri(bucketUri, prefix).replace(/\/+$/, '')}/`;
  return {
    bucketUri,
    logs: dir(PREFIXES.logs),
    config: at(PREFIXES.config, 'wdp.config.json'),
    watermark: at(WATERMARK_KEY),
    quarantine: at(QUARANTINE_KEY),
    runLock: at(RUN_LOCK_KEY),
    runManifest: (runId: string) => at(PREFIXES.runs, runId, 'manifest.json'),
    candidate: (runId: string) => at(PREFIXES.candidates, runId),
    validationReport: (candidateUri: string) => joinUri(candidateUri, VALIDATION_REPORT_FILE),
    runReport: (candidateUri: string) => joinUri(candidateUri, RUN_REPORT_FILE),
    registryModel: (version: number) => at(PREFIXES.registryModels, `v${version}`),
    versionClaim: (version: number) => at(PREFIXES.registryModels, `v${version}`, VERSION_CLAIM_FILE),
    registry: at(REGISTRY_KEY),
    servingPointer: at(PREFIXES.serving, 'live.json'),
    notifications: dir(PREFIXES.notifications),
  };
}
export type BucketLayout = ReturnType<typeof layout>;
