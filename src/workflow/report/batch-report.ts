/**
 * The batch-scoring run's report (`_report.html` under the output prefix: the leading underscore
 * keeps it out of every Parquet listing, as `_SUCCESS` is): files, rows, failed batches and the
 * distribution of the scores written. Self-contained like the run report; never fails the run.
 */
import { listLogFiles, readLogChunks } from '../../data/logs.ts';
import { histogramSvg } from '../../evaluation/plots.ts';
import { joinUri, storeFor } from '../../storage/index.ts';
import type { Logger } from '../../util/log.ts';
import { BATCH_REPORT_FILE } from './batch-in-progress.ts';
import { html, int, num, page, pct, trusted } from './html.ts';

export { BATCH_REPORT_FILE } from './batch-in-progress.ts';
/** Equal-width bins of the score histogram over [0, 1]. */
const BINS = 50;
/** Scores read for the histogram at most: the summary function has minutes, not hours. */
export const MAX_HISTOGRAM_SCORES = 5_000_000;

export interface BatchReportInput {
  readonly createdAt: string;
  readonly bucketUri: string;
  readonly inputPrefix: string | null;
  readonly outputPrefix: string;
  readonly batches: number;
  /** Batches that came back without counts (failed, within the tolerated share). */
  readonly failedBatches: number;
  readonly objects: number;
  readonly skipped: number;
  readonly rows: number;
  /** `rows` null: not read (the histogram stopped at MAX_HISTOGRAM_SCORES). */
  readonly outputs: readonly { uri: string; rows: number | null }[];
  /** Scores per bin; `bins.length` equal-width bins over [0, 1]. */
  readonly scoreBins: readonly number[];
  readonly scoreMean: number;
}

/** Counts scores into `bins` equal-width bins over [0, 1] (1 itself in the last). */
export function scoreHistogram(scores: ArrayLike<number>, bins = BINS, into: number[] = new Array<number>(bins).fill(0)): number[] {
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (Number.isFinite(s)) into[Math.min(bins - 1, Math.max(0, Math.floor(s * bins)))]!++;
  }
  return into;
}

export async function buildBatchReport(r: BatchReportInput): Promise<string> {
  const n = r.scoreBins.length;
  const total = r.scoreBins.reduce((a, b) => a + b, 0);
  const svg = total
    ? await histogramSvg(
        r.scoreBins.map((count, i) => ({ lo: i / n, hi: (i + 1) / n, count })),
        'Scores written',
        'score',
      )
    : undefined;
  const body = html`
<h1>Batch scoring → ${r.outputPrefix}</h1>
<div class="sub">${r.bucketUri} · report written ${r.createdAt}</div>
<div class="verdict ${r.failedBatches ? 'fail' : 'pass'}">${r.failedBatches ? `${r.failedBatches} of ${r.batches} batches failed (within the tolerated share)` : `all ${r.batches} batches scored`}</div>
<table id="batch-summary">
<tr><td>input prefix</td><td>${r.inputPrefix ?? '—'}</td></tr>
<tr><td>files scored</td><td class="n">${int(r.objects)}</td></tr>
<tr><td>keys skipped (not Parquet)</td><td class="n">${int(r.skipped)}</td></tr>
<tr><td>rows scored</td><td class="n">${int(r.rows)}</td></tr>
<tr><td>mean score</td><td class="n">${num(r.scoreMean, 4)}</td></tr>
</table>
${svg ? html`<div class="chart" id="score-chart">${trusted(svg)}</div>` : html`<p class="note">No scores to plot.</p>`}
${r.outputs.some((o) => o.rows === null) ? html`<p class="note">The histogram and mean cover the first ${int(total)} scores (files marked — were not read).</p>` : ''}
<h2>Files written</h2>
<table id="outputs"><tr><th>file</th><th>rows</th><th>share</th></tr>
${r.outputs.map((o) => html`<tr><td><code>${o.uri}</code></td><td class="n">${int(o.rows)}</td><td class="n">${o.rows === null ? '—' : pct(total ? o.rows / total : Number.NaN, 1)}</td></tr>`)}
</table>`;
  return page(`wdp batch scoring ${r.outputPrefix}`, body);
}

export interface BatchReportSources {
  readonly bucketUri: string;
  readonly inputPrefix: string | null;
  readonly outputPrefix: string;
  readonly batches: readonly { objects?: number | undefined; outputs?: readonly string[] | undefined }[];
  readonly objects: number;
  readonly skipped: number;
  readonly rows: number;
}

/** Reads the score column of every file written and writes the report. Never throws. */
export async function writeBatchReport(s: BatchReportSources, log: Logger): Promise<string | undefined> {
  const uri = joinUri(s.bucketUri, s.outputPrefix, BATCH_REPORT_FILE);
  try {
    const bins = new Array<number>(BINS).fill(0);
    let sum = 0;
    const outputs: { uri: string; rows: number | null }[] = [];
    let read = 0;
    // The Map's results carry each batch's outputs only where its ResultSelector keeps them;
    // otherwise the Parquet files under the output prefix are what this run wrote.
    let written = s.batches.flatMap((b) => b.outputs ?? []);
    if (written.length === 0 && s.objects > 0)
      written = (await listLogFiles([`${joinUri(s.bucketUri, s.outputPrefix).replace(/\/+$/, '')}/`])).map((f) => f.uri);
    for (const out of written) {
      if (read >= MAX_HISTOGRAM_SCORES) {
        outputs.push({ uri: out, rows: null });
        continue;
      }
      let rows = 0;
      for await (const chunk of readLogChunks(await listLogFiles([out]), { columns: [{ name: 'score', kind: 'numeric' }] })) {
        const scores = chunk.columns.get('score') as Float64Array;
        scoreHistogram(scores, BINS, bins);
        for (const v of scores) sum += Number.isFinite(v) ? v : 0;
        rows += chunk.numRows;
      }
      read += rows;
      outputs.push({ uri: out, rows });
    }
    const total = bins.reduce((a, b) => a + b, 0);
    const report = await buildBatchReport({
      createdAt: new Date().toISOString(),
      bucketUri: s.bucketUri,
      inputPrefix: s.inputPrefix,
      outputPrefix: s.outputPrefix,
      batches: s.batches.length,
      failedBatches: s.batches.filter((b) => b.objects === undefined).length,
      objects: s.objects,
      skipped: s.skipped,
      rows: s.rows,
      outputs,
      scoreBins: bins,
      scoreMean: total ? sum / total : Number.NaN,
    });
    await storeFor(uri).write(uri, report);
    log.info(`batch report: ${uri}`);
    return uri;
  } catch (e) {
    log.warn(`the batch report ${uri} was not written (the run goes on): ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}
