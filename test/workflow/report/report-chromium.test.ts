/**
 * Acceptance: a generated report.html opened in headless Chromium draws every chart and fetches
 * nothing but itself.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { buildRunReport } from '../../../src/workflow/report/run-report.ts';
import { chromiumMissing, renderInChromium } from '../../helpers/chromium.ts';
import { reportInput } from '../../helpers/report-fixture.ts';

describe('run report in headless Chromium', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  /** A scratch folder, or undefined with the test skipped (and the reason printed) where chromium is absent. */
  const scratchDir = async (t: TestContext): Promise<string | undefined> => {
    const missing = chromiumMissing();
    if (missing) {
      t.skip(missing);
      return undefined;
    }
    const dir = await mkdtemp(join(tmpdir(), 'wdp-report-chromium-'));
    dirs.push(dir);
    return dir;
  };

  it('renders the ROC, calibration and loss charts and makes no network request', async (t) => {
    const dir = await scratchDir(t);
    if (!dir) return;
    const file = join(dir, 'report.html');
    await writeFile(file, await buildRunReport(reportInput()));
    const r = await renderInChromium(file, ['roc-chart', 'calibration-chart', 'loss-chart']);
    for (const [id, n] of Object.entries(r.paths)) assert.ok(n >= 2, `${id}: ${n} drawn paths`);
    assert.deepEqual(r.blocked, []);
    assert.equal(r.requests.length, 1);
  });

  it('a report whose file names, tokens and run id carry markup fetches nothing and still draws its charts', async (t) => {
    const dir = await scratchDir(t);
    if (!dir) return;
    const evil = `"><img src="http://127.0.0.1:9/evil.png"></svg><script>fetch('http://127.0.0.1:9/js')</script>&amp;`;
    const base = reportInput();
    const file = join(dir, 'hostile.html');
    await writeFile(
      file,
      await buildRunReport({
        ...base,
        runId: `r${evil}`,
        candidate: { ...base.candidate, name: `candidate${evil}` },
        lineage: { ...base.lineage, lateFiles: [`/b/logs/dt=2026-01-03/${evil}.parquet`], quarantined: [{ uri: evil, reason: evil }] },
        notes: [evil],
      }),
    );
    const r = await renderInChromium(file, ['roc-chart', 'calibration-chart', 'loss-chart']);
    for (const [id, n] of Object.entries(r.paths)) assert.ok(n >= 2, `${id}: ${n} drawn paths`);
    assert.deepEqual(r.blocked, []);
  });

  it('would see a fetch: a page with an external image is caught (the check is not vacuous)', async (t) => {
    const dir = await scratchDir(t);
    if (!dir) return;
    const file = join(dir, 'leaky.html');
    await writeFile(file, '<!doctype html><svg id="c"><path d="M0 0L1 1"/><path d="M1 1L2 2"/></svg><img src="http://127.0.0.1:9/x.png">');
    const r = await renderInChromium(file, ['c']);
    assert.ok(r.requests.length >= 2, `requests: ${r.requests.join(', ')}`);
    assert.ok(r.requests.some((u) => u.startsWith('http://127.0.0.1:9/')));
  });
});
