/**
 * `wdp train`: fit transforms on the training logs (one streaming pass), build or warm-start the
 * model, train for the configured epochs with a windowed shuffle, then save the artifact.
 */
import { batchBounds } from './batch-bounds.ts';
import { randomUUID } from 'node:crypto';
import { type ModelKind, validationHashColumn, type WdpConfig, wideInitOf } from '../config/index.ts';
import { listLogFiles, readLogChunks, type ColumnRequirement, type LogFile } from '../data/logs.ts';
import { splitRows, VALIDATION_SPLIT_SEED, withSplitColumn, type RowSplit, type RowSplits } from '../data/row-split.ts';
import { concatBatches, takeRows } from '../features/batch-ops.ts';
import type { EncodedBatch } from '../features/encoded-batch.ts';
import { FeatureTransforms } from '../features/transforms.ts';
import { saveModelArtifact } from '../model/artifact.ts';
import { manifestDraft, type ModelManifest } from '../model/manifest.ts';
import { checkModelTarget, type ExistingModelPolicy, lockModelTarget } from '../model/save-target.ts';
import type { OutputLock } from '../storage/output-lock.ts';
import { readStoredModel, type StoredModel } from '../model/stored-model.ts';
import { specFor } from '../model/trainable-model.ts';
import type { TowerKind } from '../model/tower/kinds.ts';
import { cloneState, hasWide, WideDeepModel, type WideDeepSpec, type WideDeepState } from '../model/wide-deep.ts';
import { evaluateModel } from '../evaluation/evaluate.ts';
import type { BinaryMetrics } from '../evaluation/metrics.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { createProgress } from '../util/progress.ts';
import { Rng } from '../util/random.ts';
import { warmStartState, type WarmStartReport } from './warm-start.ts';
import {
  applyWideStart,
  describeWideStart,
  fitProgressLines,
  fitWideStart,
  rowSampler,
  type WideInitRecord,
  wideInitRecord,
  wideOnly,
} from './wide-init.ts';
import { TrainingError } from './errors.ts';

export interface TrainOptions {
  readonly config: WdpConfig;
  /** Log files or prefixes/folders (Parquet or CSV). */
  readonly data: readonly string[];
  /** Folder URI the model is written to; never the `warmStart` folder. */
  readonly out: string;
  /**
   * What to do when `out` already holds a model (save-target.ts): refuse (checked before any
   * training), replace it once the new one is complete (`wdp train --force`), or write in place
   * (the workflow's run-scoped candidate). @default 'refuse'
   */
  readonly existing?: ExistingModelPolicy;
  /** @default 'wide_deep' */
  readonly kind?: ModelKind;
  /** Model folder to initialise from. */
  readonly warmStart?: string;
  /**
   * The model `warmStart` must hold, and what named it (`the registry's champion v2`): a folder
   * holding another model (replaced or swapped by hand) is refused before any training.
   */
  readonly warmStartExpected?: { readonly modelId: string; readonly namedBy: string };
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
  /**
   * Validation logs evaluated while training (`wdp train --validation`); they replace the
   * config's `training.validation` hashed share when both are given.
   */
  readonly validation?: readonly string[];
}

/** One validation pass: after `examples` training examples, in `epoch` (1-based). */
export interface ValidationPoint {
  readonly examples: number;
  readonly epoch: number;
  readonly logloss: number;
  readonly auc: number;
}

export interface TrainResult {
  readonly uri: string;
  readonly manifest: ModelManifest;
  readonly holdoutMetrics?: BinaryMetrics;
  readonly warmStart?: WarmStartReport;
  /** Mean loss per stretch of ~1/100 of an epoch, for plots. */
  readonly lossCurve: { examples: number; loss: number; epoch: number }[];
  /** One point per validation pass (empty without a validation set). */
  readonly validationCurve: ValidationPoint[];
  /** With early stopping: the validation pass whose weights were kept. */
  readonly best?: ValidationPoint;
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
  // Held from the target check to the end of the save: of two trainings to one folder the second
  // fails here, naming the first, instead of both training and then undoing each other's save.
  const lock = (options.existing ?? 'refuse') === 'in-place' ? undefined : await lockModelTarget(options.out);
  try {
    return await trainUnderLock(options, lock);
  } finally {
    await lock?.release();
  }
}

