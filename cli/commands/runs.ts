/** `wdp runs list|show RUN`: the retraining runs of a bucket with their verdicts and reports (src/workflow/steps/runs.ts). */
import type { Command } from 'commander';
import { DEFAULT_STACK, existingBucket, printJson, say } from '../shared.ts';
import { quoted } from '../../src/util/terminal-text.ts';

interface RunsOptions {
  bucket: string;
  remote: boolean;
  stack: string;
  json: boolean;
}

async function bucketUri(o: RunsOptions): Promise<string> {
  if (!o.remote) return existingBucket(o.bucket);
  const { remoteBucketUri } = await import('../workflow-remote.ts');
  return remoteBucketUri({ stack: o.stack });
}

/** null: recorded as undefined on the holdout (one label class); absent: not recorded. */
const f4 = (x: unknown) => (typeof x === 'number' ? x.toFixed(4) : x === null ? 'undefined' : '—');

export function addRunsCommand(program: Command): void {
  const runs = program
    .command('runs')
    .description('retraining runs: date, verdict (promoted vN / rejected and why / failed / in progress), days, report')
    .option('--bucket <dir|s3://…>', 'workflow bucket', '.wdp/bucket')
    .option('--remote', "the deployed stack's bucket (from its outputs)", false)
    .option('--stack <name>', 'deployed stack name', DEFAULT_STACK)
    .option('--json', 'print JSON on stdout', false);

  const list = async (o: RunsOptions) => {
    const { layout } = await import('../../src/workflow/bucket/layout.ts');
    const { describeVerdict, listRuns } = await import('../../src/workflow/steps/runs.ts');
    const rows = await listRuns(layout(await bucketUri(o)));
    if (o.json) return printJson(rows);
    if (rows.length === 0) say('no runs yet (`npm start` runs one)');
    for (const r of rows) {
      say(`${r.runId}`);
      say(`  ${r.createdAt.slice(0, 19).replace('T', ' ')}  ${describeVerdict(r.verdict)}`);
      say(`  trained ${r.days.train.join(', ') || '(late files only)'}; holdout ${r.days.holdout.join(', ')}`);
      say(`  report ${r.report.uri}${r.report.exists ? '' : ' (not there: not written, or expired with the candidate)'}`);
    }
  };
  runs.action(list);
  runs
    .command('list')
    .description('every run, newest first (the default)')
    .action(async (_o: unknown, cmd: Command) => list(cmd.optsWithGlobals<RunsOptions>()));

  runs
    .command('show <run>')
    .description('one run (its id, or a part of it naming one run): verdict, checks with thresholds, metrics, report')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<RunsOptions>();
      const { layout } = await import('../../src/workflow/bucket/layout.ts');
      const { describeVerdict, showRun } = await import('../../src/workflow/steps/runs.ts');
      const r = await showRun(layout(await bucketUri(o)), id);
      if (o.json) return printJson(r);
      say(`run ${r.runId}  (${r.createdAt})`);
      say(`  verdict:   ${describeVerdict(r.verdict)}`);
      say(
        `  days:      trained ${r.days.train.join(', ') || '(late files only)'}; holdout ${r.days.holdout.join(', ')}${r.lateFiles ? `; ${r.lateFiles} late file(s)` : ''}`,
      );
      say(`  champion:  ${r.champion ? `v${r.champion.version} (${r.champion.modelId})` : 'none (trained from scratch)'}`);
      for (const q of r.quarantined) say(`  quarantined: ${q.uri}  ${q.reason}`);
      // JSON-quoted: such a name may hold what a terminal would act on (escape sequences).
      for (const f of r.skippedFiles) say(`  skipped:   ${quoted(f.uri)}  ${f.reason}`);
      if (r.validation) {
        const c = r.validation.candidateMetrics;
        const p = r.validation.championMetrics;
        say(`  candidate: AUC ${f4(c['auc'])}, logloss ${f4(c['logloss'])} on ${String(c['rows'])} holdout rows`);
        if (p) say(`  champion:  AUC ${f4(p['auc'])}, logloss ${f4(p['logloss'])} on the same holdout`);
        for (const k of r.validation.checks)
          say(
            `  ${k.passed ? '✓' : '✗'} ${k.name.padEnd(18)} ${k.value === null ? '—' : Number(k.value.toPrecision(4))}  (${k.threshold})`,
          );
      } else say('  validation: none (the run stopped before Validate, or its candidate expired)');
      say(`  manifest:  ${r.manifestUri}`);
      say(`  report:    ${r.report.uri}${r.report.exists ? '' : ' (not there: not written, or expired with the candidate)'}`);
    });
}
