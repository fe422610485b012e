import assert from 'node:assert/strict';
import { before, describe, it, test } from 'node:test';
import { evaluationPlotSvg, lossCurveSvg, reliabilityBins, rocPoints } from '../../src/evaluation/plots.ts';

test('ROC points run from (0,0) to (1,1) and follow the ranking', () => {
  // scores 0.9(+) 0.8(−) 0.7(+) 0.1(−): after each row (fpr,tpr) = (0,.5) (.5,.5) (.5,1) (1,1)
  const pts = rocPoints([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0], 10);
  assert.deepEqual(pts, [
    { fpr: 0, tpr: 0 },
    { fpr: 0, tpr: 0.5 },
    { fpr: 0.5, tpr: 0.5 },
    { fpr: 0.5, tpr: 1 },
    { fpr: 1, tpr: 1 },
  ]);
});

test('reliability bins hold equal counts with mean prediction and observed rate', () => {
  const bins = reliabilityBins([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 0], 2);
  assert.equal(bins.length, 2);
  assert.ok(Math.abs(bins[0]!.predicted - 0.15) < 1e-9);
  assert.equal(bins[0]!.observed, 0);
  assert.ok(Math.abs(bins[1]!.predicted - 0.85) < 1e-9);
  assert.equal(bins[1]!.observed, 0.5);
});

// What a reader sees, read back from the SVG: Vega groups each mark in <g class="mark-<type> role-<role> <name>">.

/** The text of every <text> in the groups of one role (e.g. 'axis-title', 'legend-label'). */
function textsOf(svg: string, role: string): string[] {
  const out: string[] = [];
  for (const g of svg.matchAll(new RegExp(`<g class="mark-text role-${role}"[^>]*>(.*?)</g>`, 'g'))) {
    for (const t of g[1]!.matchAll(/<text[^>]*>([^<]*)<\/text>/g)) out.push(t[1]!);
  }
  return out;
}

/** The <path> elements of the mark groups whose class ends with `name` (a layer's marks). */
function pathsOf(svg: string, name: string): string[] {
  const out: string[] = [];
  for (const g of svg.matchAll(new RegExp(`<g class="mark-[a-z]+ role-mark ${name}"[^>]*>(.*?)</g>`, 'g'))) {
    for (const p of g[1]!.matchAll(/<path [^>]*\/>/g)) out.push(p[0]);
  }
  return out;
}

/** The vertices of a line path's `d` (M x,y L x,y …). */
function vertices(path: string): [number, number][] {
  const d = /\sd="([^"]*)"/.exec(path)![1]!;
  return [...d.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

describe('evaluationPlotSvg', () => {
  // 40 rows, scores spread over (0, 1), labels mostly following the score: a ROC of 41 points.
  const probs = Array.from({ length: 40 }, (_, i) => (i + 0.5) / 40);
  const labels = probs.map((p, i) => (p > 0.5 !== (i % 7 === 0) ? 1 : 0));
  let svg: string;
  before(async () => {
    svg = await evaluationPlotSvg(probs, labels, 'day 2024-05-01, holdout');
  });

  it('is an SVG with the title, the two panels and their axis titles', () => {
    assert.match(svg, /^<svg/);
    assert.deepEqual(textsOf(svg, 'title-text').sort(), ['Calibration (10 equal-count bins)', 'ROC', 'day 2024-05-01, holdout'].sort());
    assert.deepEqual(textsOf(svg, 'axis-title').sort(), ['false positive rate', 'mean prediction', 'observed rate', 'true positive rate']);
  });

  it('draws the ROC curve through every point of the ROC it was given, over a dashed diagonal', () => {
    const roc = rocPoints(probs, labels);
    assert.equal(roc.length, 41);
    const curve = pathsOf(svg, 'concat_0_layer_1_marks');
    assert.equal(curve.length, 1);
    // The panel is 280 px square: fpr 0..1 → x 0..280, tpr 0..1 → y 280..0.
    const xy = vertices(curve[0]!);
    assert.equal(xy.length, roc.length);
    xy.forEach(([x, y], k) => {
      assert.ok(Math.abs(x - roc[k]!.fpr * 280) < 0.01 && Math.abs(y - (1 - roc[k]!.tpr) * 280) < 0.01, `point ${k}: ${x},${y}`);
    });
    const diagonal = pathsOf(svg, 'concat_0_layer_0_marks');
    assert.equal(diagonal.length, 1);
    assert.match(diagonal[0]!, /stroke-dasharray="4,4"/);
    assert.deepEqual(vertices(diagonal[0]!), [
      [0, 280],
      [280, 0],
    ]);
  });

  it('draws the reliability curve with one point per bin, over a dashed diagonal', () => {
    const bins = reliabilityBins(probs, labels);
    assert.equal(bins.length, 10);
    const line = pathsOf(svg, 'concat_1_layer_1_layer_0_marks');
    assert.equal(line.length, 1);
    assert.equal(vertices(line[0]!).length, bins.length);
    assert.equal(pathsOf(svg, 'concat_1_layer_1_layer_1_marks').length, bins.length);
    const diagonal = pathsOf(svg, 'concat_1_layer_0_marks');
    assert.equal(diagonal.length, 1);
    assert.match(diagonal[0]!, /stroke-dasharray="4,4"/);
  });
});

test('lossCurveSvg draws one loss line per epoch, with a legend of the epochs', async () => {
  const svg = await lossCurveSvg(
    [
      { examples: 512, loss: 0.6, epoch: 1 },
      { examples: 1024, loss: 0.5, epoch: 1 },
      { examples: 1536, loss: 0.47, epoch: 1 },
      { examples: 2048, loss: 0.45, epoch: 2 },
      { examples: 2560, loss: 0.44, epoch: 2 },
    ],
    'training loss',
  );
  assert.match(svg, /^<svg/);
  assert.deepEqual(textsOf(svg, 'title-text'), ['training loss']);
  assert.deepEqual(textsOf(svg, 'axis-title').sort(), ['examples seen', 'mean logistic loss']);
  assert.deepEqual(textsOf(svg, 'legend-title'), ['epoch']);
  assert.deepEqual(textsOf(svg, 'legend-label'), ['1', '2']);
  const lines = pathsOf(svg, 'marks');
  assert.deepEqual(
    lines.map((l) => vertices(l).length),
    [3, 2],
  );
});

test('lossCurveSvg with validation adds the validation logloss line, one vertex per pass, and the kept pass', async () => {
  const svg = await lossCurveSvg(
    [
      { examples: 512, loss: 0.6, epoch: 1 },
      { examples: 1024, loss: 0.5, epoch: 1 },
      { examples: 1536, loss: 0.4, epoch: 2 },
      { examples: 2048, loss: 0.3, epoch: 2 },
    ],
    'training loss',
    {
      curve: [
        { examples: 1024, logloss: 0.55 },
        { examples: 2048, logloss: 0.58 },
      ],
      bestExamples: 1024,
    },
  );
  assert.deepEqual(textsOf(svg, 'legend-label'), ['1', '2']);
  assert.deepEqual(
    pathsOf(svg, 'layer_0_marks').map((l) => vertices(l).length),
    [2, 2],
  );
  const validation = pathsOf(svg, 'layer_1_layer_0_marks');
  assert.equal(validation.length, 1);
  assert.equal(vertices(validation[0]!).length, 2);
  assert.equal(pathsOf(svg, 'layer_1_layer_1_marks').length, 2, 'a point per validation pass');
  assert.match(svg, /role-mark layer_2_marks/);
});
