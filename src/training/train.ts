/**
 * `wdp train`: fit transforms on the training logs (one streaming pass), build or warm-start the
 * model, train for the configured epochs with a windowed shuffle, then save the artifact.
 */
import { randomUUID } from 'node:crypto';
import type { ModelKind, WdpConfig } from '../config/index.ts';
import { listLogFiles, readLogChunks, type ColumnRequirement, type LogFile } from '../data/logs.ts';
import { splitRows, withSplitColumn, type RowSplit } from '../data/row-split.ts';
import { concatBatches, takeRows } from '../features/batch-ops.ts';
import type { EncodedBatch } from '../features/encoded-batch.ts';
import { FeatureTransforms } from '../features/transforms.ts';
import { saveModelArtifact } from '../model/artifact.ts';
import { manifestDraft, type ModelManifest } from '../model/manifest.ts';
import { readStoredModel, type StoredModel } from '../model/stored-model.ts';
import { specFor } from '../model/trainable-model.ts';
import type { TowerKind } from '../model/tower/kinds.ts';
import { WideDeepModel, type WideDeepState } from '../model/wide-deep.ts';
import { evaluateModel } from '../evaluation/evaluate.ts';
import type { BinaryMetrics } from '../evaluation/metrics.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { createProgress } from '../util/progress.ts';
import { Rng } from '../util/random.ts';
import { warmStartState, type WarmStartReport } from './warm-start.ts';
import { TrainingError } from './errors.ts';

export interface TrainOptions {
  readonly config: WdpConfig;
  /** Log files or prefixes/folders (Parquet or CSV). */
  readonly data: readonly string[];
  /** Folder URI the model is written to. */
  readonly out: string;
  /** @default 'wide_deep' */
  readonly kind?: ModelKind;
  /** Model folder to initialise from. */
  readonly warmStart?: string;
  /** Refit numeric quantiles/buckets instead of keeping the parent's. @default false */
  readonly refitTransforms?: boolean;
  /** @default 'auto' */
  readonly backend?: TowerKind;
  /** Optional held-out logs; their metrics go into the manifest. */
  readonly holdout?: readonly string[];
  readonly logger?: Logger;
  /** Show progress (bar on a TTY, plain lines otherwise). @default true */
  readonly progress?: boolean;
  /** @default a fresh UUID-based id */
  readonly modelId?: string;
  /** Train on one side of a hashed row split (config `holdout.kind: "hash"`). */
  readonly split?: RowSplit;
  /** The split for `holdout` (the other side of `split` by default). */
  readonly holdoutSplit?: RowSplit;
}

export interface TrainResult {
  readonly uri: string;
  readonly manifest: ModelManifest;
  readonly holdoutMetrics?: BinaryMetrics;
  readonly warmStart?: WarmStartReport;
  /** Mean loss per stretch of ~1/100 of an epoch, for plots. */
  readonly lossCurve: { examples: number; loss: number; epoch: number }[];
}

/** Everything a training run needs to know about a log column, from the config alone. */
export function columnsForConfig(config: WdpConfig, withLabel: boolean): ColumnRequirement[] {
  const used = new Set<string>([
    ...config.wide.features,
    ...config.wide.crosses.flatMap((c) => c.features),
    ...config.deep.embeddings,
    ...config.deep.numeric,
  ]);
  const cols = [...used].map((name): ColumnRequirement => {
    const kind = config.features[name]!.kind;
    return {
      name,
      kind: kind === 'numeric' ? ('numeric' as const) : kind === 'categorical_list' ? ('list' as const) : ('string' as const),
    };
  });
  if (withLabel) cols.push({ name: config.label, kind: 'label' });
  return cols;
}

/**
 * Trains one model and saves it. The artifact's manifest is written last, so a crash leaves no
 * loadable half-model.
 */
