/**
 * Plots people would rather look at than read: ROC and reliability (calibration) curves for an
 * evaluation, and the training loss curve. Rendered to SVG with Vega-Lite, headless (no canvas).
 */
import type { TopLevelSpec } from 'vega-lite';
import { controlsAsCodePoints } from '../util/terminal-text.ts';

/** Up to `points` (fpr, tpr) points of the ROC curve, from the highest score down. */
export function rocPoints(probs: ArrayLike<number>, labels: ArrayLike<number>, points = 200): { fpr: number; tpr: number }[] {
  const n = probs.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[b]! - probs[a]!);
  let pos = 0;
  for (let i = 0; i < n; i++) pos += labels[i]!;
  const neg = n - pos;
  if (pos === 0 || neg === 0) return [];
  const out = [{ fpr: 0, tpr: 0 }];
  const every = Math.max(1, Math.floor(n / points));
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; k++) {
    if (labels[order[k]!] === 1) tp++;
    else fp++;
    if ((k + 1) % every === 0 || k === n - 1) out.push({ fpr: fp / neg, tpr: tp / pos });
  }
  return out;
}

/** Equal-count bins of predictions: mean prediction vs. observed positive rate per bin. */
export function reliabilityBins(
  probs: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = 10,
): { predicted: number; observed: number; rows: number }[] {
  const n = probs.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[a]! - probs[b]!);
  const out: { predicted: number; observed: number; rows: number }[] = [];
  for (let b = 0; b < bins; b++) {
    const start = Math.floor((b * n) / bins);
    const end = Math.floor(((b + 1) * n) / bins);
    if (end <= start) continue;
    let p = 0;
    let y = 0;
    for (let k = start; k < end; k++) {
      p += probs[order[k]!]!;
      y += labels[order[k]!]!;
    }
    out.push({ predicted: p / (end - start), observed: y / (end - start), rows: end - start });
  }
  return out;
}

async function render(spec: TopLevelSpec): Promise<string> {
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const view = new vega.View(vega.parse(vl.compile(withControlsEscaped(spec)).spec), { renderer: 'none' });
  return view.toSVG();
}

/**
 * The spec with every string's control characters and bidi overrides written as `[U+XXXX]`
 * (util/terminal-text.ts; not `\uXXXX`, which Vega's label expressions read back as the
 * character): chart labels and titles hold tokens, model ids and file names from data, and Vega
 * draws them as SVG text, where U+202E reverses what follows. Strings without such characters
 * (field names, types, colours) come back unchanged; numbers stay numbers.
 */
function withControlsEscaped<T>(value: T): T {
  if (typeof value === 'string') return controlsAsCodePoints(value) as T;
  if (Array.isArray(value)) return value.map((v) => withControlsEscaped(v)) as T;
  // Plain objects only: anything else (a typed array, a Date) is passed through as it is.
  if (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value)))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withControlsEscaped(v)])) as T;
  return value;
}

/** The y = x reference line from 0 to `to`, under ROC curves (chance) and reliability diagrams (perfect calibration). */
function diagonal(to: number) {
  return {
    data: { values: [{ x: 0 }, { x: to }] },
    mark: { type: 'line' as const, strokeDash: [4, 4], color: '#999' },
    encoding: { x: { field: 'x', type: 'quantitative' as const }, y: { field: 'x', type: 'quantitative' as const } },
  };
}

/** ROC curve and reliability diagram side by side. */
export function evaluationPlotSvg(probs: ArrayLike<number>, labels: ArrayLike<number>, title: string): Promise<string> {
  const roc = rocPoints(probs, labels);
  const rel = reliabilityBins(probs, labels);
  const maxP = Math.max(0.01, ...rel.map((r) => Math.max(r.predicted, r.observed)));
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    background: 'white',
    hconcat: [
      {
        title: 'ROC',
        width: 280,
        height: 280,
        layer: [
          diagonal(1),
          {
            data: { values: roc },
            mark: { type: 'line', color: '#1f77b4' },
            encoding: {
              x: { field: 'fpr', type: 'quantitative', title: 'false positive rate', scale: { domain: [0, 1] } },
              y: { field: 'tpr', type: 'quantitative', title: 'true positive rate', scale: { domain: [0, 1] } },
            },
          },
        ],
      },
      {
        title: 'Calibration (10 equal-count bins)',
        width: 280,
        height: 280,
        layer: [
          diagonal(maxP),
          {
            data: { values: rel },
            mark: { type: 'line', point: true, color: '#d62728' },
            encoding: {
              x: { field: 'predicted', type: 'quantitative', title: 'mean prediction', scale: { domain: [0, maxP] } },
              y: { field: 'observed', type: 'quantitative', title: 'observed rate', scale: { domain: [0, maxP] } },
            },
          },
        ],
      },
    ],
  });
}

