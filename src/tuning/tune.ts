/**
 * `wdp tune`: random search with successive halving (Jamieson & Talwalkar 2016; the synchronous
 * form of ASHA, Li et al. 2020), the resource being epochs. Every trial trains `minEpochs`; the
 * best 1/η by validation score continue to η× the epochs, and so on up to `maxEpochs`. Trials are
 * sampled up front from the seed and each trial's data order depends only on (seed, trial, epoch),
 * so a seed gives the same trials, scores and winner (a time budget can only cut the search short).
 *
 * Trial 0 is the config as it was given (its own values, nothing sampled) and is never halved: it
 * trains through every rung. Successive halving ranks trials by their early epochs, which favours
 * fast learners that later overfit, and would cut a slower, better starting point after one
 * epoch; keeping it means the search never writes a config that scores worse on validation than
 * the one it was given (Optuna's `enqueue_trial` of a known-good point, made immune to pruning).
 *
 * Trials 1…k are the given config with one switch changed (search-space rows marked `alone`:
 * where the wide part starts, the numerics' pieces), then the rest are drawn at random.
 *
 * Scores come from the validation rows (TuningData), never from the config's final holdout.
 */
import { ConfigError, type ModelKind, parseConfig, type WdpConfig } from '../config/index.ts';
import { auc, binaryMetrics, type BinaryMetrics } from '../evaluation/metrics.ts';
import { predictLogisticRegression } from '../baseline/logistic-regression.ts';
import { describeWideStart, fitProgressLines, WideStartCache, wideInitRecord } from '../training/wide-init.ts';
import { specFor } from '../model/trainable-model.ts';
import type { TowerKind } from '../model/tower/kinds.ts';
import { WideDeepModel, type WideDeepState } from '../model/wide-deep.ts';
import { hash32, Rng } from '../util/random.ts';
import { WdpError } from '../util/errors.ts';
import type { TuningData } from './data.ts';
import { predictInMemory, trainEpochInMemory } from './in-memory.ts';
import { aucDifference } from '../evaluation/bootstrap.ts';
import {
  activeSpace,
  aloneTrials,
  applyParams,
  type ParamValue,
  readParam,
  sampleDimension,
  SEARCH_SPACE,
  type SearchDimension,
} from './search-space.ts';

export class TuneError extends WdpError {}

export const TUNE_METRICS = ['auc', 'logloss'] as const;
export type TuneMetric = (typeof TUNE_METRICS)[number];

export interface TuneOptions {
  readonly config: WdpConfig;
  readonly data: TuningData;
  /** @default 'wide_deep' */
  readonly kind?: ModelKind;
  /** Trials sampled (the first rung's size). @default 27 */
  readonly trials?: number;
  /** @default 1 */
  readonly minEpochs?: number;
  /** @default 9 */
  readonly maxEpochs?: number;
  /** Keep the best 1/eta at each rung. @default 3 */
  readonly eta?: number;
  /** @default 1 */
  readonly seed?: number;
  /** @default 'auc' */
  readonly metric?: TuneMetric;
  /** Start no new training once this many seconds have passed (the search then ends with what it has). */
  readonly timeBudgetSeconds?: number;
  /** @default 'auto' */
  readonly backend?: TowerKind;
  /** @default SEARCH_SPACE */
  readonly space?: readonly SearchDimension[];
  /**
   * Trial 0 is the given config as it is, trained through every rung (never halved); the other
   * trials are sampled. `false` samples every trial. @default true
   */
  readonly includeGiven?: boolean;
  /**
   * The best trial replaces the given config (trial 0) only when it beats it on validation by
   * more than this many standard errors of their paired difference (bootstrap over the
   * validation rows for AUC; per-row losses for logloss) — the one-standard-error rule, so that
   * a difference the validation rows cannot resolve does not replace the config the user gave.
   * 0 takes the best score as it is. @default 1
   */
  readonly minImprovementSe?: number;
  /** Examples trained so far, of `total` planned. */
  readonly onProgress?: (done: number, total: number, info: { trial: number; rung: number; best?: number }) => void;
  readonly log?: (line: string) => void;
}

