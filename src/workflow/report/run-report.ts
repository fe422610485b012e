/**
 * The run report (`report.html` beside validation.json): everything an operator wants to see
 * about one retraining run on one self-contained page. A pure function of `RunReportInput`
 * (collect.ts gathers it from the bucket): the charts are Vega-Lite specs rendered to inline SVG
 * on the server, the CSS is inline, and nothing on the page is fetched when it is opened.
 */
import { downsample, reliabilityComparisonSvg, rocComparisonSvg, trainingCurvesSvg, type NamedSeries } from '../../evaluation/plots.ts';
import type { ValidationCheck, ValidationReport } from '../schemas.ts';
import { CATEGORICAL_TOP_TOKENS, psiBand, type NumericDrift, type VocabularyChange } from './drift.ts';
import { quoted } from '../../util/terminal-text.ts';
import { html, int, num, page, pct, trusted, type SafeHtml } from './html.ts';

/** As validation.json records them: null where a metric is undefined on the holdout (one label class). */
export interface ReportMetrics {
  readonly rows: number;
  readonly auc: number | null;
  readonly logloss: number | null;
  readonly calibration: number | null;
}

export interface ReportModel {
  /** Legend name: "candidate", "champion v3". */
  readonly name: string;
  readonly modelId: string;
  readonly uri: string;
  readonly metrics: ReportMetrics;
  /** From the holdout predictions (rocPoints / reliabilityBins); empty when not sampled. */
  readonly roc: readonly { fpr: number; tpr: number }[];
  readonly reliability: readonly { predicted: number; observed: number; rows: number }[];
}

export interface RunReportInput {
  readonly runId: string;
  readonly createdAt: string;
  readonly passed: boolean;
  readonly checks: readonly ValidationCheck[];
  readonly candidate: ReportModel;
  readonly champion: (ReportModel & { readonly version: number }) | null;
  readonly dryRun: ValidationReport['dryRun'];
  readonly training: {
    readonly lossCurve: readonly { examples: number; loss: number; epoch: number }[];
    readonly validationCurve: readonly { examples: number; epoch: number; logloss: number; auc: number }[];
    readonly bestEpoch?: number;
    readonly examplesPerSecond?: number;
    readonly trainSeconds?: number;
    readonly epochs?: number;
    readonly backend?: string;
    readonly rows: number;
    readonly skippedRows: number;
  };
  /** Rows and positives per training day (the run's train partitions, the holdout rows left out). */
  readonly trainDays: readonly { day: string; rows: number; positives: number }[];
  readonly holdout: { readonly days: readonly string[]; readonly rows: number; readonly positives: number };
  /** Share of the holdout's tokens that map to OOV (id 0) under the candidate's and the parent's vocabulary. */
  readonly oov: readonly { feature: string; tokens: number; share: number; parentShare: number | null; hashed: boolean }[];
  /** Against the parent model; empty for a first model. `psi`: over the parent's top tokens, against a sample of its training rows. */
  readonly vocabulary: readonly (VocabularyChange & { readonly psi: number | null })[];
  /** Rows of the parent's training data sampled as the reference for categorical and tied numeric PSI. */
  readonly referenceRows?: number;
  readonly numericDrift: readonly NumericDrift[];
  readonly sparsity: { readonly wideZeroFraction?: number; readonly wideTouchedZeroFraction?: number; readonly wideCoordinates?: number };
  readonly lineage: {
    readonly parent: { readonly version: number | null; readonly modelId: string; readonly uri: string } | null;
    readonly lateFiles: readonly string[];
    readonly quarantined: readonly { uri: string; reason: string }[];
    /** Log files Ingest did not read because their name is not a safe key (shown JSON-quoted: it may hold control characters). */
    readonly skipped: readonly { uri: string; reason: string }[];
  };
  /** What the workflow does with the run's days after this verdict (days.ts). */
  readonly days: {
    readonly held: readonly { day: string; role: 'holdout' | 'train'; reason: string }[];
    readonly untrained: readonly string[];
    readonly note: string;
  };
  /** Things the collector could not gather (the report still renders without them). */
  readonly notes: readonly string[];
}