async function trainUnderLock(options: TrainOptions, lock: OutputLock | undefined): Promise<TrainResult> {
  const log = options.logger ?? silentLogger;
  const config = options.config;
  const kind = options.kind ?? 'wide_deep';
  const started = performance.now();
  const existing = options.existing ?? 'refuse';
  // Before reading a byte of data: an hour of training must not end in a refused save.
  await checkModelTarget(options.out, { existing, ...(options.warmStart ? { warmStart: options.warmStart } : {}) });
  const files = await listLogFiles([...options.data]);
  if (files.length === 0) throw new TrainingError(`no Parquet or CSV logs under ${options.data.join(', ')}`);
  log.info(`training ${kind} on ${files.length} file(s), ${(files.reduce((a, f) => a + f.sizeBytes, 0) / 1e6).toFixed(1)} MB`);

  let parent: StoredModel | undefined;
  if (options.warmStart) {
    parent = await readStoredModel(options.warmStart);
    const expected = options.warmStartExpected;
    if (expected && parent.manifest.modelId !== expected.modelId)
      throw new TrainingError(
        `${expected.namedBy} is model ${expected.modelId}, but ${options.warmStart} holds model ${parent.manifest.modelId}: not warm-starting from another model (the folder was replaced or swapped by hand?)`,
      );
    log.info(`warm start from ${options.warmStart} (${parent.manifest.modelId})`);
  }

  const validation = validationSource(options, log);
  // Training (and the transforms' fit) never sees the validation share of a hashed split.
  const trainSplits: RowSplit[] = [
    ...(options.split ? [options.split] : []),
    ...(validation?.hashed ? [{ ...validation.hashed, take: 'train' as const }] : []),
  ];

  // Pass 1: fit vocabularies and quantiles.
  const columns = withSplitColumn(columnsForConfig(config, true), trainSplits);
  let fitRows = 0;
  const fitProgress = options.progress === false ? undefined : createProgress({ label: 'fit transforms', total: 0, unit: 'rows' });
  const transforms = await FeatureTransforms.fit(config, splitRows(readLogChunks(files, { columns }), trainSplits), {
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
  const init = wideInitOf(config);
  /** How the wide part started, for the manifest: absent for zeros. */
  let wideInit: WideInitRecord | { skipped: string } | undefined;
  if (parent) {
    const ws = warmStartState(parent, spec, transforms);
    initial = ws.state;
    report = ws.report;
    for (const p of ws.report.parts) log.info(`  warm start ${p.part} ${p.name}: ${p.how} (${p.carriedRows}/${p.rows} rows)`);
    if (init && hasWide(kind)) {
      // The parent's weights are a better start than a regression on this run's rows alone, and
      // replacing them would throw away what the warm start carries over.
      wideInit = { skipped: `warm start from ${parent.manifest.modelId} takes precedence` };
      log.info(`wide.init "logistic-regression" not used: the ${wideInit.skipped}`);
    }
  } else if (init && hasWide(kind)) {
    const start = await wideStartFromFiles({ files, columns, splits: trainSplits, config, transforms, spec, rows: fitRows, log });
    initial = start.state;
    let validationAuc: number | undefined;
    if (validation) {
      // The regression alone on the validation rows: a wide-only model on the start's tables (it trains nothing).
      const wideSpec = { ...spec, kind: 'wide' as const };
      const lr = await WideDeepModel.create(wideSpec, {
        state: { bias: start.state.bias, wide: start.state.wide!, embeddings: new Map() },
      });
      try {
        validationAuc = (
          await evaluateModel({ config, transforms, model: lr }, validation.data, {
            onBadRow: config.data.onBadRow,
            ...(validation.splits ? { split: validation.splits } : {}),
          })
        ).auc;
      } finally {
        lr.dispose();
      }
    }
    wideInit = wideInitRecord(start.start, validationAuc);
    log.info(describeWideStart(wideInit));
  } else if (init) {
    log.info('wide.init not used: a deep model has no wide part');
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
    const validationCurve: ValidationPoint[] = [];
    const stopping = config.training.earlyStopping;
    const every = config.training.validationEvery ?? 'epoch';
    let nextValidationAt = typeof every === 'number' ? every : Number.POSITIVE_INFINITY;
    // Early stopping keeps a copy of the best weights in memory (cloneState: tables with their
    // optimizer slots and the tower). It doubles the model's memory for the run, which the
    // config's memory check does not count; a copy on disk would not, but would write the
    // whole model at every improvement.
    let best: { point: ValidationPoint; state: WideDeepState } | undefined;
    let sinceBest = 0;
    let stopped = false;
    /** One validation pass; true when early stopping says to stop. */
    const validate = async (epoch: number): Promise<boolean> => {
      const m = await evaluateModel({ config, transforms, model }, validation!.data, {
        onBadRow: config.data.onBadRow,
        ...(validation!.splits ? { split: validation!.splits } : {}),
      });
      const point = { examples: stats.examples, epoch, logloss: m.logloss, auc: m.auc };
      validationCurve.push(point);
      (progress?.interactive ? (msg: string) => progress.log(msg) : (msg: string) => log.info(msg))(
        `validation after ${stats.examples} examples (epoch ${epoch}): logloss ${m.logloss.toFixed(5)} auc ${m.auc.toFixed(5)} (${m.rows} rows)`,
      );
      if (!stopping) return false;
      const improved =
        !best ||
        (stopping.metric === 'auc' ? m.auc > best.point.auc + stopping.minDelta : m.logloss < best.point.logloss - stopping.minDelta);
      if (improved) {
        best = { point, state: cloneState(model.state()) };
        sinceBest = 0;
        return false;
      }
      sinceBest++;
      return sinceBest >= stopping.patience;
    };
    let epochsRun = 0;
    let firstEpoch: { examples: number; skipped: number } | undefined;
    const trainStarted = performance.now();
    for (let epoch = 0; epoch < config.training.epochs && !stopped; epoch++) {
      const epochStats = { loss: 0, batches: 0 };
      await runEpoch(model, transforms, files, config, rng, columns, trainSplits, async (loss, size, skipped) => {
        stats.skipped += skipped;
        if (size === 0) return false;
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
        if (validation && stats.examples >= nextValidationAt) {
          while (nextValidationAt <= stats.examples) nextValidationAt += every as number;
          stopped = await validate(epoch + 1);
        }
        return stopped;
      });
      epochsRun = epoch + 1;
      if (!stopped && !firstEpoch) firstEpoch = { examples: stats.examples, skipped: stats.skipped };
      stats.epochLoss = epochStats.loss / Math.max(1, epochStats.batches);
      (progress?.interactive ? (m: string) => progress.log(m) : (m: string) => log.info(m))(
        `epoch ${epoch + 1}/${config.training.epochs}: mean train loss ${stats.epochLoss.toFixed(5)}`,
      );
      if (validation && every === 'epoch' && !stopped) stopped = await validate(epoch + 1);
    }
    progress?.stop();
    if (best) {
      model.restore(best.state);
      log.info(
        `${stopped ? 'early stopping' : 'end of training'}: keeping the weights of epoch ${best.point.epoch} (${best.point.examples} examples; validation logloss ${best.point.logloss.toFixed(5)}, auc ${best.point.auc.toFixed(5)})`,
      );
    }
    const trainSeconds = (performance.now() - trainStarted) / 1000;
    // Rows per epoch, from the first whole epoch (early stopping may end one midway).
    const rowsSeen = firstEpoch?.examples ?? stats.examples;
    const skippedPerEpoch = firstEpoch?.skipped ?? stats.skipped;
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
      ...(best ? { validation: { logloss: best.point.logloss, auc: best.point.auc } } : {}),
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
          ...(validation ? { epochsRun, validationSource: validation.hashed ? 'hash' : 'files' } : {}),
          batchSize: config.training.batchSize,
          trainSeconds,
          examplesPerSecond: stats.examples / trainSeconds,
          totalSeconds: (performance.now() - started) / 1000,
          refitTransforms: options.refitTransforms ?? false,
          ...(wideInit ? { wideInit } : {}),
          lossCurve: lossCurve.map((p) => ({ examples: p.examples, loss: round6(p.loss), epoch: p.epoch })),
          ...(validation
            ? {
                validationCurve: validationCurve.map((p) => ({
                  examples: p.examples,
                  epoch: p.epoch,
                  logloss: round6(p.logloss),
                  auc: round6(p.auc),
                })),
              }
            : {}),
          ...(best ? { bestEpoch: best.point.epoch, bestExamples: best.point.examples, stoppedEarly: stopped } : {}),
        },
      }),
      state,
      { existing, ...(lock ? { lock } : {}) },
    );
    log.info(`saved ${kind} model ${manifest.modelId} to ${options.out} (${(stats.examples / trainSeconds).toFixed(0)} ex/s)`);
    return {
      uri: options.out,
      manifest,
      lossCurve,
      validationCurve,
      ...(best ? { best: best.point } : {}),
      ...(holdoutMetrics ? { holdoutMetrics } : {}),
      ...(report ? { warmStart: report } : {}),
    };
  } finally {
    model.dispose();
  }
}

