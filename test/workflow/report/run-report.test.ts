import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../../src/util/random.ts';
import {
  CategoricalBucketCounter,
  categoricalPsi,
  numericDrift,
  psi,
  QuantileBucketCounter,
  vocabularyChange,
} from '../../../src/workflow/report/drift.ts';
import { escapeHtml, html } from '../../../src/workflow/report/html.ts';
import { buildRunReport } from '../../../src/workflow/report/run-report.ts';
import { thresholdsSchema } from '../../../src/workflow/steps/thresholds.ts';
import { runChecks } from '../../../src/workflow/steps/validate.ts';
import { HOSTILE, reportInput } from '../../helpers/report-fixture.ts';

/** The sorted j/10 quantiles of a sample, as fit computes them (quantileCuts). */
function decileCuts(values: number[]): number[] {
  const s = [...values].sort((a, b) => a - b);
  return Array.from({ length: 9 }, (_, j) => s[Math.floor(((j + 1) * s.length) / 10)]!);
}

describe('run report: drift statistics', () => {
  it('psi of known shares', () => {
    // Σ (a − e) ln(a / e) over 4 buckets of 0.25.
    assert.equal(psi([0.25, 0.25, 0.25, 0.25], [0.4, 0.3, 0.2, 0.1]).toFixed(6), '0.228217');
    assert.equal(psi([0.5, 0.5], [0.5, 0.5]), 0);
    assert.throws(() => psi([1], [0.5, 0.5]), /1 expected shares but 2 actual/);
  });

  it('finds a planted shift over the parent quantile buckets and none without one', () => {
    const rng = new Rng(3);
    const parentSample = Array.from({ length: 50_000 }, () => rng.normal());
    const parent = { quantiles: 10, quantileCuts: decileCuts(parentSample) };
    const same = new QuantileBucketCounter(parent.quantileCuts);
    const shifted = new QuantileBucketCounter(parent.quantileCuts);
    for (let i = 0; i < 50_000; i++) {
      same.add(rng.normal());
      shifted.add(rng.normal() + 0.5); // half a standard deviation
    }
    shifted.add(Number.NaN);
    const a = numericDrift('stable', parent, same);
    const b = numericDrift('moved', parent, shifted);
    assert.ok(a.psi < 0.005, `no shift: psi ${a.psi}`);
    assert.equal(a.band, 'stable');
    // Deciles of N(0,1) against N(0.5,1): PSI ≈ 0.25 in theory.
    assert.ok(b.psi > 0.2 && b.psi < 0.3, `shift of 0.5 sd: psi ${b.psi}`);
    assert.equal(b.approximate, false);
    assert.equal(b.rows, 50_001);
    assert.equal(b.missingShare, 1 / 50_001);
    // Tied quantiles (a point mass) are flagged approximate.
    assert.equal(numericDrift('price', { quantiles: 10, quantileCuts: [0, 1.99] }, new QuantileBucketCounter([0, 1.99])).approximate, true);
  });

  it('tied quantiles take the parent shares from a sample of its rows; categoricals are bucketed by its top tokens', () => {
    // A point mass at 0 (60% of rows) merges six of the nine deciles into one cut.
    const cuts = [0, 1, 2, 3];
    const parentRows = new QuantileBucketCounter(cuts);
    const holdout = new QuantileBucketCounter(cuts);
    const same = new QuantileBucketCounter(cuts);
    const fill = (c: QuantileBucketCounter, zeros: number, rest: number) => {
      for (let i = 0; i < zeros; i++) c.add(-1); // below the first cut: bucket 0
      for (let i = 0; i < rest; i++) c.add(0.5 + (i % 4)); // buckets 1..4
    };
    fill(parentRows, 6000, 4000);
    fill(same, 600, 400);
    fill(holdout, 3000, 7000);
    const parent = { quantiles: 10, quantileCuts: cuts };
    // Against equal shares (1/5 each) an unchanged feature would look like a major shift.
    assert.ok(numericDrift('price', parent, same).psi > 0.25);
    const unchanged = numericDrift('price', parent, same, parentRows);
    assert.equal(unchanged.psi, 0);
    assert.equal(unchanged.reference, 'sample');
    assert.equal(unchanged.approximate, false);
    // 60% → 30% zeros, 10% → 17.5% in each other bucket.
    const expected = 0.3 * Math.log(0.3 / 0.6) * -1 + 4 * (0.175 - 0.1) * Math.log(0.175 / 0.1);
    assert.equal(numericDrift('price', parent, holdout, parentRows).psi.toFixed(6), expected.toFixed(6));

    const ref = new CategoricalBucketCounter(['a', 'b', 'c', 'd'], 2);
    const now = new CategoricalBucketCounter(['a', 'b', 'c', 'd'], 2);
    for (const t of ['a', 'a', 'b', 'c', 'd', 'a', 'b', 'c']) ref.add(t); // a 3/8, b 2/8, rest 3/8, new 0
    for (const t of ['a', 'b', 'c', 'x', 'x', 'x', 'y', 'a']) now.add(t); // a 2/8, b 1/8, rest 1/8, new 4/8
    assert.deepEqual(now.shares(), [0.25, 0.125, 0.125, 0.5]);
    const e = [3 / 8, 2 / 8, 3 / 8, 1e-4];
    const a = [0.25, 0.125, 0.125, 0.5];
    assert.equal(categoricalPsi(ref, now), psi(e, a));
    assert.ok(categoricalPsi(ref, now) > 0.25);
  });

  it('vocabulary change: new, dropped and top-k turnover', () => {
    const v = vocabularyChange('app_id', ['a', 'b', 'c', 'd', 'e'], ['b', 'a', 'x', 'c', 'y', 'z'], 3);
    assert.deepEqual(
      { n: v.newTokens, d: v.droppedTokens, t: v.topTurnover, k: v.topK, ex: v.newExamples },
      { n: 3, d: 2, t: 1 / 3, k: 3, ex: ['x', 'y', 'z'] },
    );
  });
});

