/**
 * Every string a report shows can come from an attacker: log file names and partition paths,
 * category tokens, quarantine reasons quoting the data, run ids, model names in chart legends.
 * Here every string of the input carries markup; the page must hold only the report's own
 * elements, with no event handler and every SVG closed where the report closes it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluationPlotSvg, histogramSvg, lossCurveSvg, tuningTrialsSvg } from '../../../src/evaluation/plots.ts';
import { buildBatchInProgressPage } from '../../../src/workflow/report/batch-in-progress.ts';
import { buildBatchReport } from '../../../src/workflow/report/batch-report.ts';
import { buildRunReport, type RunReportInput } from '../../../src/workflow/report/run-report.ts';
import { reportInput } from '../../helpers/report-fixture.ts';

const EVIL = `"'><script>alert(1)</script><img src=x onerror=alert(2)></svg><svg onload=alert(3)>&amp;`;
const EVIL_ESCAPED =
  '&quot;&#39;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&lt;/svg&gt;&lt;svg onload=alert(3)&gt;&amp;amp;';

/** `value` with EVIL appended to every string in it, at any depth. */
function poisoned<T>(value: T): T {
  if (typeof value === 'string') return `${value}${EVIL}` as T;
  if (Array.isArray(value)) return value.map((v: unknown) => poisoned(v)) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, poisoned(v)])) as T;
  return value;
}

/** The report's own vocabulary of elements: HTML around, Vega's SVG inside. */
const ALLOWED = new Set(
  'html head meta title style body h1 h2 h3 div p ul li table tr th td b code br svg g path rect text line title defs clippath circle'.split(
    ' ',
  ),
);

