import assert from 'node:assert/strict';
import { test } from 'node:test';
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

test('plots render to SVG headless', async () => {
  const svg = await evaluationPlotSvg([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0], 'title here');
  assert.match(svg, /^<svg/);
  assert.match(svg, /title here/);
  const loss = await lossCurveSvg(
    [
      { examples: 512, loss: 0.6, epoch: 1 },
      { examples: 1024, loss: 0.5, epoch: 1 },
    ],
    'loss',
  );
  assert.match(loss, /^<svg/);
});
