/**
 * `wdp bench quality`: model quality on every public dataset of `../shared/datasets` and on the
 * generated app-store logs. Per dataset: wide, deep and wide & deep with the config's defaults
 * and after `wdp tune` (a fixed small budget, scored on a hashed validation share of the training
 * rows; on the generated logs, on the newest training day), plus a converged L2 logistic regression on the same wide features as the baseline (its
 * L2 chosen on the same validation rows). Every number is on the test rows, which neither tuning
 * nor the baseline's L2 choice sees.
 *
 * "Defaults" is the dataset's features and batch size with every optimiser and regularisation
 * setting left to the schema, and the number of epochs chosen on the validation rows — as early
 * stopping would, not by the bench per dataset: it is the tuning run's trial 0 (the config as
 * given, trained to the last rung), its best epoch count refitted on all training rows exactly as
 * the tuned row is. The two columns then differ only by the search.
 *
 * Models train on rows encoded once in memory (src/tuning/in-memory.ts: the model's own joint
 * step), so the whole table runs in minutes on two cores.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitLogisticRegression, predictLogisticRegression } from '../baseline/logistic-regression.ts';
import { type ModelKind, parseConfig, readConfigDocument, type WdpConfig } from '../config/index.ts';
import { aucDifference } from '../evaluation/bootstrap.ts';
import { binaryMetrics, type BinaryMetrics } from '../evaluation/metrics.ts';
import { generateLogs } from '../generator/generate.ts';
import type { TowerKind } from '../model/tower/kinds.ts';
import { specFor } from '../model/trainable-model.ts';
import { WideDeepModel } from '../model/wide-deep.ts';
import { storeFor } from '../storage/index.ts';
import { prepareTuningData, type TuningData } from '../tuning/data.ts';
import { predictInMemory, trainEpochInMemory } from '../tuning/in-memory.ts';
import { tune } from '../tuning/tune.ts';
import { describeWideStart, WideStartCache, wideInitRecord } from '../training/wide-init.ts';
import { mergeConfigPatch } from './adult-bench.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { adultDataset, avazuDataset, type BenchDataset, criteoDataset, type SampleFold, SINGLE_SPLIT } from './datasets.ts';
import { EXAMPLE_CONFIG } from './table1-bench.ts';
import { machineInfo } from './machine.ts';

export const QUALITY_DATASETS = ['adult', 'criteo', 'avazu', 'generated'] as const;
export type QualityDataset = (typeof QUALITY_DATASETS)[number];

export interface QualityBenchOptions {
  /** Folder holding adult/, criteo/ and avazu/. */
  readonly datasetsDir: string;
  /** @default all */
  readonly datasets?: readonly QualityDataset[];
  /** @default ['wide', 'deep', 'wide_deep'] */
  readonly kinds?: readonly ModelKind[];
  /** Tuning budget per model kind. @default 9 trials, epochs 1 → 9, eta 3 */
  readonly trials?: number;
  readonly maxEpochs?: number;
  readonly eta?: number;
  readonly seed?: number;
  /** Rows per generated day (3 days train, the 4th is the test). @default 20000 */
  readonly generatedRowsPerDay?: number;
  /** Seeds of the final refits, whose mean the table reports. @default [1, 2, 3] */
  readonly refitSeeds?: readonly number[];
  /** Cross-fitting folds for the Criteo and Avazu samples (1: the fixed 80/20 split). @default DEFAULT_SAMPLE_FOLDS */
  readonly sampleFolds?: number;
  /**
   * JSON merged into every dataset's config before anything runs (so it is the defaults' and
   * trial 0's config too), e.g. `{"wide": {"init": "logistic-regression"}}`.
   */
  readonly configPatch?: Record<string, unknown>;
  /** L2 strengths the baseline chooses from on validation. */
  readonly baselineL2?: readonly number[];
  readonly backend?: TowerKind;
  readonly logger?: Logger;
}

const DEFAULT_BASELINE_L2 = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2];