export interface EpochRecord {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly auc: number;
  readonly logloss: number;
}

export interface TrialRecord {
  readonly id: number;
  readonly params: Readonly<Record<string, ParamValue>>;
  /** Validation after each epoch trained. */
  readonly curve: EpochRecord[];
  /** Epochs trained (the last rung reached). */
  epochs: number;
  /** Best validation score over the epochs trained (AUC, or logloss), and where. */
  score: number;
  bestEpoch: number;
  /** Why it stopped: its rung's cut, the last rung, the time budget, or a failure. */
  stopped: 'halved' | 'completed' | 'time budget' | 'failed';
  error?: string;
}

export interface RungPlan {
  readonly rung: number;
  readonly epochs: number;
  readonly trials: number;
}

export interface TuneResult {
  readonly metric: TuneMetric;
  readonly kind: ModelKind;
  readonly schedule: readonly RungPlan[];
  readonly trials: readonly TrialRecord[];
  readonly best: TrialRecord;
  /** The base config with the best trial's params and its best epoch count, plus the `tuning` record. */
  readonly config: WdpConfig;
  readonly skipped: readonly { path: string; reason: string }[];
  readonly seconds: number;
  readonly timedOut: boolean;
}

/** The successive-halving rungs: epochs grow ×eta up to maxEpochs, trials shrink ÷eta (at least 1). */
export function halvingSchedule(trials: number, minEpochs: number, maxEpochs: number, eta: number): RungPlan[] {
  if (!(Number.isInteger(trials) && trials >= 1)) throw new TuneError(`trials must be an integer ≥ 1, got ${trials}`);
  if (!(Number.isInteger(minEpochs) && minEpochs >= 1)) throw new TuneError(`min epochs must be an integer ≥ 1, got ${minEpochs}`);
  if (!(Number.isInteger(maxEpochs) && maxEpochs >= minEpochs))
    throw new TuneError(`max epochs must be an integer ≥ min epochs (${minEpochs}), got ${maxEpochs}`);
  if (!(eta >= 2)) throw new TuneError(`eta must be ≥ 2, got ${eta}`);
  const out: RungPlan[] = [];
  let epochs = minEpochs;
  let n = trials;
  for (let rung = 0; ; rung++) {
    out.push({ rung, epochs, trials: n });
    if (epochs >= maxEpochs || n === 1) break;
    epochs = Math.min(maxEpochs, Math.round(epochs * eta));
    n = Math.max(1, Math.floor(n / eta));
  }
  return out;
}

/** Higher is better in the returned order key. */
function better(metric: TuneMetric, a: number, b: number): boolean {
  if (Number.isNaN(b)) return !Number.isNaN(a);
  return metric === 'auc' ? a > b : a < b;
}