/** Points kept per curve: keeps a normal report well under 1 MB. */
const MAX_CURVE_POINTS = 300;

export async function buildRunReport(r: RunReportInput): Promise<string> {
  const models: ReportModel[] = r.champion ? [r.candidate, r.champion] : [r.candidate];
  const withRoc = models.filter((m) => m.roc.length > 0);
  const rocSeries: NamedSeries<{ fpr: number; tpr: number }>[] = withRoc.map((m) => ({
    name: m.name,
    points: downsample(m.roc, MAX_CURVE_POINTS),
  }));
  const relSeries = models.filter((m) => m.reliability.length > 0).map((m) => ({ name: m.name, points: m.reliability }));
  const [rocSvg, relSvg, lossSvg] = await Promise.all([
    rocSeries.length ? rocComparisonSvg(rocSeries, 'ROC on the holdout') : undefined,
    relSeries.length ? reliabilityComparisonSvg(relSeries, 'Calibration on the holdout (10 equal-count bins)') : undefined,
    r.training.lossCurve.length || r.training.validationCurve.length
      ? trainingCurvesSvg(downsample(r.training.lossCurve, MAX_CURVE_POINTS), r.training.validationCurve, 'Training loss')
      : undefined,
  ]);
  const chart = (id: string, svg: string | undefined, missing: string) =>
    svg ? html`<div class="chart" id="${id}">${trusted(svg)}</div>` : html`<p class="note">${missing}</p>`;
  // A ROC curve needs both classes; say so rather than blame the sampling.
  const oneClass = r.holdout.rows > 0 && (r.holdout.positives === 0 || r.holdout.positives === r.holdout.rows);
  const noRoc = oneClass
    ? `No ROC curve: the holdout has one label class (all ${r.holdout.positives === 0 ? 0 : 1}), so AUC and the curve are undefined.`
    : 'No ROC curve: the holdout predictions were not sampled.';

  const body = html`
<h1>Run ${r.runId}</h1>
<div class="sub">candidate ${r.candidate.modelId} · ${r.candidate.uri} · report written ${r.createdAt}</div>
${verdictSection(r)}
<h2>Metrics on the same holdout</h2>
${metricsTable(r)}
<div class="charts">
${chart('roc-chart', rocSvg, noRoc)}
${chart('calibration-chart', relSvg, 'No calibration curve: the holdout predictions were not sampled.')}
</div>
<h2>Training</h2>
${trainingSection(r)}
${chart('loss-chart', lossSvg, 'No loss curve in the candidate manifest (models saved before training kept one).')}
<h2>Data</h2>
${dataSection(r)}
<h2>Wide part and lineage</h2>
${lineageSection(r)}
<h2>Days after this run</h2>
${daysSection(r)}
${r.notes.length ? html`<h2>Not in this report</h2><ul>${r.notes.map((n) => html`<li>${n}</li>`)}</ul>` : ''}
`;
  return page(`wdp run ${r.runId}: ${r.passed ? 'passed' : 'rejected'}`, body);
}

function verdictSection(r: RunReportInput): SafeHtml {
  const failed = r.checks.filter((c) => !c.passed);
  return html`
<div class="verdict ${r.passed ? 'pass' : 'fail'}" id="verdict">${r.passed ? 'PASSED validation: the candidate is promoted' : `REJECTED: ${failed.length} of ${r.checks.length} checks failed`}</div>
${failed.length ? html`<ul class="reasons">${failed.map((c) => html`<li>${c.message}</li>`)}</ul>` : ''}
<table id="checks"><tr><th>check</th><th>value</th><th>threshold</th><th>result</th><th>detail</th></tr>
${r.checks.map(
  (c) =>
    html`<tr class="${c.passed ? '' : 'bad'}"><td>${c.name}</td><td class="n">${checkValue(c)}</td><td>${c.threshold}</td><td class="${c.passed ? 'ok' : 'no'}">${c.passed ? 'pass' : 'FAIL'}</td><td>${c.message}</td></tr>`,
)}
</table>
<p class="note">Dry run: ${r.dryRun.requests} requests through ${r.dryRun.scorer}, p95 ${num(r.dryRun.p95LatencyMs, 1)} ms, largest |serving − evaluation| ${r.dryRun.maxAbsDiff.toExponential(2)}, ${r.dryRun.allFinite ? 'all scores finite' : 'non-finite scores'}.</p>`;
}