/** Mean training loss against examples seen. */
export function lossCurveSvg(
  points: readonly { examples: number; loss: number; epoch: number }[],
  title: string,
  validation?: {
    readonly curve: readonly { examples: number; logloss: number }[];
    /** The pass whose weights were kept (early stopping): marked with a vertical rule. */
    readonly bestExamples?: number;
  },
): Promise<string> {
  const x = { field: 'examples', type: 'quantitative', title: 'examples seen' } as const;
  const trainLines = {
    data: { values: [...points] },
    mark: { type: 'line' },
    encoding: {
      x,
      y: { field: 'loss', type: 'quantitative', title: 'mean logistic loss', scale: { zero: false } },
      color: { field: 'epoch', type: 'ordinal', title: 'epoch' },
    },
  } as const;
  if (!validation || validation.curve.length === 0) {
    return render({
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title,
      background: 'white',
      width: 560,
      height: 260,
      ...trainLines,
    });
  }
  // Validation logloss on the same axis (same loss, averaged over the validation rows), in
  // black with points so it reads apart from the per-epoch training colours.
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    background: 'white',
    width: 560,
    height: 260,
    layer: [
      trainLines,
      {
        data: { values: validation.curve.map((p) => ({ examples: p.examples, loss: p.logloss })) },
        mark: { type: 'line', point: { color: 'black' }, color: 'black', strokeDash: [6, 3] },
        encoding: { x, y: { field: 'loss', type: 'quantitative' } },
      },
      ...(validation.bestExamples !== undefined
        ? [
            {
              data: { values: [{ examples: validation.bestExamples, label: 'kept (best validation)' }] },
              mark: { type: 'rule', color: '#2ca02c' },
              encoding: { x },
            } as const,
          ]
        : []),
    ],
  });
}

/** One search trial for the plot: its validation metric after each epoch it trained. */
export interface TrialCurve {
  readonly id: number;
  readonly stopped: string;
  readonly curve: readonly { epoch: number; value: number }[];
}

/**
 * `wdp tune --plot`: every trial's validation curve against epochs, so the halving shows (most
 * lines end at the first rung, a few run on); the winner is drawn thick.
 */
export function tuningTrialsSvg(trials: readonly TrialCurve[], metric: string, bestId: number, title: string): Promise<string> {
  const values = trials.flatMap((t) =>
    t.curve.map((p) => ({ trial: t.id, epoch: p.epoch, value: p.value, stopped: t.stopped, best: t.id === bestId ? 'best' : 'other' })),
  );
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    background: 'white',
    width: 560,
    height: 300,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epochs trained', axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', title: `validation ${metric}`, scale: { zero: false } },
      detail: { field: 'trial', type: 'nominal' },
      color: { field: 'stopped', type: 'nominal', title: 'trial' },
      strokeWidth: { field: 'best', type: 'ordinal', scale: { domain: ['best', 'other'], range: [3.5, 1] }, legend: null },
    },
  });
}

/** A Vega-Lite spec as SVG markup (the one renderer every plot and the run report use). */
export function renderSvg(spec: TopLevelSpec): Promise<string> {
  return render(spec);
}

/** One named model's curve points, for charts that compare models. */
export interface NamedSeries<P> {
  readonly name: string;
  readonly points: readonly P[];
}

/** Keeps at most `max` points, evenly spaced, always the first and the last (report size stays bounded). */
export function downsample<P>(points: readonly P[], max: number): P[] {
  if (points.length <= max || max < 2) return [...points];
  const out: P[] = [];
  for (let i = 0; i < max; i++) out.push(points[Math.round((i * (points.length - 1)) / (max - 1))]!);
  return out;
}

const SERIES_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