/**
 * Folds of the Criteo and Avazu samples. One 80/20 split tests on 2,030 rows, where paired AUC
 * differences have 95% intervals about ±0.005 wide; with 5 folds each of the ~10k rows is a test
 * row once (scored by models that never trained on it), at five times the tuning and refits.
 */
export const DEFAULT_SAMPLE_FOLDS = 5;
/** At most this many folds: each fold's test rows (≥ ~500) then hold both classes and give an AUC. */
export const MAX_SAMPLE_FOLDS = 20;

interface Scores {
  auc: number;
  logloss: number;
  accuracy: number;
}

function scores(m: Pick<BinaryMetrics, 'auc' | 'logloss' | 'accuracy'>): Scores {
  return { auc: +m.auc.toFixed(4), logloss: +m.logloss.toFixed(4), accuracy: +m.accuracy.toFixed(4) };
}

/**
 * Trains `kind` for the config's epochs on `data.train` and scores `data.validation` (here: the
 * test rows), once per refit seed (the seed sets the init and the shuffle order), and reports the
 * mean over seeds with each seed's AUC. On the 2,030 test rows of the samples the seeds' AUCs
 * differ by up to 0.005 with everything else the same, more than the differences the table is
 * read for.
 */
async function trainAndScore(
  config: WdpConfig,
  data: TuningData,
  kind: ModelKind,
  backend: TowerKind,
  seeds: readonly number[],
  log: Logger,
): Promise<Refit> {
  const runs: BinaryMetrics[] = [];
  const predictions: Float32Array[] = [];
  // `wide.init: "logistic-regression"` (a tuned choice): the same start `wdp train` and `wdp tune` make.
  const wideStarts = new WideStartCache(data.train);
  for (const seed of seeds) {
    const seeded = { ...config, training: { ...config.training, seed } };
    const spec = specFor(seeded, data.transforms, kind);
    const start = wideStarts.initialState(seeded, spec, { onFit: (st) => log.info(`  ${describeWideStart(wideInitRecord(st))}`) });
    const model = await WideDeepModel.create(spec, { backend, ...(start ? { state: start.state } : {}) });
    try {
      for (let epoch = 0; epoch < config.training.epochs; epoch++) {
        await trainEpochInMemory(model, data.train, { batchSize: config.training.batchSize, seed, epoch });
      }
      const p = await predictInMemory(model, data.validation);
      predictions.push(p);
      runs.push(binaryMetrics(p, data.validation.labels!));
    } finally {
      model.dispose();
    }
  }
  const mean = (k: keyof Scores) => runs.reduce((a, m) => a + m[k], 0) / runs.length;
  return {
    ...scores({ auc: mean('auc'), logloss: mean('logloss'), accuracy: mean('accuracy') }),
    epochs: config.training.epochs,
    seed_aucs: runs.map((m) => +m.auc.toFixed(4)),
    predictions,
  };
}

type Refit = Scores & { epochs: number; seed_aucs: number[]; predictions: Float32Array[] };

/** A paired bootstrap of an AUC difference on the test rows, rounded for the JSON. */
function difference(labels: Float32Array, a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[], blocks?: readonly number[]) {
  const d = aucDifference(labels, a, b, { rounds: 1000, seed: 1, ...(blocks ? { blocks } : {}) });
  return {
    auc: +d.difference.toFixed(4),
    ci95: d.ci95.map((x) => +x.toFixed(4)),
    share_of_rounds_not_above_0: +d.shareNotAbove.toFixed(3),
  };
}