function checkValue(c: ValidationCheck): string {
  if (c.value === null) return '—';
  if (c.name === 'dry_run_parity') return c.value.toExponential(2);
  if (c.name === 'dry_run_latency') return `${c.value.toFixed(1)} ms`;
  return c.value.toFixed(4);
}

function metricsTable(r: RunReportInput): SafeHtml {
  const c = r.candidate.metrics;
  const ch = r.champion?.metrics;
  // null: undefined on this holdout (validation.json records it so), not missing.
  const value = (x: number | null | undefined, digits: number) => (x === null ? 'undefined' : num(x, digits));
  const row = (name: string, a: number | null, b: number | null | undefined, digits: number, better: 'higher' | 'lower' | 'one') => {
    const d = a === null || b === null || b === undefined ? undefined : a - b;
    return html`<tr><td>${name}</td><td class="n">${value(a, digits)}</td>${
      ch
        ? html`<td class="n">${value(b, digits)}</td><td class="n">${d === undefined ? '—' : `${d >= 0 ? '+' : ''}${d.toFixed(digits)}`}</td>`
        : ''
    }<td class="note">${better === 'higher' ? 'higher is better' : better === 'lower' ? 'lower is better' : 'mean prediction ÷ observed rate; 1 is calibrated'}</td></tr>`;
  };
  return html`<table id="metrics"><tr><th>metric</th><th>${r.candidate.name}</th>${ch ? html`<th>${r.champion!.name}</th><th>Δ</th>` : ''}<th></th></tr>
${row('AUC', c.auc, ch?.auc, 4, 'higher')}
${row('logloss', c.logloss, ch?.logloss, 4, 'lower')}
${row('calibration', c.calibration, ch?.calibration, 3, 'one')}
<tr><td>rows</td><td class="n">${int(c.rows)}</td>${ch ? html`<td class="n">${int(ch.rows)}</td><td></td>` : ''}<td class="note">holdout ${r.holdout.days.join(', ')}</td></tr>
</table>
${r.champion ? '' : html`<p class="note">No champion yet: the candidate faced the absolute thresholds only.</p>`}`;
}

function trainingSection(r: RunReportInput): SafeHtml {
  const t = r.training;
  const last = t.lossCurve.at(-1);
  const bestVal = t.validationCurve.length ? t.validationCurve.reduce((a, b) => (b.logloss < a.logloss ? b : a)) : undefined;
  return html`<table id="training">
<tr><td>examples/s</td><td class="n">${int(t.examplesPerSecond)}</td></tr>
<tr><td>training time</td><td class="n">${t.trainSeconds === undefined ? '—' : `${t.trainSeconds.toFixed(1)} s`}</td></tr>
<tr><td>epochs</td><td class="n">${t.epochs ?? '—'}${t.bestEpoch !== undefined ? ` (weights of epoch ${t.bestEpoch} kept)` : ''}</td></tr>
<tr><td>rows per epoch (skipped)</td><td class="n">${int(t.rows)} (${int(t.skippedRows)})</td></tr>
<tr><td>last training loss</td><td class="n">${num(last?.loss)}</td></tr>
${bestVal ? html`<tr><td>best validation logloss</td><td class="n">${num(bestVal.logloss)} (epoch ${bestVal.epoch}, AUC ${num(bestVal.auc)})</td></tr>` : ''}
<tr><td>tower backend</td><td>${t.backend ?? '—'}</td></tr>
</table>`;
}

