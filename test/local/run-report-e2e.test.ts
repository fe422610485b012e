/**
 * `npm start`'s local run writes report.html beside validation.json for a promoted and for a
 * rejected run, and a report that cannot be written never fails the run.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { trainFromManifest } from '../../src/workflow/steps/train-step.ts';
import { chromiumMissing, renderInChromium } from '../helpers/chromium.ts';
import { localBuckets } from '../helpers/local-buckets.ts';
import { addDays } from '../helpers/workflow-fixture.ts';

describe('run report of local runs', () => {
  const buckets = localBuckets('wdp-report-');
  after(buckets.cleanup);

  it('a promoted run and then a rejected one each leave report.html beside validation.json', async () => {
    const { dir, l } = await buckets.newBucket();
    const lines: string[] = [];
    const first = await buckets.run(dir, { print: (s) => lines.push(s) });
    assert.equal(first.status, 'promoted', JSON.stringify(first.error ?? first.validation));
    const firstReport = l.runReport(first.validation!.candidateUri);
    const page1 = await readFile(firstReport, 'utf8');
    assert.match(page1, /PASSED validation/);
    assert.match(page1, /No champion yet/);
    assert.match(page1, /A first model: no parent to compare against/);
    // The training days with their rows (TEST_ROWS_PER_DAY each) and the holdout day.
    assert.match(page1, /<td>2026-01-01<\/td><td>train<\/td><td class="n">5,000<\/td>/);
    assert.match(page1, /<td>2026-01-03<\/td><td>holdout<\/td><td class="n">5,000<\/td>/);
    // The end-of-run summary names the report.
    const screen = lines.join('\n');
    assert.match(screen, /PROMOTED v1/);
    assert.ok(screen.includes(firstReport), screen);

    await addDays(dir, 1, { shuffleLabels: true }); // 2026-01-04: labels are noise
    const rejected = await buckets.run(dir, { print: (s) => lines.push(s) });
    assert.equal(rejected.status, 'rejected');
    const page2 = await readFile(l.runReport(rejected.validation!.candidateUri), 'utf8');
    assert.match(page2, /REJECTED: \d+ of \d+ checks failed/);
    assert.match(page2, /<td>min_auc<\/td><td class="n">0\.\d{4}<\/td><td>auc ≥ 0\.56<\/td><td class="no">FAIL<\/td>/);
    assert.match(page2, /champion v1/);
    // What the rejection holds back: the bad holdout day (the champion fails it too, so the training day is cleared).
    assert.match(page2, /<tr><td>2026-01-04<\/td><td>holdout<\/td>/);
    assert.match(page2, /Stay untrained \(trained in the next run\): 2026-01-03/);
    // Against the parent: PSI and vocabulary tables are there.
    assert.match(page2, /id="psi"/);
    assert.match(page2, /id="vocab"/);
    assert.ok(Buffer.byteLength(page2) < 1 << 20, `report is ${Buffer.byteLength(page2)} bytes`);
    // The acceptance check on a report the workflow wrote (the unit suite checks a built one too).
    if (!chromiumMissing()) {
      const shown = await renderInChromium(l.runReport(rejected.validation!.candidateUri), [
        'roc-chart',
        'calibration-chart',
        'loss-chart',
      ]);
      for (const [id, n] of Object.entries(shown.paths)) assert.ok(n >= 2, `${id}: ${n} drawn paths`);
      assert.deepEqual(shown.blocked, []);
    }
  });

  it('a report that cannot be written is a warning; the run still promotes', async () => {
    const { dir, l } = await buckets.newBucket();
    const warnings: string[] = [];
    const r = await buckets.run(dir, {
      logger: { info: () => {}, warn: (m) => warnings.push(m), error: () => {} },
      overrides: { Train: trainThenBlockReport },
    });
    assert.equal(r.status, 'promoted', JSON.stringify(r.error ?? r.validation));
    assert.ok(
      warnings.some((w) => w.includes('report.html') && w.includes('was not written (the run goes on)')),
      warnings.join('\n'),
    );
    assert.ok((await stat(l.runReport(r.validation!.candidateUri))).isDirectory());
  });
});

/**
 * The real Train, then a folder where report.html goes, so that Validate's write of the report
 * fails (EISDIR) after validation.json is written.
 */
async function trainThenBlockReport(input: unknown) {
  const { Parameters } = input as { Parameters: { manifestUri: string } };
  const r = await trainFromManifest({ manifestUri: Parameters.manifestUri, backend: 'auto', progress: false });
  await mkdir(join(r.candidateUri, 'report.html'), { recursive: true });
  return { JobId: `local-${r.runId}`, JobName: `wdp-train-${r.runId}`, Status: 'SUCCEEDED' };
}
