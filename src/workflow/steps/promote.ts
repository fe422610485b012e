/**
 * Promote (on pass) and Reject (on fail): record the outcome in the registry, and only then
 * advance the watermark. Both are idempotent per run, so a Retry after a partial failure finishes
 * the job without a second version or a second history entry.
 *
 * Promote order: claim `models/registry/v<N>/` (a create-only claim.json naming run and model) →
 * copy the candidate there (every file checked, manifest and its digest last) → point serving at
 * it, only from the registry's champion → write the registry (compare-and-swap); these two are
 * moveChampion (champion.ts), shared with `wdp models promote|rollback` → advance the
 * watermark (compare-and-swap). Each step checks whether it is already done. A version folder
 * belongs to the model its claim names: a v<N> claimed by another model (another run, a lost
 * registry) is skipped, never reused or mistaken for this run's copy.
 */
import { z } from 'zod';
import { copyModelFiles, INT8_TOWER_FILE } from '../../model/artifact.ts';
import { readManifest } from '../../model/manifest.ts';
import { StoragePreconditionError } from '../../storage/index.ts';
import { silentLogger, type Logger } from '../../util/log.ts';
import { WorkflowError } from '../errors.ts';
import { rejectionVerdict, watermarkAfterRejection } from './days.ts';
import { readRunManifest } from './ingest.ts';
import { readJson, writeJson } from '../bucket/json-store.ts';
import { layout, type BucketLayout } from '../bucket/layout.ts';
import { validationReportSchema, type PromoteResult, type RegistryEntry, type RejectResult, type RunManifest } from '../schemas.ts';
import type { ServingTarget } from './serving-target.ts';
import { advanceWatermark, entryForRun, lastVersion, readRegistryVersioned, writeRegistry } from '../bucket/state.ts';
import { moveChampion } from './champion.ts';

export interface PromoteOptions {
  readonly manifestUri: string;
  readonly serving: ServingTarget;
  readonly logger?: Logger;
}

export async function promoteRun(options: PromoteOptions): Promise<PromoteResult> {
  const log = options.logger ?? silentLogger;
  const run = await readRunManifest(options.manifestUri);
  const l = layout(run.bucketUri);
  const report = await readReport(run);
  if (!report.passed)
    throw new WorkflowError(`run ${run.runId} did not pass validation; refusing to promote (${report.reasons.join('; ')})`);

  const read = await readRegistryVersioned(l);
  const registry = read.registry;
  const done = entryForRun(registry, run.runId);
  if (done && done.status !== 'promoted') throw new WorkflowError(`run ${run.runId} was already recorded as ${done.status}`);
  const candidate = await readManifest(run.candidateUri);
  const version = done?.version ?? (await claimVersion(l, lastVersion(registry) + 1, run.runId, candidate.modelId, log));
  const modelUri = l.registryModel(version);

  const present = await readManifest(modelUri).catch(() => undefined);
  if (present?.modelId !== candidate.modelId) {
    // A refused int8 tower stays out of the registry copy, so what serves it runs float32.
    const omit = report.int8 && !report.int8.passed ? [INT8_TOWER_FILE] : [];
    await copyModelFiles(run.candidateUri, modelUri, { omit });
    log.info(`copied ${run.candidateUri} → ${modelUri}${omit.length ? ` without ${INT8_TOWER_FILE} (int8 refused by Validate)` : ''}`);
  }

  const parentVersion = run.champion && candidate.parent?.modelId === run.champion.modelId ? run.champion.version : null;
  // The same move as `wdp models promote|rollback` (champion.ts): serving first, then the registry.
  const served = await moveChampion(
    l,
    read,
    { uri: modelUri, version, modelId: candidate.modelId },
    {
      serving: options.serving,
      move: { action: 'run', runId: run.runId },
      writeRegistry: !done,
      retryHint: 'retry Promote: it finds serving already moved and only writes the registry',
      logger: log,
      entry: (lambdaVersion): RegistryEntry => ({
        version,
        status: 'promoted',
        runId: run.runId,
        modelId: candidate.modelId,
        uri: modelUri,
        candidateUri: run.candidateUri,
        parentVersion,
        parentModelId: candidate.parent?.modelId ?? null,
        metrics: { holdout: report.candidateMetrics, champion: report.championMetrics, dryRun: report.dryRun },
        reasons: [],
        data: run.partitions,
        reportUri: l.validationReport(run.candidateUri),
        lambdaVersion,
        at: new Date().toISOString(),
        ...quarantinedOf(run),
      }),
    },
  );
  await advanceWatermark(l, run.watermarkAfter);
  return {
    version,
    modelUri,
    modelId: candidate.modelId,
    parentVersion,
    lambdaVersion: served.lambdaVersion,
    alreadyPromoted: done !== undefined,
  };
}