/** The logistic-regression baseline: L2 chosen on validation, then refitted on all training rows. */
function baseline(search: TuningData, full: TuningData, grid: readonly number[]) {
  const choices = grid.map((l2) => {
    const fit = fitLogisticRegression(search.train, search.transforms.wideLayout.size, { l2 });
    const m = binaryMetrics(predictLogisticRegression(fit, search.validation), search.validation.labels!);
    return { l2, validationAuc: +m.auc.toFixed(4) };
  });
  const best = choices.reduce((a, b) => (b.validationAuc > a.validationAuc ? b : a));
  const fit = fitLogisticRegression(full.train, full.transforms.wideLayout.size, { l2: best.l2 });
  const predictions = predictLogisticRegression(fit, full.validation);
  const m = binaryMetrics(predictions, full.validation.labels!);
  return {
    ...scores(m),
    predictions,
    l2: best.l2,
    l2_choices: choices,
    iterations: fit.iterations,
    train_loss: +fit.trainLoss.toFixed(6),
    // The acceptance evidence: the objective's change over the last L-BFGS iteration.
    last_iteration_loss_change: Number(fit.lastChange.toPrecision(3)),
    converged: fit.converged,
  };
}

async function generatedDataset(work: string, rowsPerDay: number, seed: number): Promise<BenchDataset> {
  const dir = join(work, 'generated');
  await generateLogs({ days: 4, rowsPerDay, seed, out: dir, startDate: '2026-01-01' }, storeFor(dir));
  const example = await readConfigDocument(EXAMPLE_CONFIG);
  // The example's features and batch size as they are; its optimiser goes back to the defaults and
  // its epochs are chosen on validation like every dataset's.
  const { optimizer: _o, tuning: _t, training, ...rest } = example;
  const { epochs: _e, ...batching } = training ?? {};
  return {
    name: 'generated',
    train: ['01', '02', '03'].map((d) => join(dir, `dt=2026-01-${d}`)),
    test: join(dir, 'dt=2026-01-04'),
    trainRows: 3 * rowsPerDay,
    testRows: rowsPerDay,
    // The test is the next day, so validation is the newest training day (as the workflow holds
    // out the newest day), not a hashed share of all three, whose rows share their days with
    // training: on it a fast, overfitting wide setting (FTRL α 1, 4 epochs) outscored the
    // defaults (0.7990 vs 0.7969) and then lost to them on day 4 (0.7963 vs 0.8042).
    searchSplit: { train: ['01', '02'].map((d) => join(dir, `dt=2026-01-${d}`)), validation: [join(dir, 'dt=2026-01-03')] },
    config: { ...rest, training: batching },
    validationColumn: 'impression_id',
  };
}

/** One train / test split's results, with the test predictions kept for pooling and the intervals. */
interface SplitResult {
  readonly labels: Float32Array;
  readonly trainRows: number;
  readonly searchRows: { readonly train: number; readonly validation: number };
  readonly base: ReturnType<typeof baseline>;
  readonly defaults: Partial<Record<ModelKind, Refit & { validation_auc: number }>>;
  readonly tuned: Partial<
    Record<ModelKind, Refit & { validation_auc: number; params: unknown; over_given?: unknown; tune_seconds: number }>
  >;
}

interface SplitSettings {
  readonly kinds: readonly ModelKind[];
  readonly budget: { trials: number; minEpochs: number; maxEpochs: number; eta: number };
  readonly seed: number;
  readonly refitSeeds: readonly number[];
  readonly backend: TowerKind;
  readonly baselineL2: readonly number[];
  readonly configPatch?: Record<string, unknown>;
  readonly log: Logger;
}