export async function trainModel(options: TrainOptions): Promise<TrainResult> {
  const log = options.logger ?? silentLogger;
  const config = options.config;
  const kind = options.kind ?? 'wide_deep';
  const started = performance.now();
  const files = await listLogFiles([...options.data]);
  if (files.length === 0) throw new TrainingError(`no Parquet or CSV logs under ${options.data.join(', ')}`);
  log.info(`training ${kind} on ${files.length} file(s), ${(files.reduce((a, f) => a + f.sizeBytes, 0) / 1e6).toFixed(1)} MB`);

  let parent: StoredModel | undefined;
  if (options.warmStart) {
    parent = await readStoredModel(options.warmStart);
    log.info(`warm start from ${options.warmStart} (${parent.manifest.modelId})`);
  }

  // Pass 1: fit vocabularies and quantiles.
  const columns = withSplitColumn(columnsForConfig(config, true), options.split);
  let fitRows = 0;
  const fitProgress = options.progress === false ? undefined : createProgress({ label: 'fit transforms', total: 0, unit: 'rows' });
  const transforms = await FeatureTransforms.fit(config, splitRows(readLogChunks(files, { columns }), options.split), {
    ...(parent ? { parent: parent.transforms.toState() } : {}),
    refitNumeric: options.refitTransforms ?? false,
    seed: config.training.seed,
    onRows: (rows) => {
      fitRows = rows;
      fitProgress?.update(rows);
    },
  });
  fitProgress?.setTotal(fitRows);
  fitProgress?.stop();

  const spec = specFor(config, transforms, kind);
  let report: WarmStartReport | undefined;
  let initial: WideDeepState | undefined;
  if (parent) {
    const ws = warmStartState(parent, spec, transforms);
    initial = ws.state;
    report = ws.report;
    for (const p of ws.report.parts) log.info(`  warm start ${p.part} ${p.name}: ${p.how} (${p.carriedRows}/${p.rows} rows)`);
  }
  const model = await WideDeepModel.create(spec, {
    backend: options.backend ?? 'auto',
    ...(initial ? { state: initial } : {}),
    log: (m) => log.info(m),
  });
  try {
    const totalExamples = fitRows * config.training.epochs;
    const progress = options.progress === false ? undefined : createProgress({ label: `train ${kind}`, total: totalExamples, unit: 'ex' });
    const stats = { examples: 0, skipped: 0, lossSum: 0, lossBatches: 0, epochLoss: 0 };
    const rng = new Rng(config.training.seed);
    const lossCurve: TrainResult['lossCurve'] = [];
    const curveEvery = Math.max(config.training.batchSize, Math.floor(fitRows / 100));
    let curve = { loss: 0, batches: 0, since: 0 };
    const trainStarted = performance.now();
    for (let epoch = 0; epoch < config.training.epochs; epoch++) {
      const epochStats = { loss: 0, batches: 0 };
      await runEpoch(model, transforms, files, config, rng, columns, options.split, async (loss, size, skipped) => {
        stats.skipped += skipped;
        if (size === 0) return;
        stats.examples += size;
        epochStats.loss += loss;
        epochStats.batches++;
        if (!Number.isFinite(loss)) throw new TrainingError(`training diverged: loss is ${loss} after ${stats.examples} examples`);
        curve = { loss: curve.loss + loss, batches: curve.batches + 1, since: curve.since + size };
        if (curve.since >= curveEvery) {
          lossCurve.push({ examples: stats.examples, loss: curve.loss / curve.batches, epoch: epoch + 1 });
          curve = { loss: 0, batches: 0, since: 0 };
        }
        progress?.update(stats.examples, { epoch: epoch + 1, loss: epochStats.loss / epochStats.batches });
      });
      stats.epochLoss = epochStats.loss / Math.max(1, epochStats.batches);
      (progress?.interactive ? (m: string) => progress.log(m) : (m: string) => log.info(m))(
        `epoch ${epoch + 1}/${config.training.epochs}: mean train loss ${stats.epochLoss.toFixed(5)}`,
      );
    }
    progress?.stop();
    const trainSeconds = (performance.now() - trainStarted) / 1000;
    const rowsSeen = stats.examples / config.training.epochs;
    const skippedPerEpoch = stats.skipped / config.training.epochs;
    if (rowsSeen === 0) throw new TrainingError('no usable training rows (all rows were skipped as bad)');
    const badShare = skippedPerEpoch / (rowsSeen + skippedPerEpoch);
    if (badShare > config.data.maxBadRowFraction) {
      throw new TrainingError(
        `${skippedPerEpoch} of ${rowsSeen + skippedPerEpoch} rows were bad (${(100 * badShare).toFixed(2)}%), over data.maxBadRowFraction ${config.data.maxBadRowFraction}`,
      );
    }

    let holdoutMetrics: BinaryMetrics | undefined;
    if (options.holdout && options.holdout.length > 0) {
      const holdoutSplit =
        options.holdoutSplit ??
        (options.split
          ? { ...options.split, take: options.split.take === 'train' ? ('holdout' as const) : ('train' as const) }
          : undefined);
      holdoutMetrics = await evaluateModel({ config, transforms, model }, options.holdout, {
        onBadRow: config.data.onBadRow,
        ...(holdoutSplit ? { split: holdoutSplit } : {}),
      });
      log.info(
        `holdout: auc ${holdoutMetrics.auc.toFixed(4)} logloss ${holdoutMetrics.logloss.toFixed(4)} calibration ${holdoutMetrics.calibration.toFixed(3)}`,
      );
    }
    const state = model.state();
    assertFinite(state);
    const metrics: Record<string, unknown> = {
      trainLoss: stats.epochLoss,
      trainRows: rowsSeen,
      skippedRows: skippedPerEpoch,
      wideZeroFraction: model.wideZeroFraction(),
      wideTouchedZeroFraction: model.wideTouchedZeroFraction(),
      ...(holdoutMetrics ? { holdout: holdoutMetrics } : {}),
    };
    const manifest = await saveModelArtifact(
      options.out,
      manifestDraft({
        modelId: options.modelId ?? `m-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomUUID().slice(0, 8)}`,
        kind,
        config,
        transforms,
        hasTower: model.tower !== undefined,
        metrics,
        parent: parent ? { uri: parent.uri, modelId: parent.manifest.modelId } : null,
        trainedOn: { files: files.map((f) => ({ uri: f.uri, sizeBytes: f.sizeBytes })), rows: rowsSeen, skippedRows: skippedPerEpoch },
        training: {
          backend: model.tower?.name ?? 'none (wide only)',
          epochs: config.training.epochs,
          batchSize: config.training.batchSize,
          trainSeconds,
          examplesPerSecond: stats.examples / trainSeconds,
          totalSeconds: (performance.now() - started) / 1000,
          refitTransforms: options.refitTransforms ?? false,
          lossCurve: lossCurve.map((p) => ({ examples: p.examples, loss: round6(p.loss), epoch: p.epoch })),
        },
      }),
      state,
    );
    log.info(`saved ${kind} model ${manifest.modelId} to ${options.out} (${(stats.examples / trainSeconds).toFixed(0)} ex/s)`);
    return {
      uri: options.out,
      manifest,
      lossCurve,
      ...(holdoutMetrics ? { holdoutMetrics } : {}),
      ...(report ? { warmStart: report } : {}),
    };
  } finally {
    model.dispose();
  }
}

