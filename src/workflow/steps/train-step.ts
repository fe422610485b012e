/**
 * The Train step: the same trainModel as `wdp train`, driven by an ingest manifest. This is the
 * training container's entrypoint (`wdp train --manifest URI`) and the local runner's Train task.
 * A config with `training.validation` validates on that hashed share of the run's training rows
 * (never the holdout day or the hashed holdout), and with `training.earlyStopping` the candidate
 * is the best validation pass's model; the curve and the epoch are in its manifest.
 */
import { parseConfig } from '../../config/index.ts';
import { readManifest, type ModelManifest } from '../../model/manifest.ts';
import type { TowerKind } from '../../model/tower/kinds.ts';
import { trainModel } from '../../training/train.ts';
import { silentLogger, type Logger } from '../../util/log.ts';
import { withDropHint } from './days.ts';
import { readRunManifest } from './ingest.ts';

export interface TrainFromManifestOptions {
  readonly manifestUri: string;
  /** @default 'auto' (tfjs-node-gpu in the GPU container) */
  readonly backend?: TowerKind;
  readonly logger?: Logger;
  /** @default true */
  readonly progress?: boolean;
}

export interface TrainStepResult {
  readonly runId: string;
  readonly candidateUri: string;
  readonly modelId: string;
  /** True when a finished candidate was already there (a retried job) and nothing was trained. */
  readonly reused: boolean;
  /** With early stopping: the epoch whose weights the candidate kept. */
  readonly bestEpoch?: number;
}

/**
 * Trains the run's candidate: on `manifest.data`, warm-started from `manifest.champion` when
 * there is one, written to `manifest.candidateUri`. A retried job whose candidate already has a
 * manifest (so was saved completely) returns it instead of training again.
 */
export async function trainFromManifest(options: TrainFromManifestOptions): Promise<TrainStepResult> {
  const log = options.logger ?? silentLogger;
  const run = await readRunManifest(options.manifestUri);
  const existing = await readManifest(run.candidateUri).catch((): ModelManifest | undefined => undefined);
  if (existing) {
    log.info(`candidate ${run.candidateUri} is already complete (${existing.modelId}); not training again`);
    return { runId: run.runId, candidateUri: run.candidateUri, modelId: existing.modelId, reused: true };
  }
  const config = parseConfig(run.config, `${options.manifestUri} config`);
  const result = await trainModel({
    config,
    data: run.data,
    out: run.candidateUri,
    // The run's own candidate prefix: only an earlier try of this job can have written there
    // (without finishing: a finished one is reused above), so it is written over, digest last.
    existing: 'in-place',
    backend: options.backend ?? 'auto',
    logger: log,
    progress: options.progress ?? true,
    modelId: `${run.runId}`,
    ...(run.split ? { split: { ...run.split, take: 'train' as const } } : {}),
    ...(run.champion
      ? {
          warmStart: run.champion.uri,
          warmStartExpected: { modelId: run.champion.modelId, namedBy: `the registry's champion v${run.champion.version}` },
        }
      : {}),
  }).catch((e: unknown) => {
    throw withDropHint(e);
  });
  return {
    runId: run.runId,
    candidateUri: run.candidateUri,
    modelId: result.manifest.modelId,
    reused: false,
    ...(result.best ? { bestEpoch: result.best.epoch } : {}),
  };
}