export async function tune(options: TuneOptions): Promise<TuneResult> {
  const started = performance.now();
  const { config, data } = options;
  const kind = options.kind ?? 'wide_deep';
  const metric = options.metric ?? 'auc';
  const seed = options.seed ?? 1;
  const eta = options.eta ?? 3;
  const nTrials = options.trials ?? 27;
  const schedule = halvingSchedule(nTrials, options.minEpochs ?? 1, options.maxEpochs ?? 9, eta);
  const log = options.log ?? (() => {});
  const { dimensions, skipped } = activeSpace(config, kind, options.space ?? SEARCH_SPACE);
  for (const s of skipped) log(`not searched: ${s.path} (${s.reason})`);

  // All params first, in trial order, so a trial's params do not depend on how far the search got.
  const rng = new Rng(seed);
  const includeGiven = options.includeGiven ?? true;
  const given = Object.fromEntries(
    dimensions.flatMap((d) => {
      const v = readParam(config, d.path);
      return v === undefined ? [] : [[d.path, v] as const];
    }),
  );
  // After trial 0, the given config with one switch changed (SearchDimension.alone), as many as
  // the budget has room for; the rest are drawn.
  const alone = includeGiven ? aloneTrials(config, dimensions, given).slice(0, nTrials - 1) : [];
  if (alone.length > 0)
    log(
      `${alone.length === 1 ? 'trial 1' : `trials 1–${alone.length}`}: the given config with one switch changed (${alone.map((a) => a.change).join('; ')})`,
    );
  const trials: TrialRecord[] = Array.from({ length: nTrials }, (_, id) => ({
    id,
    params:
      includeGiven && id === 0
        ? given
        : id - 1 < alone.length && includeGiven
          ? alone[id - 1]!.params
          : Object.fromEntries(dimensions.map((d) => [d.path, sampleDimension(d, rng)])),
    curve: [],
    epochs: 0,
    score: Number.NaN,
    bestEpoch: 0,
    stopped: 'completed',
  }));

  // The given config, when kept out of the halving, trains every rung on top of the schedule's trials.
  const protectedId = includeGiven ? 0 : undefined;
  const rows = data.train.size;
  let total = 0;
  for (let r = 0; r < schedule.length; r++) {
    const extra = protectedId !== undefined && r > 0 ? 1 : 0;
    total += (schedule[r]!.trials + extra) * (schedule[r]!.epochs - (r ? schedule[r - 1]!.epochs : 0)) * rows;
  }
  let done = 0;
  const states = new Map<number, WideDeepState>();
  // Trials with `wide.init: "logistic-regression"` start from the same regression (it depends on
  // the rows and its own settings only): fitted once, on the first such trial.
  const wideStarts = new WideStartCache(data.train);
  /**
   * Each trial's validation predictions at its best epoch, for the comparison with trial 0: at
   * most trials × validation rows floats (27 × 400k rows under the 2M-row limit: 43 MB).
   */
  const bestPredictions = new Map<number, Float32Array>();
  const deadline = options.timeBudgetSeconds !== undefined ? started + options.timeBudgetSeconds * 1000 : Number.POSITIVE_INFINITY;
  let timedOut = false;
  let bestSoFar: number | undefined;

  let alive = trials.map((t) => t.id);
  for (const plan of schedule) {
    for (const id of alive) {
      const trial = trials[id]!;
      if (performance.now() > deadline) {
        timedOut = true;
        trial.stopped = 'time budget';
        continue;
      }
      try {
        const trialConfig = applyParams(config, trial.params, `trial ${id}`);
        const spec = specFor(trialConfig, data.transforms, kind);
        const state =
          states.get(id) ??
          wideStarts.initialState(trialConfig, spec, {
            onFit: (start) =>
              log(
                describeWideStart(
                  wideInitRecord(start, auc(predictLogisticRegression(start.fit, data.validation), data.validation.labels!)),
                ),
              ),
            onFitting: (rows) =>
              log(
                `fitting the logistic regression the wide part starts from, on ${rows} rows (once: every trial that starts from it shares it)`,
              ),
            onIteration: fitProgressLines(log),
          })?.state;
        const model = await WideDeepModel.create(spec, { backend: options.backend ?? 'auto', ...(state ? { state } : {}) });
        try {
          for (let epoch = trial.epochs; epoch < plan.epochs; epoch++) {
            const trainLoss = await trainEpochInMemory(model, data.train, {
              batchSize: trialConfig.training.batchSize,
              seed: hash32(seed ^ hash32(id + 0x51ed)),
              epoch,
              onBatch: (n) => {
                done += n;
                options.onProgress?.(done, total, { trial: id, rung: plan.rung, ...(bestSoFar !== undefined ? { best: bestSoFar } : {}) });
              },
            });
            const predictions = await predictInMemory(model, data.validation);
            const m: BinaryMetrics = binaryMetrics(predictions, data.validation.labels!);
            trial.curve.push({ epoch: epoch + 1, trainLoss: round6(trainLoss), auc: round6(m.auc), logloss: round6(m.logloss) });
            const score = metric === 'auc' ? m.auc : m.logloss;
            if (trial.bestEpoch === 0 || better(metric, score, trial.score)) {
              trial.score = round6(score);
              trial.bestEpoch = epoch + 1;
              bestPredictions.set(id, predictions);
            }
            trial.epochs = epoch + 1;
          }
          if (bestSoFar === undefined || better(metric, trial.score, bestSoFar)) bestSoFar = trial.score;
          // Keep the state only if another rung follows; tables are referenced, the tower copied out.
          if (plan !== schedule[schedule.length - 1]) states.set(id, model.state());
        } finally {
          model.dispose();
        }
      } catch (e) {
        // A sampled config the schema refuses (too big a model) or a diverged run loses its trial, not the search.
        if (!(e instanceof ConfigError || e instanceof RangeError)) throw e;
        trial.stopped = 'failed';
        trial.error = (e as Error).message;
        trial.score = Number.NaN;
        states.delete(id);
        log(`trial ${id} failed: ${trial.error}`);
      }
    }
    const ran = alive.filter((id) => trials[id]!.stopped !== 'failed' && trials[id]!.stopped !== 'time budget');
    const next = schedule[plan.rung + 1];
    if (!next) break;
    const keepGiven = protectedId !== undefined && ran.includes(protectedId);
    if (keepGiven) ran.splice(ran.indexOf(protectedId), 1);
    ran.sort((a, b) =>
      better(metric, trials[a]!.score, trials[b]!.score) ? -1 : better(metric, trials[b]!.score, trials[a]!.score) ? 1 : a - b,
    );
    const keep = ran.slice(0, next.trials);
    for (const id of ran.slice(next.trials)) {
      trials[id]!.stopped = 'halved';
      states.delete(id);
    }
    log(
      `rung ${plan.rung} (${plan.epochs} epoch${plan.epochs > 1 ? 's' : ''}): best ${metric} ${ran.length ? trials[ran[0]!]!.score : 'n/a'}; ${keep.length} of ${ran.length} go on to ${next.epochs} epochs${keepGiven ? ', with the given config (trial 0)' : ''}`,
    );
    alive = keepGiven ? [protectedId, ...keep] : keep;
    if (alive.length === 0) break;
  }
  states.clear();

  const scored = trials.filter((t) => t.curve.length > 0 && !Number.isNaN(t.score));
  if (scored.length === 0) {
    const failure = trials.find((t) => t.error)?.error;
    throw new TuneError(`no trial finished${failure ? `; the first failure: ${failure}` : timedOut ? ' within the time budget' : ''}`);
  }
  // The top score: ties to the trial that trained longer, then the lower id.
  const top = scored.reduce((a, b) => (better(metric, b.score, a.score) || (b.score === a.score && b.epochs > a.epochs) ? b : a));
  const givenTrial = includeGiven ? scored.find((t) => t.id === 0) : undefined;
  const margin = options.minImprovementSe ?? 1;
  const overGiven =
    givenTrial && top !== givenTrial
      ? improvementOver(metric, data.validation.labels!, bestPredictions.get(top.id)!, bestPredictions.get(givenTrial.id)!, seed)
      : undefined;
  const keepGiven = overGiven !== undefined && overGiven.difference <= margin * overGiven.standardError;
  const best = keepGiven ? givenTrial! : top;
  if (overGiven) {
    log(
      `trial ${top.id} beats the given config by ${overGiven.difference.toFixed(5)} ${metric} (standard error ${overGiven.standardError.toFixed(5)}): ${keepGiven ? `within ${margin} standard error${margin === 1 ? '' : 's'}, the given config is kept` : 'taken'}`,
    );
  }
  bestPredictions.clear();
  const seconds = (performance.now() - started) / 1000;
  const tuned = applyParams(config, { ...best.params, 'training.epochs': best.bestEpoch }, 'best trial');
  const record = {
    tool: 'wdp tune' as const,
    seed,
    metric,
    kind,
    budget: {
      trials: nTrials,
      minEpochs: schedule[0]!.epochs,
      maxEpochs: schedule[schedule.length - 1]!.epochs,
      eta,
      ...(options.timeBudgetSeconds !== undefined ? { timeSeconds: options.timeBudgetSeconds } : {}),
    },
    validation:
      data.validationSource.kind === 'hash'
        ? { ...data.validationSource }
        : { kind: 'files' as const, uris: [...data.validationSource.uris] },
    trainRows: data.train.size,
    validationRows: data.validation.size,
    best: { trial: best.id, score: best.score, epochs: best.bestEpoch },
    ...(overGiven
      ? {
          overGiven: {
            topTrial: top.id,
            difference: round6(overGiven.difference),
            standardError: round6(overGiven.standardError),
            minImprovementSe: margin,
            keptGiven: keepGiven,
          },
        }
      : {}),
    notSearched: skipped.map((s) => s.path),
    trials: trials.map((t) => ({
      id: t.id,
      params: { ...t.params } as Record<string, ParamValue>,
      epochs: t.epochs,
      bestEpoch: t.bestEpoch,
      score: Number.isNaN(t.score) ? null : t.score,
      stopped: t.stopped,
      curve: t.curve.map((c) => ({ ...c })),
    })),
    seconds: Math.round(seconds * 10) / 10,
    timedOut,
  };
  const withRecord = parseConfig({ ...tuned, tuning: record }, 'tuned config');
  return { metric, kind, schedule, trials, best, config: withRecord, skipped, seconds, timedOut };
}