/** Six significant digits: enough for a plot, and keeps the manifest small. */
function round6(x: number): number {
  return Number(x.toPrecision(6));
}

/** A NaN anywhere means training went wrong: refuse to save it rather than serve it. */
function assertFinite(state: ReturnType<WideDeepModel['state']>): void {
  const check = (name: string, a: Float32Array) => {
    for (let i = 0; i < a.length; i++)
      if (!Number.isFinite(a[i]!)) throw new TrainingError(`refusing to save: ${name} has a non-finite value at ${i}`);
  };
  check('bias', state.bias.weights);
  if (state.wide) check('wide weights', state.wide.weights);
  for (const [f, t] of state.embeddings) check(`embedding ${f}`, t.weights);
  if (state.tower) for (const [n, a] of Object.entries(state.tower.tensors)) check(`tower ${n}`, a);
}

/**
 * One pass over the files. Rows are shuffled within windows of `training.shuffleBuffer` rows
 * (like tf.data's shuffle buffer, but windowed so memory stays bounded and simple); leftovers
 * smaller than a batch carry into the next window so every row is trained on once per epoch.
 */
async function runEpoch(
  model: WideDeepModel,
  transforms: FeatureTransforms,
  files: readonly LogFile[],
  config: WdpConfig,
  rng: Rng,
  columns: readonly ColumnRequirement[],
  split: RowSplit | undefined,
  onBatch: (loss: number, size: number, skipped: number) => Promise<void>,
): Promise<void> {
  const { batchSize, shuffleBuffer } = config.training;
  let window: EncodedBatch[] = [];
  let windowRows = 0;
  let pendingSkipped = 0;

  const flush = async (final: boolean) => {
    if (windowRows === 0) return;
    const all = window.length === 1 ? window[0]! : concatBatches(window);
    const order = new Int32Array(all.size);
    for (let i = 0; i < order.length; i++) order[i] = i;
    rng.shuffle(order);
    const usable = final ? all.size : all.size - (all.size % batchSize);
    for (let start = 0; start < usable; start += batchSize) {
      const end = Math.min(usable, start + batchSize);
      const rows = order.subarray(start, end);
      const batch = takeRows([all], { batch: new Int32Array(rows.length), row: rows });
      const { loss } = await model.trainBatch(batch);
      await onBatch(loss, batch.size, pendingSkipped);
      pendingSkipped = 0;
    }
    if (usable < all.size) {
      const rest = order.subarray(usable);
      window = [takeRows([all], { batch: new Int32Array(rest.length), row: rest })];
      windowRows = rest.length;
    } else {
      window = [];
      windowRows = 0;
    }
  };

  for await (const chunk of splitRows(readLogChunks(files, { columns }), split)) {
    const { batch, skipped } = transforms.encode(chunk, { withLabels: true, onBadRow: config.data.onBadRow });
    pendingSkipped += skipped;
    if (batch.size === 0) continue;
    window.push(batch);
    windowRows += batch.size;
    if (windowRows >= shuffleBuffer) await flush(false);
  }
  await flush(true);
  if (pendingSkipped > 0) await onBatch(0, 0, pendingSkipped);
}