/**
 * `wide.init: "logistic-regression"` for `wdp train`: one pass over the training rows (the same
 * split as training) keeps the wide ids and labels of a seeded uniform sample of at most
 * `wide.init.maxRows` rows (rowSampler; ~ rows × wide features × 8 bytes), fits the regression on
 * them and returns the model's initial state (src/training/wide-init.ts).
 */
async function wideStartFromFiles(o: {
  files: readonly LogFile[];
  columns: readonly ColumnRequirement[];
  splits: RowSplits;
  config: WdpConfig;
  transforms: FeatureTransforms;
  spec: WideDeepSpec;
  /** Training rows counted by the transforms' fit: the sample's denominator. */
  rows: number;
  log: Logger;
}): Promise<{ state: WideDeepState; start: ReturnType<typeof fitWideStart> }> {
  const init = wideInitOf(o.config)!;
  const { seed, batchSize } = o.config.training;
  const keep = rowSampler(o.rows, init.maxRows, seed);
  const kept: EncodedBatch[] = [];
  let epochRows = 0;
  for await (const chunk of splitRows(readLogChunks(o.files, { columns: o.columns }), o.splits)) {
    const { batch } = o.transforms.encode(chunk, { withLabels: true, onBadRow: o.config.data.onBadRow });
    epochRows += batch.size;
    const pick: number[] = [];
    for (let r = 0; r < batch.size; r++) if (keep()) pick.push(r);
    if (pick.length > 0) kept.push(wideOnly(batch, Int32Array.from(pick)));
  }
  if (kept.length === 0) throw new TrainingError('wide.init: no usable training rows to fit the logistic regression on');
  const rows = concatBatches(kept);
  o.log.info(
    `fitting the wide part's starting point: logistic regression on ${rows.size}${rows.size < epochRows ? ` of ${epochRows}` : ''} rows, L2 ${init.l2}`,
  );
  // The fit is synchronous (no progress bar redraws meanwhile): a line every few seconds instead.
  const onIteration = fitProgressLines((line) => o.log.info(line));
  const start = fitWideStart(rows, o.spec.wideLayout.size, { l2: init.l2, batchSize, seed, epochRows, onIteration });
  return { state: applyWideStart(o.spec, start), start };
}