function round6(x: number): number {
  return Number(x.toPrecision(6));
}

/** The trials as a fixed-width text table, best first (what `wdp tune` prints). */
export function trialsTable(result: Pick<TuneResult, 'trials' | 'best' | 'metric'>): string {
  const paths = [...new Set(result.trials.flatMap((t) => Object.keys(t.params)))];
  const short = (p: string) => p.split('.').slice(-1)[0]!;
  const fmt = (v: ParamValue | undefined) =>
    v === undefined ? '' : Array.isArray(v) ? `[${v.join(',')}]` : typeof v === 'number' ? String(Number(v.toPrecision(3))) : String(v);
  const rows = [...result.trials]
    .sort((a, b) => (better(result.metric, a.score, b.score) ? -1 : better(result.metric, b.score, a.score) ? 1 : a.id - b.id))
    .map((t) => [
      `${t.id === result.best.id ? '*' : ''}${t.id}`,
      Number.isNaN(t.score) ? '—' : t.score.toFixed(4),
      String(t.bestEpoch),
      String(t.epochs),
      t.stopped,
      ...paths.map((p) => fmt(t.params[p])),
    ]);
  const header = ['trial', result.metric, 'best epoch', 'epochs', 'stopped', ...paths.map(short)];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * How much `a` beats `b` on the validation rows (positive = better, in the metric's direction),
 * with the standard error of that paired difference.
 */
function improvementOver(
  metric: TuneMetric,
  labels: Float32Array,
  a: Float32Array,
  b: Float32Array,
  seed: number,
): { difference: number; standardError: number } {
  if (metric === 'auc') {
    const d = aucDifference(labels, [a], [b], { rounds: 200, seed });
    return { difference: d.difference, standardError: d.standardError };
  }
  // logloss: the mean of per-row loss differences (b − a: lower loss is better), its SE analytic.
  const n = labels.length;
  const loss = (p: number, y: number) => {
    const q = Math.min(1 - 1e-7, Math.max(1e-7, p));
    return -(y * Math.log(q) + (1 - y) * Math.log(1 - q));
  };
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const d = loss(b[i]!, labels[i]!) - loss(a[i]!, labels[i]!);
    sum += d;
    sumSq += d * d;
  }
  const mean = sum / n;
  const variance = Math.max(0, (sumSq - n * mean * mean) / Math.max(1, n - 1));
  return { difference: mean, standardError: Math.sqrt(variance / n) };
}
