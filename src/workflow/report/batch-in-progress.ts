/**
 * What `_report.html` says while a batch-scoring run is rewriting its output prefix.
 *
 * Why: the report is what tells a reader the prefix is whole. A run that replaces scores files
 * and then fails (a Lambda timeout, a stopped execution, a killed local run) would otherwise leave
 * the previous run's report vouching for a prefix that now mixes both runs' files. Each scoring
 * batch writes this page over the report before its first scores file, with the PutObject it
 * already has on the output prefix (no delete permission needed), and the run's summary replaces
 * it with the real report at the end. Kept apart from batch-report.ts so the scoring Lambda's
 * bundle does not carry the chart renderer.
 */
import { joinUri, storeFor } from '../../storage/index.ts';
import { html, page } from './html.ts';

export const BATCH_REPORT_FILE = '_report.html';

export interface BatchInProgress {
  readonly bucketUri: string;
  readonly inputPrefix: string;
  readonly outputPrefix: string;
  /** When the batch that wrote the page started (ISO). */
  readonly startedAt: string;
}

export function buildBatchInProgressPage(b: BatchInProgress): string {
  const body = html`
<h1>Batch scoring → ${b.outputPrefix}</h1>
<div class="sub">${b.bucketUri} · page written ${b.startedAt}</div>
<div class="verdict fail" id="in-progress">being rewritten: no finished run vouches for these files</div>
<p class="note">A batch-scoring run from <code>${b.inputPrefix}</code> started replacing the scores under this
prefix at ${b.startedAt} and has not written its report yet: it is still running, or it failed or
was stopped. Until a run to this prefix finishes, the files here may come from different runs
(and different models). When the run finishes, its report replaces this page; if it failed, run the
batch scoring again for this prefix (the failed execution's history, or <code>wdp score-batch</code>'s
output locally, says why it stopped).</p>`;
  return page(`wdp batch scoring ${b.outputPrefix} (being rewritten)`, body);
}

/** Writes the in-progress page over `<outputPrefix>/_report.html`. */
export async function markBatchInProgress(b: BatchInProgress): Promise<string> {
  const uri = joinUri(b.bucketUri, b.outputPrefix, BATCH_REPORT_FILE);
  await storeFor(uri).write(uri, buildBatchInProgressPage(b));
  return uri;
}
