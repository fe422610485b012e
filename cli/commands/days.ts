/**
 * `wdp days`: the data days of the workflow bucket and the operator's say over them. Lists the
 * watermark (newest day seen, untrained, held, dropped days) and the quarantined files; `release`
 * returns a held day to training, `drop` sets a held or untrained day aside for good
 * (docs/workflow.md, "Days").
 */
import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_STACK, existingBucket, printJson, say } from '../shared.ts';
import { isCalendarDay } from '../../src/data/log-files.ts';
import { quoted } from '../../src/util/terminal-text.ts';

interface DaysOptions {
  bucket: string;
  remote: boolean;
  stack: string;
  json: boolean;
}

/** A YYYY-MM-DD that is a real calendar day (2026-13-45 and 2026-02-30 are not). */
export function day(v: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || !isCalendarDay(v))
    throw new InvalidArgumentError(`DAY must be a YYYY-MM-DD partition date, a real calendar day, got "${v}"`);
  return v;
}

/** The bucket the command acts on: --bucket, or with --remote the deployed stack's bucket. */
async function bucketUri(o: DaysOptions): Promise<string> {
  if (!o.remote) return existingBucket(o.bucket);
  const { CloudFormationClient } = await import('@aws-sdk/client-cloudformation');
  const { resolveFromStack } = await import('../aws-remote.ts');
  const { STACK_OUTPUT_NAMES } = await import('../../src/workflow/state-names.ts');
  return `s3://${await resolveFromStack(undefined, new CloudFormationClient({}), o.stack, STACK_OUTPUT_NAMES.bucket)}`;
}

export function addDaysCommand(program: Command): void {
  const days = program
    .command('days')
    .description('data days of the workflow bucket: untrained, held by a rejection, dropped; quarantined files; release or drop a held day')
    .option('--bucket <dir|s3://…>', 'workflow bucket', '.wdp/bucket')
    .option('--remote', "the deployed stack's bucket (from its outputs)", false)
    .option('--stack <name>', 'deployed stack name', DEFAULT_STACK)
    .option('--json', 'print JSON on stdout', false);

  const list = async (o: DaysOptions) => {
    const { layout } = await import('../../src/workflow/bucket/layout.ts');
    const { daysStatus } = await import('../../src/workflow/steps/days.ts');
    const s = await daysStatus(layout(await bucketUri(o)));
    if (o.json) return printJson(s);
    say(`through:     ${s.through ?? '(no run finished yet)'}`);
    say(`untrained:   ${s.untrained.join(', ') || 'none'}  (trained in the next run)`);
    say(`held:        ${s.held.length === 0 ? 'none' : ''}`);
    for (const h of s.held) say(`  ${h.day}  ${h.role.padEnd(7)}  ${h.reason}  (wdp days release|drop ${h.day})`);
    say(`dropped:     ${s.dropped.map((d) => d.day).join(', ') || 'none'}`);
    say(`quarantined: ${s.quarantined.length === 0 ? 'none' : ''}`);
    for (const q of s.quarantined) say(`  ${q.uri}  ${q.reason}  (run ${q.runId})`);
    if (s.historyOnly.length > 0) {
      say('never read:  (names an older wdp recorded in the watermark that are not safe keys: kept as history)');
      // JSON-quoted: such a name may hold what a terminal would act on (escape sequences).
      for (const h of s.historyOnly) say(`  ${h.day}  ${quoted(h.uri)}  ${h.reason}`);
    }
  };
  days.action(list);
  days
    .command('list')
    .description('list the days and quarantined files (the default)')
    .action(async (_o: unknown, cmd: Command) => list(cmd.optsWithGlobals<DaysOptions>()));

  for (const [name, description] of [
    ['release', 'return a held day to training: the next run trains on it'],
    ['drop', 'set a held or untrained day aside for good: it is never read again'],
  ] as const) {
    days
      .command(`${name} <day>`)
      .description(description)
      .action(async (d: string, _o: unknown, cmd: Command) => {
        const o = cmd.optsWithGlobals<DaysOptions>();
        const { layout } = await import('../../src/workflow/bucket/layout.ts');
        const { dropDay, releaseDay } = await import('../../src/workflow/steps/days.ts');
        const l = layout(await bucketUri(o));
        const w = name === 'release' ? await releaseDay(l, day(d)) : await dropDay(l, day(d));
        if (o.json) printJson(w);
        else say(name === 'release' ? `released ${d}: untrained ${w.untrained.join(', ')}` : `dropped ${d} for good`);
      });
  }
}