function dataSection(r: RunReportInput): SafeHtml {
  const totalRows = r.trainDays.reduce((s, d) => s + d.rows, 0);
  const totalPos = r.trainDays.reduce((s, d) => s + d.positives, 0);
  const drift = [...r.numericDrift].sort((a, b) => (Number.isFinite(b.psi) ? b.psi : -1) - (Number.isFinite(a.psi) ? a.psi : -1));
  const vocab = [...r.vocabulary].sort(
    (a, b) => (b.psi ?? -1) - (a.psi ?? -1) || b.topTurnover - a.topTurnover || b.newTokens - a.newTokens,
  );
  return html`
<h3>Rows and label rate per day</h3>
<table id="days"><tr><th>day</th><th>role</th><th>rows</th><th>label rate</th></tr>
${r.trainDays.map((d) => html`<tr><td>${d.day}</td><td>train</td><td class="n">${int(d.rows)}</td><td class="n">${pct(d.rows ? d.positives / d.rows : NaN, 2)}</td></tr>`)}
${r.trainDays.length > 1 ? html`<tr><td><b>all training days</b></td><td></td><td class="n">${int(totalRows)}</td><td class="n">${pct(totalRows ? totalPos / totalRows : NaN, 2)}</td></tr>` : ''}
<tr><td>${r.holdout.days.join(', ')}</td><td>holdout</td><td class="n">${int(r.holdout.rows)}</td><td class="n">${pct(r.holdout.rows ? r.holdout.positives / r.holdout.rows : NaN, 2)}</td></tr>
</table>
<h3>OOV share per feature on the holdout</h3>
<table id="oov"><tr><th>feature</th><th>tokens</th><th>OOV (candidate vocabulary)</th><th>OOV (parent vocabulary)</th></tr>
${r.oov.map(
  (o) =>
    html`<tr><td>${o.feature}</td><td class="n">${int(o.tokens)}</td><td class="n">${o.hashed ? 'hashed: no OOV' : pct(o.share, 2)}</td><td class="n">${o.hashed ? '—' : pct(o.parentShare, 2)}</td></tr>`,
)}
</table>
<p class="note">A token is OOV when the vocabulary does not hold it (new, rarer than the feature's vocab.minCount, or past vocab.maxSize): it maps to id 0. List features count every element.</p>
<h3>Distribution shift against the parent model</h3>
${
  r.lineage.parent
    ? html`
${movedMost(r)}
<table id="psi"><tr><th>numeric feature</th><th>PSI</th><th>shift</th><th>parent's shares from</th><th>buckets</th><th>missing</th></tr>
${drift.map(
  (d) =>
    html`<tr class="${d.band === 'major' ? 'bad' : ''}"><td>${d.feature}</td><td class="n">${num(d.psi, 4)}</td><td>${d.band}${d.approximate ? ' (approximate)' : ''}</td><td>${d.reference === 'sample' ? 'training sample (tied quantiles)' : 'fitted quantiles'}</td><td class="n">${d.buckets}</td><td class="n">${pct(d.missingShare, 1)}</td></tr>`,
)}
</table>
<p class="note">PSI = Σ (a − e)·ln(a / e) of the holdout's share a of rows in each of the parent's quantile buckets against the share e those buckets held of the parent's training data. The parent fitted its cut points as equal-frequency quantiles, so e = 1/buckets; where tied values merged quantiles (a value shared by many rows), e is counted on a sample of the parent's training rows${r.referenceRows ? ` (${int(r.referenceRows)} rows)` : ''}${drift.some((d) => d.approximate) ? ', or, marked "approximate", assumed equal because that data could no longer be read' : ''}. Bands: &lt; 0.1 stable, 0.1–0.25 moderate, &gt; 0.25 major. Missing values are left out.</p>
<table id="vocab"><tr><th>categorical feature</th><th>PSI</th><th>top-k turnover</th><th>new tokens</th><th>dropped tokens</th><th>vocabulary (parent → candidate)</th><th>new, e.g.</th></tr>
${vocab.map(
  (v) =>
    html`<tr class="${v.psi !== null && v.psi >= 0.25 ? 'bad' : ''}"><td>${v.feature}</td><td class="n">${num(v.psi, 4)}</td><td class="n">${pct(v.topTurnover, 0)} of ${v.topK}</td><td class="n">${int(v.newTokens)}</td><td class="n">${int(v.droppedTokens)}</td><td class="n">${int(v.parentSize)} → ${int(v.candidateSize)}</td><td>${v.newExamples.map((t, i) => html`${i ? ', ' : ''}<code>${t}</code>`)}</td></tr>`,
)}
</table>
<p class="note">Categorical PSI is over ${CATEGORICAL_TOP_TOKENS + 2} buckets: the parent's ${CATEGORICAL_TOP_TOKENS} most frequent tokens one by one, the rest of its vocabulary, and tokens it does not have; the parent's shares are counted on the same sample of its training rows (the manifest keeps no token counts, only each vocabulary ordered by descending count). Top-k turnover is the share of the parent's k most frequent tokens that are not among the candidate's k most frequent; new tokens are in the candidate's vocabulary and not the parent's (their embedding rows start fresh).</p>`
    : html`<p class="note">A first model: no parent to compare against.</p>`
}`;
}

