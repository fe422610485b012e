/**
 * How sure is an AUC difference? A paired bootstrap over the test rows: each round redraws the
 * rows with replacement and scores every model on the same redraw, so the interval is that of
 * the difference itself, not of two AUCs that share most of their noise.
 *
 * Written here rather than taken from a library: no maintained JS statistics package does a
 * paired, weighted AUC bootstrap. Each model's rows are sorted once (RankedScores, the same AUC
 * as everywhere else); a round then costs O(rows) per model (a redraw is a count per row, and a
 * weighted AUC is one pass over the sorted rows).
 */
import { Rng } from '../util/random.ts';
import { RankedScores } from './metrics.ts';

export interface BootstrapOptions {
  /** @default 1000 */
  readonly rounds?: number;
  /** @default 1 */
  readonly seed?: number;
  /**
   * Sizes of consecutive blocks of rows scored by different models (cross-fitting folds): the
   * AUC is then the mean of the blocks' AUCs, and each round redraws rows within each block, so
   * scores are never ranked against another fold's. @default one block of every row
   */
  readonly blocks?: readonly number[];
}

export interface AucDifference {
  /** mean AUC of `a` − mean AUC of `b`, on the rows as they are. */
  readonly difference: number;
  /** The 2.5th and 97.5th percentiles of the difference over the bootstrap rounds. */
  readonly ci95: readonly [number, number];
  /** Share of rounds in which the difference was ≤ 0 (a one-sided bootstrap p-value for "a beats b"). */
  readonly shareNotAbove: number;
  /** Standard deviation of the difference over the rounds: its standard error. */
  readonly standardError: number;
  readonly rounds: number;
}

/**
 * Paired bootstrap of (mean AUC over the models in `a`) − (mean AUC over the models in `b`), all
 * scored on the same `labels` rows: e.g. `a` the refits of one setting with different seeds, `b`
 * the baseline. With `blocks`, each AUC is the mean over the blocks (folds) of the block's AUC.
 * @example const d = aucDifference(labels, [wdSeed1, wdSeed2, wdSeed3], [baseline]); // d.ci95
 */
export function aucDifference(
  labels: ArrayLike<number>,
  a: readonly ArrayLike<number>[],
  b: readonly ArrayLike<number>[],
  options: BootstrapOptions = {},
): AucDifference {
  const n = labels.length;
  const rounds = options.rounds ?? 1000;
  if (a.length === 0 || b.length === 0) throw new RangeError('aucDifference needs at least one model on each side');
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`rounds must be a positive integer, got ${rounds}`);
  for (const p of [...a, ...b]) {
    if (p.length !== n) throw new RangeError(`a model has ${p.length} predictions for ${n} labelled rows`);
  }
  const blocks = options.blocks ?? [n];
  if (blocks.reduce((t, b) => t + b, 0) !== n || blocks.some((b) => !Number.isInteger(b) || b < 1))
    throw new RangeError(`blocks must be positive whole sizes adding up to the ${n} rows, got ${blocks.join(', ')}`);
  const starts = blocks.map((_, j) => blocks.slice(0, j).reduce((t, b) => t + b, 0));
  // Per block: its labels and every model's rows ranked once.
  const parts = blocks.map((size, j) => {
    const from = starts[j]!;
    const slice = (p: ArrayLike<number>) => Float64Array.from({ length: size }, (_, i) => p[from + i]!);
    return { from, size, labels: slice(labels), a: a.map((p) => new RankedScores(slice(p))), b: b.map((p) => new RankedScores(slice(p))) };
  });
  const meanAuc = (side: 'a' | 'b', weight?: Float64Array) =>
    parts.reduce((t, part) => {
      const w = weight?.subarray(part.from, part.from + part.size);
      const models = part[side];
      return t + models.reduce((u, s) => u + s.auc(part.labels, w), 0) / models.length;
    }, 0) / parts.length;
  const difference = meanAuc('a') - meanAuc('b');

  const rng = new Rng(options.seed ?? 1);
  const weight = new Float64Array(n);
  const diffs = new Float64Array(rounds);
  for (let r = 0; r < rounds; r++) {
    weight.fill(0);
    for (const { from, size } of parts) for (let i = 0; i < size; i++) weight[from + rng.int(size)]! += 1;
    diffs[r] = meanAuc('a', weight) - meanAuc('b', weight);
  }
  if (!Number.isFinite(difference)) throw new RangeError('aucDifference needs both labels (0 and 1) among the rows: AUC is undefined');
  // A redraw can miss one class on tiny row sets; such rounds have no AUC and are left out.
  const valid = diffs.filter((d) => Number.isFinite(d)).sort();
  if (valid.length === 0) throw new RangeError('aucDifference: every redraw missed one of the classes');
  const at = (q: number) => valid[Math.min(valid.length - 1, Math.max(0, Math.round(q * (valid.length - 1))))]!;
  let notAbove = 0;
  for (const d of valid) if (d <= 0) notAbove++;
  const mean = valid.reduce((t, d) => t + d, 0) / valid.length;
  const standardError = Math.sqrt(valid.reduce((t, d) => t + (d - mean) ** 2, 0) / Math.max(1, valid.length - 1));
  return { difference, ci95: [at(0.025), at(0.975)], shareNotAbove: notAbove / valid.length, standardError, rounds: valid.length };
}
