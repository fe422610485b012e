/**
 * Promote (on pass) and Reject (on fail): record the outcome in the registry, and only then
 * advance the watermark. Both are idempotent per run, so a Retry after a partial failure finishes
 * the job without a second version or a second history entry.
 *
 * Promote order: claim `models/registry/v<N>/` (a create-only claim.json naming run and model) →
 * copy the candidate there (every file checked, manifest and its digest last) → point serving at
 * it, only from the registry's champion → write the registry (compare-and-swap); these two are
 * moveChampion (champion.ts), shared with `wdp models promote|rollback` → advance the
 * watermark (compare-and-swap). Each step checks whether it is already done. Nothing is written
 * unless the registry's champion is still the one the run was validated against (ChampionChangedError).
 * Once the registry records the run it is promoted: the watermark follows from the registry
 * (reconcileWatermark in days.ts), so a crash before the watermark write costs no retraining. A version folder
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
import {
  runManifestSchema,
  validationReportSchema,
  type ChampionRef,
  type PromoteResult,
  type Registry,
  type RegistryEntry,
  type RejectResult,
  type RunManifest,
} from '../schemas.ts';
import { ServingMismatchError, type ServingTarget } from './serving-target.ts';
import { advanceWatermark, entryForRun, lastVersion, readRegistry, readRegistryVersioned, writeRegistry } from '../bucket/state.ts';
import { moveChampion, RegistryBehindServingError } from './champion.ts';

export interface PromoteOptions {
  readonly manifestUri: string;
  readonly serving: ServingTarget;
  readonly logger?: Logger;
  /**
   * Finish a predecessor's Promote found interrupted between its serving move and its registry
   * write (serving names its claimed version, the registry does not know its run). @default true
   */
  readonly finishInterrupted?: boolean;
}

/**
 * The registry's champion is not the model this run was validated against (another run, or an
 * operator, moved it since this run's Ingest): promoting would replace a champion the candidate
 * was never compared with. Raised before anything is written.
 */
export class ChampionChangedError extends WorkflowError {}

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
  if (!done) refuseChangedChampion(run, registry.champion);
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
  let served: { readonly lambdaVersion: string | null };
  try {
    // The same move as `wdp models promote|rollback` (champion.ts): serving first, then the registry.
    served = await moveChampion(
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
  } catch (e) {
    if (e instanceof RegistryBehindServingError) {
      // A lost registry swap may have lost it to this very promotion, written by someone who
      // finished it (a next run's repair): then it is done.
      const now = await readRegistry(l).catch(() => undefined);
      if (!(now && entryForRun(now, run.runId) && now.champion?.modelId === candidate.modelId)) throw e;
      served = { lambdaVersion: entryForRun(now, run.runId)?.lambdaVersion ?? null };
    } else if (e instanceof ServingMismatchError && options.finishInterrupted !== false) {
      const finished = await finishInterruptedPromote(l, registry, e.served, run.runId, options);
      if (!finished) throw e;
      throw new ChampionChangedError(
        `run ${finished.runId}'s Promote had moved serving to v${finished.version} and stopped before its registry write; it is now finished (v${finished.version} is the champion, its days count as trained). This run was validated against ${describeChampion(run.champion)}, not v${finished.version}: not promoting it; the watermark does not move for it, so its days not in v${finished.version} are trained by the next run (v${version} stays claimed and unused). Found: ${e.message}`,
        { cause: e },
      );
    } else throw e;
  }
  // The run is promoted once the registry says so: the watermark follows from it. A failure to
  // move it here (a crash, a storage error) must not report a promoted run as failed; the next
  // run's Ingest derives the same watermark from the registry (reconcileWatermark, days.ts).
  try {
    await advanceWatermark(l, run.watermarkAfter);
  } catch (e) {
    log.warn(
      `v${version} is promoted, but moving the watermark failed (${(e as Error).message}); the next run brings it in step from the registry, so no day is trained twice`,
    );
  }
  return {
    version,
    modelUri,
    modelId: candidate.modelId,
    parentVersion,
    lambdaVersion: served.lambdaVersion,
    alreadyPromoted: done !== undefined,
  };
}

/** Compare-and-swap on the champion: the run promotes only over the model it was validated against. */
function refuseChangedChampion(run: RunManifest, champion: ChampionRef | null): void {
  if ((champion?.modelId ?? null) === (run.champion?.modelId ?? null)) return;
  throw new ChampionChangedError(
    `the registry's champion is ${describeChampion(champion)}, but run ${run.runId} was validated against ${describeChampion(run.champion)}: the champion moved since this run's Ingest (another run, or \`wdp models promote|rollback\`); not promoting, nothing written. The watermark does not move, so the next run trains these days against the new champion`,
  );
}

function describeChampion(c: ChampionRef | null): string {
  return c ? `v${c.version} (${c.modelId})` : 'no champion';
}

/**
 * A Promote that moved serving and was killed before its registry write leaves serving on its
 * claimed version and the registry one step behind, so every later Promote would refuse
 * (ServingMismatchError). When serving names a version whose claim belongs to a run the registry
 * does not know, and that run's manifest and passing report are there, its Promote is run again:
 * it finds serving already moved and writes its registry entry and watermark (as a retry would).
 * Its own champion check still applies: it was validated against the registry's champion.
 */
async function finishInterruptedPromote(
  l: BucketLayout,
  registry: Registry,
  served: string | null | undefined,
  runId: string,
  options: PromoteOptions,
): Promise<{ readonly runId: string; readonly version: number } | undefined> {
  const version = served ? Number(/\/v(\d+)\/?$/.exec(served)?.[1]) : Number.NaN;
  if (!Number.isInteger(version) || l.registryModel(version) !== served?.replace(/\/+$/, '')) return undefined;
  const claim = await readJson(l.versionClaim(version), versionClaimSchema).catch(() => undefined);
  if (!claim || claim.runId === runId || entryForRun(registry, claim.runId)) return undefined;
  const manifestUri = l.runManifest(claim.runId);
  if (!(await readJson(manifestUri, runManifestSchema).catch(() => undefined))) return undefined;
  options.logger?.warn(`serving names v${version} of run ${claim.runId}, which the registry does not record: finishing that run's Promote`);
  try {
    const finished = await promoteRun({ ...options, manifestUri, finishInterrupted: false });
    return { runId: claim.runId, version: finished.version };
  } catch (e) {
    options.logger?.warn(`could not finish run ${claim.runId}'s Promote: ${(e as Error).message}`);
    return undefined;
  }
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
  // Recorded in the registry, the rejection stands; a watermark that fails to move here is
  // brought in step by the next run's Ingest (reconcileWatermark, days.ts).
  try {
    await advanceWatermark(l, watermarkAfterRejection(run, report));
  } catch (e) {
    options.logger?.warn(
      `run ${run.runId} is recorded as rejected, but moving the watermark failed (${(e as Error).message}); the next run brings it in step from the registry`,
    );
  }
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