/** Tune, refit and score every kind, and the baseline, on one dataset split. */
async function evaluateSplit(ds: BenchDataset, label: string, s: SplitSettings): Promise<SplitResult> {
  const { log } = s;
  const config = s.configPatch
    ? parseConfig(mergeConfigPatch(ds.config as Record<string, unknown>, s.configPatch), `${ds.name} config with the config patch`)
    : parseConfig(ds.config, `${ds.name} config`);
  // Search side: training rows split into train / validation (by a hash, or the newest day); final side: all training rows, test rows.
  const search = ds.searchSplit
    ? await prepareTuningData({ config, data: ds.searchSplit.train, validation: ds.searchSplit.validation })
    : await prepareTuningData({ config, data: ds.train, validationColumn: ds.validationColumn, validationFraction: 0.2 });
  const full = await prepareTuningData({ config, data: ds.train, validation: [ds.test] });

  const base = baseline(search, full, s.baselineL2);
  log.info(
    `${label} baseline LR: auc ${base.auc} (l2 ${base.l2}, ${base.iterations} iterations, last change ${base.last_iteration_loss_change})`,
  );
  const defaults: SplitResult['defaults'] = {};
  const tuned: Partial<Record<ModelKind, SplitResult['tuned'][ModelKind] & object>> = {};
  for (const kind of s.kinds) {
    const r = await tune({ config, data: search, kind, ...s.budget, seed: s.seed, backend: s.backend });
    // Trial 0 is the config as given (tune never halves it), so its best epoch is the defaults' epoch count.
    const given = r.trials[0]!;
    const d = await trainAndScore(
      parseConfig({ ...config, training: { ...config.training, epochs: Math.max(1, given.bestEpoch) } }, `${ds.name} defaults`),
      full,
      kind,
      s.backend,
      s.refitSeeds,
      log,
    );
    defaults[kind] = { ...d, validation_auc: given.score };
    log.info(`${label} ${kind} defaults: auc ${d.auc} (validation ${given.score}, ${d.epochs} epochs)`);
    const t = await trainAndScore(r.config, full, kind, s.backend, s.refitSeeds, log);
    const overGiven = r.config.tuning?.overGiven;
    tuned[kind] = {
      ...t,
      validation_auc: r.best.score,
      params: r.best.params,
      ...(overGiven ? { over_given: overGiven } : {}),
      tune_seconds: +r.seconds.toFixed(1),
    };
    log.info(`${label} ${kind} tuned: auc ${t.auc} (validation ${r.best.score}, ${t.epochs} epochs)`);
  }
  return {
    labels: full.validation.labels!,
    trainRows: full.train.size,
    searchRows: { train: search.train.size, validation: search.validation.size },
    base,
    defaults,
    tuned,
  };
}

function concat(parts: readonly Float32Array[]): Float32Array;
function concat(parts: readonly Float64Array[]): Float64Array;
function concat(parts: readonly (Float32Array | Float64Array)[]): Float32Array | Float64Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = parts[0] instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The mean over folds of each fold's AUC: scores are never ranked against another fold's model. */
function foldMeanAuc(predictions: readonly ArrayLike<number>[], labels: readonly Float32Array[]): number {
  return predictions.reduce((t, p, f) => t + binaryMetrics(p, labels[f]!).auc, 0) / predictions.length;
}

/**
 * Cross-fitting: every sample row is a test row once, scored by the models that did not train on
 * it. AUC is the mean of the folds' AUCs (each fold's models rank only that fold's rows; a pooled
 * AUC would also rank one fold's scores against another's, penalising a model whose calibration
 * moves between folds); logloss and accuracy are per row, so they are taken over all rows. The
 * folds' predictions are kept joined, in fold order, for the fold-stratified bootstrap. Per-fold
 * choices (epochs, L2, validation AUC, parameters) are kept beside the figures.
 */
