/**
 * `wdp bench quality --plot`: each model's test AUC against the logistic-regression baseline's,
 * with its paired 95% interval, one panel per dataset. The question the bench answers (does wide &
 * deep beat a converged regression, and by more than noise?) is a picture of intervals around
 * zero, which the JSON holds as numbers only.
 */
import { z } from 'zod';
import { renderSvg } from '../evaluation/plots.ts';

const difference = z.object({ auc: z.number(), ci95: z.tuple([z.number(), z.number()]) });
const byKind = z.record(z.string(), difference);

/** What the plot reads of one dataset's result (`results[i]` of the bench's JSON). */
export const qualityPlotRowSchema = z.looseObject({
  dataset: z.string(),
  minus_baseline: z.object({ defaults: byKind, tuned: byKind }),
});
export type QualityPlotRow = z.output<typeof qualityPlotRowSchema>;

const KIND_LABELS: Readonly<Record<string, string>> = { wide: 'wide', deep: 'deep', wide_deep: 'wide & deep' };

/**
 * The SVG. `tolerance` draws the acceptance's band below zero (the samples' "within 0.002 AUC of
 * the baseline"), dashed, next to the baseline's own line at zero.
 */
export function qualityPlotSvg(rows: readonly QualityPlotRow[], title: string, tolerance = 0.002): Promise<string> {
  const values = rows.flatMap((r) =>
    (['defaults', 'tuned'] as const).flatMap((setting) =>
      Object.entries(r.minus_baseline[setting]).map(([kind, d]) => ({
        dataset: r.dataset,
        model: `${KIND_LABELS[kind] ?? kind}, ${setting}`,
        setting,
        difference: d.auc,
        low: d.ci95[0],
        high: d.ci95[1],
      })),
    ),
  );
  // A sort list puts its every entry on the axis: only the models the results hold.
  const present = new Set(values.map((v) => v.model));
  const order = ['wide', 'deep', 'wide_deep']
    .flatMap((k) => ['defaults', 'tuned'].map((s) => `${KIND_LABELS[k]}, ${s}`))
    .filter((m) => present.has(m));
  const y = { field: 'model', type: 'nominal' as const, title: null, sort: order };
  return renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle: `solid line: the regression; dashed: ${tolerance} below it` },
    background: 'white',
    data: { values },
    facet: { row: { field: 'dataset', type: 'nominal', title: null, sort: rows.map((r) => r.dataset) } },
    // Each dataset on its own AUC scale: Adult's lead is ten times the samples' intervals.
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 460,
      height: 120,
      layer: [
        { mark: { type: 'rule', color: '#444' }, encoding: { x: { datum: 0 } } },
        { mark: { type: 'rule', color: '#999', strokeDash: [4, 4] }, encoding: { x: { datum: -tolerance } } },
        {
          mark: { type: 'rule', strokeWidth: 2 },
          encoding: {
            y,
            x: {
              field: 'low',
              type: 'quantitative',
              title: 'test AUC − the regression’s (95% interval)',
            },
            x2: { field: 'high' },
            color: { field: 'setting', type: 'nominal', title: 'settings' },
          },
        },
        {
          mark: { type: 'point', filled: true, size: 50 },
          encoding: {
            y,
            x: { field: 'difference', type: 'quantitative' },
            color: { field: 'setting', type: 'nominal' },
            tooltip: [
              { field: 'model', type: 'nominal' },
              { field: 'difference', type: 'quantitative', format: '+.4f' },
            ],
          },
        },
      ],
    },
  });
}