/** ROC curves of several models on one chart (e.g. candidate and champion on the same holdout). */
export function rocComparisonSvg(series: readonly NamedSeries<{ fpr: number; tpr: number }>[], title: string): Promise<string> {
  const values = series.flatMap((s) => s.points.map((p) => ({ model: s.name, fpr: p.fpr, tpr: p.tpr })));
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    background: 'white',
    width: 300,
    height: 300,
    layer: [
      diagonal(1),
      {
        data: { values },
        mark: { type: 'line' },
        encoding: {
          x: { field: 'fpr', type: 'quantitative', title: 'false positive rate', scale: { domain: [0, 1] } },
          y: { field: 'tpr', type: 'quantitative', title: 'true positive rate', scale: { domain: [0, 1] } },
          color: {
            field: 'model',
            type: 'nominal',
            title: 'model',
            scale: { domain: series.map((s) => s.name), range: SERIES_COLORS.slice(0, series.length) },
          },
        },
      },
    ],
  });
}

/** Reliability diagrams of several models on one chart: mean prediction vs observed rate per bin. */
export function reliabilityComparisonSvg(
  series: readonly NamedSeries<{ predicted: number; observed: number; rows: number }>[],
  title: string,
): Promise<string> {
  const values = series.flatMap((s) =>
    s.points.map((p) => ({ model: s.name, predicted: p.predicted, observed: p.observed, rows: p.rows })),
  );
  const maxP = Math.max(0.01, ...values.map((r) => Math.max(r.predicted, r.observed)));
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    background: 'white',
    width: 300,
    height: 300,
    layer: [
      diagonal(maxP),
      {
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'predicted', type: 'quantitative', title: 'mean prediction', scale: { domain: [0, maxP] } },
          y: { field: 'observed', type: 'quantitative', title: 'observed rate', scale: { domain: [0, maxP] } },
          color: {
            field: 'model',
            type: 'nominal',
            title: 'model',
            scale: { domain: series.map((s) => s.name), range: SERIES_COLORS.slice(0, series.length) },
          },
        },
      },
    ],
  });
}

/**
 * Training loss against examples seen, with the validation logloss where training computed one
 * (one point per validation pass): both are mean logistic losses, so they share the y axis.
 */
export function trainingCurvesSvg(
  loss: readonly { examples: number; loss: number; epoch: number }[],
  validation: readonly { examples: number; logloss: number; epoch: number }[],
  title: string,
): Promise<string> {
  // Each loss point is one stretch of ~1/100 epoch, so it is noisy: a rolling mean shows the trend.
  const window = Math.max(1, Math.round(loss.length / 25));
  const values = [
    ...loss.flatMap((p, i) => {
      const from = Math.max(0, i - window + 1);
      let sum = 0;
      for (let k = from; k <= i; k++) sum += loss[k]!.loss;
      return [
        { examples: p.examples, loss: p.loss, curve: 'training' },
        { examples: p.examples, loss: sum / (i - from + 1), curve: 'training, rolling mean' },
      ];
    }),
    ...validation.map((p) => ({ examples: p.examples, loss: p.logloss, curve: 'validation' })),
  ];
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    background: 'white',
    width: 620,
    height: 240,
    data: { values },
    encoding: {
      x: { field: 'examples', type: 'quantitative', title: 'examples seen' },
      y: { field: 'loss', type: 'quantitative', title: 'mean logistic loss', scale: { zero: false } },
      color: {
        field: 'curve',
        type: 'nominal',
        title: null,
        // No legend entry for a validation curve training did not compute.
        scale: {
          domain: ['training', 'training, rolling mean', ...(validation.length ? ['validation'] : [])],
          range: ['#aec7e8', '#1f77b4', '#ff7f0e'],
        },
        legend: { labelLimit: 240 },
      },
    },
    layer: [
      { transform: [{ filter: "datum.curve === 'training'" }], mark: { type: 'line', strokeWidth: 1 } },
      { transform: [{ filter: "datum.curve !== 'training'" }], mark: { type: 'line', strokeWidth: 2.5 } },
      // Validation has one point per pass: marked, so a single pass still shows.
      { transform: [{ filter: "datum.curve === 'validation'" }], mark: { type: 'point', filled: true, size: 40 } },
    ],
  });
}

/** A histogram from counts already binned (bins of equal width on [lo, hi)). */
export function histogramSvg(bins: readonly { lo: number; hi: number; count: number }[], title: string, xTitle: string): Promise<string> {
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    background: 'white',
    width: 560,
    height: 220,
    data: { values: [...bins] },
    mark: { type: 'rect', color: '#1f77b4' },
    encoding: {
      x: { field: 'lo', type: 'quantitative', title: xTitle, bin: { binned: true } },
      x2: { field: 'hi' },
      y: { field: 'count', type: 'quantitative', title: 'rows' },
    },
  });
}
