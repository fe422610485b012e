/**
 * Least-privilege bucket access with exact actions (no `s3:GetObject*`-style action wildcards, as
 * bucket.grantRead would add): objects under named prefixes only, plus listing keys.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { MANIFEST_DIGEST_FILE, MANIFEST_FILE } from '../src/model/manifest.ts';
import { PREFIXES, QUARANTINE_KEY, REGISTRY_KEY, RUN_LOCK_KEY, WATERMARK_KEY } from '../src/workflow/bucket/layout.ts';

export interface BucketAccess {
  /** Key prefixes (e.g. 'logs/') whose objects may be read (GetObject, which HeadObject needs too). */
  readonly read?: readonly string[];
  /**
   * Exact object keys that may be read: one state document, not its neighbours; or one file of
   * every folder of a kind (`models/registry/*\/manifest.json`), never the folders' other files.
   */
  readonly readKeys?: readonly string[];
  /** Key prefixes whose objects may be written (PutObject, multipart included). */
  readonly write?: readonly string[];
  /** Exact object keys that may be written, no wildcard: one state document, not its neighbours. */
  readonly writeKeys?: readonly string[];
}

/**
 * Grants `grantee` the access described. ListBucket is on the bucket itself: without it, a
 * HeadObject on a missing key answers 403 instead of 404, and "does it exist" checks break.
 */
export function grantBucketAccess(bucket: s3.IBucket, grantee: iam.IGrantable, access: BucketAccess): void {
  const objects = (prefixes: readonly string[]) => prefixes.map((p) => bucket.arnForObjects(`${p}*`));
  const keys = (exact: readonly string[] = []) => exact.map((k) => bucket.arnForObjects(k));
  const statements = [new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] })];
  const readable = [...objects(access.read ?? []), ...keys(access.readKeys)];
  if (readable.length) statements.push(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: readable }));
  const writable = [...objects(access.write ?? []), ...keys(access.writeKeys)];
  if (writable.length)
    statements.push(new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: writable }));
  for (const statement of statements) grantee.grantPrincipal.addToPrincipalPolicy(statement);
}

/**
 * The champion's manifest and its digest, whichever version that is (not known at deploy time),
 * and no weights: what Ingest's numeric scale check reads (steps/ingest-scale.ts).
 */
export const MODEL_MANIFEST_KEYS = [MANIFEST_FILE, MANIFEST_DIGEST_FILE].map((f) => `${PREFIXES.registryModels}*/${f}`);

/**
 * What each role may read and write in the workflow bucket: the one place both the grants
 * (workflow-functions.ts, scoring-service.ts, training-job.ts) and the cdk-nag acknowledgements of
 * the prefix wildcards they create (nag.ts) come from.
 */
export const ROLE_ACCESS = {
  // The lock object only (state/run.lock*), not the watermark beside it.
  runLock: { read: [RUN_LOCK_KEY], write: [RUN_LOCK_KEY] },
  // The run manifest, and state/quarantine.json (data.onBadFile "quarantine": recordQuarantine
  // sets bad files aside at Ingest, whatever the run's outcome); not the watermark or the lock.
  // Under state/ it reads the watermark (readEffectiveWatermark, steps/days.ts) and the quarantine
  // (readQuarantine), never the run lock; under registry/ only registry.json.
  // runs/ and candidates/ are read for a predecessor's manifest (and validation.json) when the
  // registry records its outcome but the watermark never moved (reconcileWatermark, steps/days.ts).
  // Of the models, only the manifests: the champion's fitted ranges (the scale warning).
  ingest: {
    read: [PREFIXES.logs, PREFIXES.config, PREFIXES.runs, PREFIXES.candidates],
    readKeys: [WATERMARK_KEY, QUARANTINE_KEY, REGISTRY_KEY, ...MODEL_MANIFEST_KEYS],
    write: [PREFIXES.runs],
    writeKeys: [QUARANTINE_KEY],
  },
  validate: { read: [PREFIXES.logs, PREFIXES.runs, PREFIXES.registryModels, PREFIXES.candidates], write: [PREFIXES.candidates] },
  // Under state/ Promote and Reject touch only the watermark (advanceWatermark, bucket/state.ts:
  // read, then a compare-and-swap write), never the run lock or the quarantine beside it; under
  // registry/ only registry.json (readRegistryVersioned, then writeRegistry's compare-and-swap).
  promote: {
    read: [PREFIXES.runs, PREFIXES.candidates, PREFIXES.registryModels],
    readKeys: [WATERMARK_KEY, REGISTRY_KEY],
    write: [PREFIXES.registryModels],
    writeKeys: [WATERMARK_KEY, REGISTRY_KEY],
  },
  reject: {
    read: [PREFIXES.runs, PREFIXES.candidates],
    readKeys: [WATERMARK_KEY, REGISTRY_KEY],
    writeKeys: [WATERMARK_KEY, REGISTRY_KEY],
  },
  // Inputs under batch/input/ only (the batch state machine refuses any other inputPrefix), the
  // champion it scores with (registry.json, then its folder), outputs under batch/output/.
  scoreBatch: { read: [PREFIXES.batchInput, PREFIXES.registryModels], readKeys: [REGISTRY_KEY], write: [PREFIXES.batchOutput] },
  // The batch report: reads the scores written under batch/output/ and writes _report.html there.
  batchSummary: { read: [PREFIXES.batchOutput], write: [PREFIXES.batchOutput] },
  // The models, and registry.json (WDP_REGISTRY_URI): the champion, and the id of a pinned version.
  scoring: { read: [PREFIXES.registryModels], readKeys: [REGISTRY_KEY] },
  training: { read: [PREFIXES.logs, PREFIXES.runs, PREFIXES.registryModels, PREFIXES.candidates], write: [PREFIXES.candidates] },
} as const satisfies Record<string, BucketAccess>;

/** Every prefix `access` reaches (read or write), each once. */
export function accessedPrefixes(access: BucketAccess): string[] {
  return [...new Set([...(access.read ?? []), ...(access.write ?? [])])];
}

/** The exact-key grants of `access` that hold a wildcard (one file of every folder of a kind), each once. */
export function wildcardKeys(access: BucketAccess): string[] {
  return [...new Set([...(access.readKeys ?? []), ...(access.writeKeys ?? [])])].filter((k) => k.includes('*'));
}

/** What cdk-nag must be told about `access`'s wildcards (nag.ts). */
export function nagAccess(access: BucketAccess): { prefixes: string[]; wildcardKeys: string[] } {
  return { prefixes: accessedPrefixes(access), wildcardKeys: wildcardKeys(access) };
}
