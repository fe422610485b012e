/**
 * Plots people would rather look at than read: ROC and reliability (calibration) curves for an
 * evaluation, and the training loss curve. Rendered to SVG with Vega-Lite, headless (no canvas).
 */
import type { TopLevelSpec } from 'vega-lite';

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
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
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
          {
            data: { values: [{ x: 0 }, { x: 1 }] },
            mark: { type: 'line', strokeDash: [4, 4], color: '#999' },
            encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'x', type: 'quantitative' } },
          },
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
          {
            data: { values: [{ x: 0 }, { x: maxP }] },
            mark: { type: 'line', strokeDash: [4, 4], color: '#999' },
            encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'x', type: 'quantitative' } },
          },
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