function assertNoInjectedMarkup(page: string): void {
  const tags = [...page.matchAll(/<([a-zA-Z][\w:-]*)([^>]*)>/g)];
  const strange = tags.filter((t) => !ALLOWED.has(t[1]!.toLowerCase())).map((t) => t[0]);
  assert.deepEqual(strange, [], 'elements the report does not write');
  // Attribute names only: quoted values may hold the escaped text (Vega's aria-labels do).
  const handlers = tags.filter((t) => /\son\w+\s*=/i.test(t[2]!.replace(/"[^"]*"/g, '""'))).map((t) => t[0].slice(0, 200));
  assert.deepEqual(handlers, [], 'event-handler attributes');
  assert.equal((page.match(/<svg[\s>]/g) ?? []).length, (page.match(/<\/svg>/g) ?? []).length, 'every <svg> closed once');
  assert.ok(!/<script/i.test(page));
  const attributes = tags.map((t) => t[2]!.replace(/"[^"]*"/g, '""')).join(' ');
  assert.ok(!/\s(src|href|xlink:href|style)\s*=/i.test(attributes), 'nothing the browser would fetch');
}

describe('reports with hostile strings everywhere', () => {
  it('the run report: file names, quarantine reasons, tokens, run id, model names and notes stay text', async () => {
    const base = reportInput();
    const input: RunReportInput = {
      ...poisoned({
        ...base,
        lineage: {
          ...base.lineage,
          lateFiles: ['/b/logs/dt=2026-01-03/late.parquet'],
          quarantined: [{ uri: '/b/logs/dt=2026-01-03/bad.parquet', reason: 'not a Parquet file' }],
          skipped: [{ uri: '/b/logs/dt=2026-01-03/odd\\name\u001b]0;x\u0007.parquet', reason: 'it contains a backslash' }],
        },
        days: { held: [{ day: '2026-01-03', role: 'train' as const, reason: 'held' }], untrained: ['2026-01-04'], note: 'note' },
      }),
      notes: [EVIL],
      passed: false,
    };
    const page = await buildRunReport(input);
    assertNoInjectedMarkup(page);
    assert.ok(page.includes(`<h1>Run run-20260104-abc${EVIL_ESCAPED}`), 'the run id, escaped');
    assert.ok(page.includes(`<code>/b/logs/dt=2026-01-03/late.parquet${EVIL_ESCAPED}`), 'a late file, escaped');
    assert.ok(
      page.includes(`<code>/b/logs/dt=2026-01-03/bad.parquet${EVIL_ESCAPED}</code>: not a Parquet file${EVIL_ESCAPED}`),
      'quarantine',
    );
    // JSON-quoted, so the escapes of a control character show as text, then escaped as HTML.
    assert.ok(
      page.includes(
        `<code>&quot;/b/logs/dt=2026-01-03/odd\\\\name\\u001b]0;x\\u0007.parquet${EVIL_ESCAPED.replace(/&quot;/g, '\\&quot;')}&quot;</code>: it contains a backslash${EVIL_ESCAPED}`,
      ),
      'a skipped file, JSON-quoted and escaped',
    );
    assert.ok(!page.includes('\u001b'), 'no raw control character');
    // The chart legends (Vega's SVG) escape the model names themselves.
    assert.ok(
      /<svg[\s\S]*candidate&quot;&#39;&gt;&lt;script&gt;|<svg[\s\S]*candidate&quot;'&gt;&lt;script&gt;/.test(page),
      'legend name, escaped',
    );
  });

  it('the batch report: input and output locations stay text', async () => {
    const page = await buildBatchReport({
      createdAt: '2026-01-05T02:00:00.000Z',
      bucketUri: `/b${EVIL}`,
      inputPrefix: `batch/input/${EVIL}`,
      outputPrefix: `batch/output/${EVIL}`,
      batches: 2,
      failedBatches: 1,
      objects: 2,
      skipped: 0,
      rows: 10,
      outputs: [{ uri: `/b/batch/output/${EVIL}.parquet`, rows: 10 }],
      scoreBins: [1, 2, 3, 4],
      scoreMean: 0.5,
    });
    assertNoInjectedMarkup(page);
    assert.ok(page.includes(`<code>/b/batch/output/${EVIL_ESCAPED}`));
  });

  it("the batch report's in-progress page: bucket and prefixes stay text", () => {
    const page = buildBatchInProgressPage({
      bucketUri: `/b${EVIL}`,
      inputPrefix: `batch/input/${EVIL}`,
      outputPrefix: `batch/output/${EVIL}`,
      startedAt: `2026-01-05T02:00:00.000Z${EVIL}`,
    });
    assertNoInjectedMarkup(page);
    assert.ok(page.includes(`<code>batch/input/${EVIL_ESCAPED}</code>`));
  });

  it('the SVG plots wdp train, tune and evaluate write: titles, metric and trial labels stay text', async () => {
    const curve = [1, 2, 3].map((epoch) => ({ epoch, value: 0.7 + epoch / 100 }));
    const svgs = await Promise.all([
      tuningTrialsSvg([{ id: 0, stopped: EVIL, curve }], EVIL, 0, EVIL),
      lossCurveSvg(
        [
          { examples: 10, loss: 0.5, epoch: 1 },
          { examples: 20, loss: 0.4, epoch: 1 },
        ],
        EVIL,
      ),
      evaluationPlotSvg(new Float32Array([0.1, 0.9, 0.4, 0.6]), new Float32Array([0, 1, 0, 1]), EVIL),
      histogramSvg([{ lo: 0, hi: 1, count: 3 }], EVIL, EVIL),
    ]);
    for (const svg of svgs) {
      assertNoInjectedMarkup(svg);
      assert.ok(svg.includes(EVIL_ESCAPED.replace(/&#39;/g, "'")) || svg.includes(EVIL_ESCAPED), 'the title, escaped');
    }
  });

  it('chart text from data shows control characters and bidi overrides as [U+XXXX] (U+202E would draw a label reversed)', async () => {
    const sneaky = 'app_\u202Eevil\u001b[2J';
    const svg = await histogramSvg([{ lo: 0, hi: 1, count: 3 }], sneaky, sneaky);
    assert.ok(!svg.includes('\u202e') && !svg.includes('\u001b'), 'no raw override or ESC in the SVG');
    assert.ok(svg.includes('app_[U+202E]evil[U+001B][2J'), `shown as code points: ${svg.match(/app_[^<]*/)?.[0]}`);
  });
});
