/**
 * Promote (on pass) and Reject (on fail): record the outcome in the registry, and only then
 * advance the watermark. Both are idempotent per run, so a Retry after a partial failure finishes
 * the job without a second version or a second history entry.
 *
 * Promote order: copy the candidate to `models/registry/v<N>/` (files checked, digest last) → point serving
 * at it → write the registry → advance the watermark. Each step checks whether it is already done.
 */
import { copyModelFiles } from '../../model/artifact.ts';
import { readManifest } from '../../model/manifest.ts';
import { silentLogger, type Logger } from '../../util/log.ts';
import { WorkflowError } from '../errors.ts';
import { rejectionVerdict, watermarkAfterRejection } from './days.ts';
import { readRunManifest } from './ingest.ts';
import { readJson } from '../bucket/json-store.ts';
import { layout } from '../bucket/layout.ts';
import { validationReportSchema, type PromoteResult, type RegistryEntry, type RejectResult, type RunManifest } from '../schemas.ts';
import type { ServingTarget } from './serving-target.ts';
import { advanceWatermark, entryForRun, lastVersion, readRegistry, writeRegistry } from '../bucket/state.ts';

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

  let registry = await readRegistry(l);
  const done = entryForRun(registry, run.runId);
  if (done && done.status !== 'promoted') throw new WorkflowError(`run ${run.runId} was already recorded as ${done.status}`);
  const version = done?.version ?? lastVersion(registry) + 1;
  const modelUri = l.registryModel(version);

  const candidate = await readManifest(run.candidateUri);
  if (!(await readManifest(modelUri).catch(() => undefined))) {
    await copyModelFiles(run.candidateUri, modelUri);
    log.info(`copied ${run.candidateUri} → ${modelUri}`);
  }

  const served = await options.serving.point({ uri: modelUri, version, modelId: candidate.modelId });
  log.info(
    `${options.serving.name}: ${served.changed ? 'now serves' : 'already served'} v${version}${served.lambdaVersion ? ` (Lambda version ${served.lambdaVersion})` : ''}`,
  );

  const parentVersion = run.champion && candidate.parent?.modelId === run.champion.modelId ? run.champion.version : null;
  if (!done) {
    const entry: RegistryEntry = {
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
      lambdaVersion: served.lambdaVersion,
      at: new Date().toISOString(),
    };
    registry = { ...registry, champion: { version, uri: modelUri, modelId: candidate.modelId }, history: [...registry.history, entry] };
    await writeRegistry(l, registry);
  }
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
  const registry = await readRegistry(l);
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
    };
    await writeRegistry(l, { ...registry, history: [...registry.history, entry] });
  }
  options.logger?.info(`run ${run.runId} rejected: ${report.reasons.join('; ')}; ${rejectionVerdict(run, report).note}`);
  // Not run.watermarkAfter (what a promotion stores): the days the rejection implicates are held.
  await advanceWatermark(l, watermarkAfterRejection(run, report));
  return { runId: run.runId, reasons: report.reasons, alreadyRecorded: done !== undefined };
}

async function readReport(run: RunManifest) {
  const uri = layout(run.bucketUri).validationReport(run.candidateUri);
  const report = await readJson(uri, validationReportSchema);
  if (!report) throw new WorkflowError(`no validation report at ${uri}`);
  return report;
}