export interface RejectOptions {
  readonly manifestUri: string;
  readonly logger?: Logger;
}

/**
 * Records the rejection (with its reasons) and advances the watermark, holding the days the
 * rejection implicates (days.ts); champion and alias stay.
 */
export async function rejectRun(options: RejectOptions): Promise<RejectResult> {
  const run = await readRunManifest(options.manifestUri);
  const l = layout(run.bucketUri);
  const report = await readReport(run);
  if (report.passed) throw new WorkflowError(`run ${run.runId} passed validation; refusing to record it as rejected`);
  const { registry, etag } = await readRegistryVersioned(l);
  const done = entryForRun(registry, run.runId);
  if (done && done.status !== 'rejected') throw new WorkflowError(`run ${run.runId} was already recorded as ${done.status}`);
  if (!done) {
    const entry: RegistryEntry = {
      version: null,
      status: 'rejected',
      runId: run.runId,
      modelId: report.candidateModelId,
      uri: run.candidateUri,
      candidateUri: run.candidateUri,
      parentVersion: run.champion?.version ?? null,
      parentModelId: run.champion?.modelId ?? null,
      metrics: { holdout: report.candidateMetrics, champion: report.championMetrics, dryRun: report.dryRun },
      reasons: report.reasons,
      data: run.partitions,
      reportUri: l.validationReport(run.candidateUri),
      lambdaVersion: null,
      at: new Date().toISOString(),
      ...quarantinedOf(run),
    };
    await writeRegistry(l, { ...registry, history: [...registry.history, entry] }, etag);
  }
  options.logger?.info(`run ${run.runId} rejected: ${report.reasons.join('; ')}; ${rejectionVerdict(run, report).note}`);
  // Not run.watermarkAfter (what a promotion stores): the days the rejection implicates are held.
  await advanceWatermark(l, watermarkAfterRejection(run, report));
  return { runId: run.runId, reasons: report.reasons, alreadyRecorded: done !== undefined };
}

/** The run's quarantined files for its registry entry (absent when there were none). */
function quarantinedOf(run: RunManifest): Pick<RegistryEntry, 'quarantined'> {
  const q = run.quarantined ?? [];
  return q.length > 0 ? { quarantined: q.map((f) => ({ uri: f.uri, reason: f.reason })) } : {};
}

async function readReport(run: RunManifest) {
  const uri = layout(run.bucketUri).validationReport(run.candidateUri);
  const report = await readJson(uri, validationReportSchema);
  if (!report) throw new WorkflowError(`no validation report at ${uri}`);
  return report;
}

export const versionClaimSchema = z
  .object({ version: z.number().int().min(1), runId: z.string(), modelId: z.string(), at: z.string() })
  .strict();
export type VersionClaim = z.output<typeof versionClaimSchema>;

/** How far past the registry's last version Promote looks for a free number before giving up. */
const MAX_VERSION_PROBES = 1000;

/**
 * The first version from `from` on that is this model's: already claimed by it (a retried
 * Promote), or free and now claimed by a create-only write. Folders claimed by, or (from before
 * claims existed) holding a manifest of, another model are skipped.
 */
async function claimVersion(l: BucketLayout, from: number, runId: string, modelId: string, log: Logger): Promise<number> {
  for (let version = from; version < from + MAX_VERSION_PROBES; version++) {
    const claimUri = l.versionClaim(version);
    const claim = await readJson(claimUri, versionClaimSchema);
    if (claim) {
      if (claim.modelId === modelId) return version;
      log.info(`v${version} is claimed by model ${claim.modelId} (run ${claim.runId}); trying v${version + 1}`);
      continue;
    }
    const legacy = await readManifest(l.registryModel(version)).catch(() => undefined);
    if (legacy) {
      if (legacy.modelId === modelId) return version;
      log.info(`v${version} holds model ${legacy.modelId}; trying v${version + 1}`);
      continue;
    }
    const mine: VersionClaim = { version, runId, modelId, at: new Date().toISOString() };
    try {
      await writeJson(claimUri, mine, { ifNoneMatch: '*' });
      return version;
    } catch (e) {
      if (!(e instanceof StoragePreconditionError)) throw e;
      version--; // someone claimed it between our read and write: read its claim and decide again
    }
  }
  throw new WorkflowError(`no free model version in v${from}…v${from + MAX_VERSION_PROBES - 1} under ${l.registryModel(from)}`);
}