/**
 * Where validation rows come from: `options.validation` files as they are, else the config's
 * hashed share of the training rows (inside the training side of a hashed holdout, if any).
 */
function validationSource(
  options: TrainOptions,
  log: Logger,
): { data: readonly string[]; splits?: RowSplits; hashed?: RowSplit } | undefined {
  const config = options.config;
  const hash = config.training.validation;
  if (options.validation && options.validation.length > 0) {
    if (hash) log.info('validation: the given --validation logs replace training.validation');
    return { data: options.validation };
  }
  if (hash) {
    const column = validationHashColumn(config);
    if (!column) throw new TrainingError('training.validation: a hash validation split needs a column (or data.idColumns)');
    const hashed: RowSplit = { column, fraction: hash.fraction, take: 'holdout', seed: VALIDATION_SPLIT_SEED };
    return { data: options.data, splits: [...(options.split ? [options.split] : []), hashed], hashed };
  }
  if (config.training.earlyStopping) {
    throw new TrainingError(
      'training.earlyStopping needs a validation set: set training.validation (e.g. {"kind": "hash", "fraction": 0.1}) or pass --validation PATH',
    );
  }
  if (config.training.validationEvery !== undefined) {
    throw new TrainingError(
      'training.validationEvery is set but there is no validation set: set training.validation or pass --validation PATH',
    );
  }
  return undefined;
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
 * smaller than a batch carry into the next window so every row is trained on once per epoch,
 * and the epoch's last leftover joins its last batch (batchBounds).
 */
async function runEpoch(
  model: WideDeepModel,
  transforms: FeatureTransforms,
  files: readonly LogFile[],
  config: WdpConfig,
  rng: Rng,
  columns: readonly ColumnRequirement[],
  split: RowSplits,
  /** Returns true to stop the epoch (early stopping) after this batch. */
  onBatch: (loss: number, size: number, skipped: number) => Promise<boolean>,
): Promise<void> {
  const { batchSize, shuffleBuffer } = config.training;
  let window: EncodedBatch[] = [];
  let windowRows = 0;
  let pendingSkipped = 0;
  let stop = false;

  const flush = async (final: boolean) => {
    if (windowRows === 0) return;
    const all = window.length === 1 ? window[0]! : concatBatches(window);
    const order = new Int32Array(all.size);
    for (let i = 0; i < order.length; i++) order[i] = i;
    rng.shuffle(order);
    const usable = final ? all.size : all.size - (all.size % batchSize);
    for (const { start, end } of batchBounds(usable, batchSize)) {
      const rows = order.subarray(start, end);
      const batch = takeRows([all], { batch: new Int32Array(rows.length), row: rows });
      const { loss } = await model.trainBatch(batch);
      stop = await onBatch(loss, batch.size, pendingSkipped);
      pendingSkipped = 0;
      if (stop) return;
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
    if (stop) return;
  }
  await flush(true);
  if (stop) return;
  if (pendingSkipped > 0) await onBatch(0, 0, pendingSkipped);
}