/** The few features that moved most, numeric and categorical together (both measured by PSI). */
function movedMost(r: RunReportInput): SafeHtml {
  const all = [
    ...r.numericDrift.filter((d) => Number.isFinite(d.psi)).map((d) => ({ feature: d.feature, psi: d.psi })),
    ...r.vocabulary.filter((v) => v.psi !== null).map((v) => ({ feature: v.feature, psi: v.psi! })),
  ].sort((a, b) => b.psi - a.psi);
  const top = all.slice(0, 5);
  if (top.length === 0) return html``;
  return html`<p id="moved-most">Moved most: ${top.map((t, i) => html`${i ? ', ' : ''}<b>${t.feature}</b> (PSI ${num(t.psi, 3)}, ${psiBand(t.psi)})`)}.</p>`;
}

function lineageSection(r: RunReportInput): SafeHtml {
  const s = r.sparsity;
  const p = r.lineage.parent;
  return html`<table id="lineage">
<tr><td>wide weights at exactly zero</td><td class="n">${pct(s.wideZeroFraction, 1)} of all coordinates${s.wideCoordinates ? ` (${int(s.wideCoordinates)})` : ''}</td></tr>
<tr><td>… of those that received gradient</td><td class="n">${pct(s.wideTouchedZeroFraction, 1)}</td></tr>
<tr><td>parent</td><td>${p ? html`${p.version !== null ? `v${p.version} · ` : ''}${p.modelId} · <code>${p.uri}</code>` : 'none: trained from scratch'}</td></tr>
<tr><td>days trained</td><td>${r.trainDays.map((d) => d.day).join(', ') || '—'}</td></tr>
<tr><td>holdout</td><td>${r.holdout.days.join(', ')}</td></tr>
${r.lineage.lateFiles.length ? html`<tr><td>late files trained in</td><td>${r.lineage.lateFiles.map((f) => html`<code>${f}</code> `)}</td></tr>` : ''}
${r.lineage.quarantined.length ? html`<tr><td>quarantined (not trained)</td><td>${r.lineage.quarantined.map((q) => html`<code>${q.uri}</code>: ${q.reason}<br>`)}</td></tr>` : ''}
${r.lineage.skipped.length ? html`<tr><td>skipped: name not a safe key (not read)</td><td>${r.lineage.skipped.map((f) => html`<code>${quoted(f.uri)}</code>: ${f.reason}<br>`)}</td></tr>` : ''}
</table>`;
}

function daysSection(r: RunReportInput): SafeHtml {
  return html`<p id="days-after">${r.days.note}</p>
${
  r.days.held.length
    ? html`<table id="held"><tr><th>held day</th><th>role</th><th>why</th></tr>${r.days.held.map((h) => html`<tr><td>${h.day}</td><td>${h.role}</td><td>${h.reason}</td></tr>`)}</table>
<p class="note">A held day is not trained into any model until <code>wdp days release DAY</code> (trained in the next run) or <code>wdp days drop DAY</code> (never read again).</p>`
    : ''
}
${r.days.untrained.length ? html`<p>Stay untrained (trained in the next run): ${r.days.untrained.join(', ')}</p>` : ''}
${!r.passed && r.lineage.lateFiles.length ? html`<p class="note">Late files this candidate read are not recorded as read: the next run reads them again.</p>` : ''}`;
}