function poolFolds(folds: readonly SplitResult[]): SplitResult & { perFold: { folds: number; fold_test_rows: number[] } } {
  const foldLabels = folds.map((f) => f.labels);
  const labels = concat(foldLabels);
  const poolRefit = <T extends Refit & { validation_auc: number }>(parts: readonly T[]) => {
    const seeds = parts[0]!.predictions.length;
    const seedAucs = Array.from({ length: seeds }, (_, j) =>
      foldMeanAuc(
        parts.map((p) => p.predictions[j]!),
        foldLabels,
      ),
    );
    const predictions = Array.from({ length: seeds }, (_, j) => concat(parts.map((p) => p.predictions[j]!)));
    const runs = predictions.map((p) => binaryMetrics(p, labels));
    const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
    return {
      ...scores({ auc: mean(seedAucs), logloss: mean(runs.map((m) => m.logloss)), accuracy: mean(runs.map((m) => m.accuracy)) }),
      // Each fold chose its own epochs on its own validation rows.
      epochs: Math.round(mean(parts.map((p) => p.epochs))),
      fold_epochs: parts.map((p) => p.epochs),
      seed_aucs: seedAucs.map((x) => +x.toFixed(4)),
      fold_aucs: parts.map((p) => p.auc),
      validation_auc: +mean(parts.map((p) => p.validation_auc)).toFixed(4),
      predictions,
    };
  };
  type Tuned = { params?: unknown; over_given?: { keptGiven?: boolean }; tune_seconds?: number };
  const byKind = <T extends Refit & { validation_auc: number }>(pick: (f: SplitResult) => Partial<Record<ModelKind, T>>) =>
    Object.fromEntries(
      Object.keys(pick(folds[0]!)).map((k) => {
        const parts = folds.map((f) => pick(f)[k as ModelKind]!);
        const tunedParts = parts as readonly (T & Tuned)[];
        const extra =
          'params' in parts[0]!
            ? {
                fold_params: tunedParts.map((p) => p.params),
                fold_kept_given: tunedParts.map((p) => p.over_given?.keptGiven ?? null),
                tune_seconds: +tunedParts.reduce((a, p) => a + (p.tune_seconds ?? 0), 0).toFixed(1),
              }
            : {};
        return [k, { ...poolRefit(parts), ...extra }];
      }),
    ) as Partial<Record<ModelKind, Refit & { validation_auc: number; params: unknown; tune_seconds: number }>>;
  const basePredictions = concat(folds.map((f) => f.base.predictions));
  const bm = binaryMetrics(basePredictions, labels);
  const base = {
    ...folds[0]!.base,
    ...scores({
      auc: foldMeanAuc(
        folds.map((f) => f.base.predictions),
        foldLabels,
      ),
      logloss: bm.logloss,
      accuracy: bm.accuracy,
    }),
    predictions: basePredictions,
    fold_l2: folds.map((f) => f.base.l2),
    fold_aucs: folds.map((f) => f.base.auc),
    iterations: Math.max(...folds.map((f) => f.base.iterations)),
    // The acceptance's evidence, for the least converged fold.
    last_iteration_loss_change: Math.max(...folds.map((f) => Math.abs(f.base.last_iteration_loss_change))),
    converged: folds.every((f) => f.base.converged),
  };
  return {
    labels,
    trainRows: folds[0]!.trainRows,
    searchRows: folds[0]!.searchRows,
    base,
    defaults: byKind((f) => f.defaults),
    tuned: byKind((f) => f.tuned),
    perFold: { folds: folds.length, fold_test_rows: folds.map((f) => f.labels.length) },
  };
}