describe('run report: html', () => {
  it('escapes every interpolated string, and leaves trusted markup alone', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    // A file name that a browser would draw reversed (U+202E) or with hidden controls shows them as escapes.
    assert.equal(escapeHtml('logs/\u202Etxt.parquet\u0007'), 'logs/\\u202etxt.parquet\\u0007');
    assert.equal(escapeHtml('line\n\tnext'), 'line\n\tnext', 'layout characters stay');
    assert.equal(html`<b>${HOSTILE}</b>${html`<i>${'&'}</i>`}`.value, '<b>&lt;img src=x onerror=alert(1)&gt;</b><i>&amp;</i>');
  });

  it('a hostile feature name or token never becomes markup', async () => {
    const page = await buildRunReport(reportInput({ runId: `r-${HOSTILE}` }));
    assert.ok(!page.includes('<img'), 'an <img> element made it into the page');
    assert.ok(!/onerror=alert/.test(page.replace(/&lt;img src=x onerror=alert\(1\)&gt;/g, '')));
    assert.ok(page.includes('<td>&lt;img src=x onerror=alert(1)&gt;</td>'));
    assert.ok(page.includes('<code>&lt;img src=x onerror=alert(1)&gt;-token</code>, <code>b&amp;b</code>'));
    assert.ok(page.includes('<h1>Run r-&lt;img src=x onerror=alert(1)&gt;</h1>'));
  });

  it('shows each check with its value beside its threshold, failed ones first in the reasons', async () => {
    const t = thresholdsSchema.parse({ minAuc: 0.7, maxAucDrop: 0.01 });
    const dry = { requests: 32, scorer: 'onnx', p95LatencyMs: 3.25, maxAbsDiff: 2.5e-7, allFinite: true };
    const checks = runChecks(
      t,
      { rows: 20_000, auc: 0.6812, logloss: 0.3011, calibration: 1.02 },
      { rows: 20_000, auc: 0.7034, logloss: 0.295, calibration: 0.99 },
      dry,
    );
    const page = await buildRunReport(reportInput({ passed: false, checks }));
    assert.match(page, /REJECTED: 2 of 8 checks failed/);
    const row = (name: string) => new RegExp(`<tr class="[a-z]*"><td>${name}</td>.*?</tr>`).exec(page)?.[0] ?? '';
    assert.match(row('min_auc'), /<td class="n">0\.6812<\/td><td>auc ≥ 0\.7<\/td><td class="no">FAIL<\/td>/);
    assert.match(row('max_auc_drop'), /<td class="n">0\.0222<\/td><td>auc drop ≤ 0\.01<\/td><td class="no">FAIL<\/td>/);
    assert.match(row('max_logloss_rise'), /<td class="n">0\.0061<\/td><td>logloss rise ≤ 0\.01<\/td><td class="ok">pass<\/td>/);
    assert.match(row('dry_run_parity'), /<td class="n">2\.50e-7<\/td>/);
    assert.match(row('dry_run_latency'), /<td class="n">3\.3 ms<\/td><td>p95 ≤ 250 ms<\/td>/);
    assert.match(page, /<li>min_auc: auc 0\.6812 fails auc ≥ 0\.7<\/li>/);
  });

  it('is one self-contained page with a chart per figure, small enough', async () => {
    const page = await buildRunReport(reportInput());
    assert.ok(!/<script|<link|<img|<iframe|@import|url\(/i.test(page), 'nothing the browser would load');
    assert.ok(!/(src|href)="/i.test(page), 'no src or href attribute');
    for (const id of ['roc-chart', 'calibration-chart', 'loss-chart']) {
      const m = new RegExp(`<div class="chart" id="${id}"><svg[\\s\\S]*?</svg></div>`).exec(page);
      assert.ok(m, `${id} is an inline SVG`);
      assert.ok(/<path[^>]* d="M[^"]+"/.test(m[0]), `${id} has a drawn path`);
    }
    // Both models on the ROC and calibration charts: their legend entries.
    assert.match(page, /champion v1/);
    assert.ok(Buffer.byteLength(page) < 400_000, `${Buffer.byteLength(page)} bytes`);
  });

  it('a first model: no champion column and no parent comparison', async () => {
    const page = await buildRunReport(
      reportInput({ champion: null, lineage: { parent: null, lateFiles: [], quarantined: [], skipped: [] } }),
    );
    assert.match(page, /No champion yet/);
    assert.match(page, /A first model: no parent to compare against/);
    assert.doesNotMatch(page, /<th>Δ<\/th>/);
  });
});
