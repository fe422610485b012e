/**
 * The last screen of `npm start`: the verdict, the candidate against the champion on the same
 * holdout, where the report is, and what to run next. A run with nothing to do stays short.
 */
import { storeFor } from '../src/storage/index.ts';
import { readJson } from '../src/workflow/bucket/json-store.ts';
import { layout } from '../src/workflow/bucket/layout.ts';
import { readWatermark } from '../src/workflow/bucket/state.ts';
import { validationReportSchema, type HeldDay, type ValidationReport } from '../src/workflow/schemas.ts';
import { DEFAULT_LOCAL_BUCKET, describeResult, type LocalPipelineResult } from './run-retraining.ts';

export interface SummaryDetails {
  /** validation.json of the run, when it got that far. */
  readonly validation?: ValidationReport | null;
  /** report.html's path or URI, when it was written. */
  readonly reportUri?: string | null;
  /** Days this run's rejection held back. */
  readonly held?: readonly Pick<HeldDay, 'day' | 'role'>[];
  /** @default process.platform */
  readonly platform?: NodeJS.Platform;
}

/** Reads what the summary shows from the bucket; anything unreadable is left out, never thrown. */
export async function summaryDetails(r: LocalPipelineResult): Promise<SummaryDetails> {
  const v = r.validation;
  if (!v) return {};
  const l = layout(r.bucketUri);
  const reportUri = l.runReport(v.candidateUri);
  const [validation, report, held] = await Promise.all([
    readJson(v.reportUri, validationReportSchema).catch(() => null),
    storeFor(reportUri)
      .stat(reportUri)
      .catch(() => undefined),
    r.status === 'rejected'
      ? readWatermark(l)
          .then((w) => w.held.filter((h) => h.runId === v.runId))
          .catch(() => [])
      : [],
  ]);
  return { validation: validation ?? null, reportUri: report ? reportUri : null, held };
}

const RULE = '─'.repeat(64);

export function summaryScreen(r: LocalPipelineResult, d: SummaryDetails = {}): string[] {
  // Made-up logs are never silent: the run says it wrote them, whatever else it did.
  const sample = r.sampleData
    ? [
        `  sample data: this run generated ${r.sampleData.rows} rows of synthetic logs for ${r.sampleData.days.join(', ')} under ${r.sampleData.uri} (a new bucket)`,
      ]
    : [];
  const headline = describeResult(r);
  const bucketFlag = r.bucketUri === DEFAULT_LOCAL_BUCKET ? '' : ` --bucket ${r.bucketUri}`;
  if (r.status === 'no_new_data') {
    return [
      headline,
      ...sample,
      `next: add a day of logs and run again: npx wdp generate --out ${layout(r.bucketUri).logs} --days 1 && npm start`,
    ];
  }
  if (r.status === 'locked') return [headline, ...sample, `next: npx wdp lock status${bucketFlag}`];
  if (!r.validation) return [headline, ...sample];

  const lines = [RULE, headline, ...sample];
  const v = d.validation;
  if (v) {
    const c = v.candidateMetrics;
    const ch = v.championMetrics;
    const champName = v.champion ? `champion v${v.champion.version}` : '';
    // null: undefined on this holdout (one label class), as validation.json records it.
    const show = (x: number | null, digits: number) => (x === null ? 'undefined' : x.toFixed(digits));
    const delta = (a: number | null, b: number | null, digits: number) =>
      a === null || b === null ? '—' : `${a - b >= 0 ? '+' : ''}${(a - b).toFixed(digits)}`;
    const row = (name: string, a: number | null, b: number | null | undefined, digits: number) =>
      `  ${name.padEnd(12)}${show(a, digits).padStart(10)}${b === undefined ? '' : `${show(b, digits).padStart(14)}${delta(a, b, digits).padStart(10)}`}`;
    lines.push(`  ${''.padEnd(12)}${'candidate'.padStart(10)}${ch ? `${champName.padStart(14)}${'Δ'.padStart(10)}` : ''}`);
    lines.push(
      row('AUC', c.auc, ch?.auc, 4),
      row('logloss', c.logloss, ch?.logloss, 4),
      row('calibration', c.calibration, ch?.calibration, 3),
    );
    lines.push(`  ${'rows'.padEnd(12)}${String(c.rows).padStart(10)}${ch ? String(ch.rows).padStart(14) : ''}   holdout ${holdoutDays(r)}`);
    if (!ch) lines.push('  (no champion yet: the candidate faced the absolute thresholds only)');
    const failed = v.checks.filter((x) => !x.passed);
    lines.push(
      failed.length === 0
        ? `  checks: all ${v.checks.length} passed`
        : `  checks: ${failed.length} of ${v.checks.length} failed: ${failed.map((x) => `${x.name} (${x.threshold})`).join(', ')}`,
    );
  }
  for (const h of d.held ?? [])
    lines.push(
      `  held back: ${h.day} (${h.role}) — npx wdp days release ${h.day}${bucketFlag} once it is fixed, or npx wdp days drop ${h.day}${bucketFlag}`,
    );
  lines.push(d.reportUri ? `  report: ${d.reportUri}` : '  report: not written (see the warning above)');
  const next: string[] = [];
  if (d.reportUri) next.push(openCommand(d.reportUri, d.platform ?? process.platform));
  next.push(`npx wdp runs show ${r.validation.runId}${bucketFlag}`, `npx wdp models list${bucketFlag}`);
  lines.push(`  next:   ${next[0]}`, ...next.slice(1).map((n) => `          ${n}`), RULE);
  return lines;
}

function holdoutDays(r: LocalPipelineResult): string {
  return r.ingest?.hasNewData ? r.ingest.holdoutPartitions.join(', ') : '';
}

function openCommand(uri: string, platform: NodeJS.Platform): string {
  if (uri.startsWith('s3://')) return `aws s3 cp ${uri} report.html   (then open report.html)`;
  const quoted = /^[\w./:@-]+$/.test(uri) ? uri : `'${uri.replace(/'/g, `'\\''`)}'`;
  return `${platform === 'darwin' ? 'open' : platform === 'win32' ? 'start' : 'xdg-open'} ${quoted}`;
}