export async function benchQuality(options: QualityBenchOptions) {
  const log = options.logger ?? silentLogger;
  const kinds = options.kinds ?? (['wide', 'deep', 'wide_deep'] as const);
  const backend = options.backend ?? 'auto';
  const seed = options.seed ?? 1;
  const refitSeeds = options.refitSeeds ?? [1, 2, 3];
  if (refitSeeds.length === 0) throw new RangeError('refitSeeds: at least one seed');
  const sampleFolds = options.sampleFolds ?? DEFAULT_SAMPLE_FOLDS;
  if (!Number.isInteger(sampleFolds) || sampleFolds < 1 || sampleFolds > MAX_SAMPLE_FOLDS)
    throw new RangeError(`sampleFolds: a whole number from 1 to ${MAX_SAMPLE_FOLDS}, got ${sampleFolds}`);
  const budget = { trials: options.trials ?? 9, minEpochs: 1, maxEpochs: options.maxEpochs ?? 9, eta: options.eta ?? 3 };
  const settings: SplitSettings = {
    kinds,
    budget,
    seed,
    refitSeeds,
    backend,
    baselineL2: options.baselineL2 ?? DEFAULT_BASELINE_L2,
    ...(options.configPatch ? { configPatch: options.configPatch } : {}),
    log,
  };
  const work = await mkdtemp(join(tmpdir(), 'wdp-quality-'));
  const started = performance.now();
  try {
    const results: Record<string, unknown>[] = [];
    for (const name of options.datasets ?? QUALITY_DATASETS) {
      const t0 = performance.now();
      const sample = name === 'criteo' || name === 'avazu';
      // A sample's 10k rows give one 2,030-row test set; with folds every row is tested once.
      const folds: SampleFold[] =
        sample && sampleFolds > 1 ? Array.from({ length: sampleFolds }, (_, index) => ({ index, count: sampleFolds })) : [SINGLE_SPLIT];
      const splits: SplitResult[] = [];
      let dsName = name as string;
      for (const fold of folds) {
        const ds =
          name === 'adult'
            ? await adultDataset(join(options.datasetsDir, 'adult'), work)
            : name === 'criteo'
              ? await criteoDataset(join(options.datasetsDir, 'criteo'), work, fold)
              : name === 'avazu'
                ? await avazuDataset(join(options.datasetsDir, 'avazu'), work, fold)
                : await generatedDataset(work, options.generatedRowsPerDay ?? 20_000, 7);
        dsName = ds.name;
        const label = folds.length > 1 ? `${ds.name} fold ${fold.index + 1}/${fold.count}` : ds.name;
        log.info(`${label}: ${ds.trainRows} training rows, ${ds.testRows} test rows`);
        splits.push(await evaluateSplit(ds, label, settings));
      }
      const r = splits.length > 1 ? poolFolds(splits) : { ...splits[0]!, perFold: undefined };
      // The acceptance's comparisons, each with a paired bootstrap interval over the test rows.
      const { labels, tuned, defaults, base } = r;
      const blocks = r.perFold?.fold_test_rows;
      const compare = (a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]) => difference(labels, a, b, blocks);
      const comparisons: Record<string, ReturnType<typeof difference>> = {};
      if (tuned.wide_deep) comparisons['tuned_wide_deep_minus_baseline'] = compare(tuned.wide_deep.predictions, [base.predictions]);
      if (defaults.wide_deep && tuned.wide_deep)
        comparisons['defaults_minus_tuned_wide_deep'] = compare(defaults.wide_deep.predictions, tuned.wide_deep.predictions);
      if (defaults.wide_deep && tuned.wide)
        comparisons['defaults_wide_deep_minus_tuned_wide'] = compare(defaults.wide_deep.predictions, tuned.wide.predictions);
      // Every model against the baseline, for the plot (`--plot`): the same paired bootstrap.
      const minusBaseline = <T extends { predictions: Float32Array[] }>(byKind: Partial<Record<ModelKind, T>>) =>
        Object.fromEntries(Object.entries(byKind).map(([k, { predictions }]) => [k, compare(predictions, [base.predictions])]));
      const minus_baseline = { defaults: minusBaseline(defaults), tuned: minusBaseline(tuned) };
      const { predictions: _p, ...baseline_logistic_regression } = base;
      const withoutPredictions = <T extends { predictions: Float32Array[] }>(byKind: Partial<Record<ModelKind, T>>) =>
        Object.fromEntries(Object.entries(byKind).map(([k, { predictions: _q, ...rest }]) => [k, rest]));
      results.push({
        dataset: dsName,
        ...(r.perFold ? { cross_fitted: r.perFold } : {}),
        train_rows: r.trainRows,
        test_rows: labels.length,
        search_rows: r.searchRows,
        baseline_logistic_regression,
        defaults: withoutPredictions(defaults),
        tuned: withoutPredictions(tuned),
        comparisons,
        minus_baseline,
        seconds: +((performance.now() - t0) / 1000).toFixed(1),
      });
      log.info(`${dsName}: ${JSON.stringify(comparisons)}`);
    }
    return {
      budget: {
        ...budget,
        seed,
        refit_seeds: refitSeeds,
        sample_folds: sampleFolds,
        ...(options.configPatch ? { config_patch: options.configPatch } : {}),
        metric: 'auc',
        validation: 'hashed 20% of the training rows (row_id); generated: days 1–2 train, day 3 validates',
      },
      results,
      seconds: +((performance.now() - started) / 1000).toFixed(1),
      // Last, as in every benchmark's JSON: lscpu's model name and flags.
      machine: machineInfo(),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
