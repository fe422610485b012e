/**
 * What Ingest set aside, picked up late, found off the champion's scale or skipped for its name,
 * as the lines an operator reads after a run: the same for a local run (`npm start`) and for one
 * followed on AWS (`wdp pipeline --remote`), where they are not states of the machine and would
 * otherwise stay in the execution's history.
 */
import { quoted } from '../../util/terminal-text.ts';
import type { IngestResult } from '../schemas.ts';

export function ingestNoticeLines(ingest: IngestResult): string[] {
  const lines: string[] = [];
  for (const q of ingest.quarantined ?? []) lines.push(`  quarantined ${q.uri}: ${q.reason}`);
  for (const f of ingest.lateFiles ?? []) lines.push(`  late file ${f}: trained in ${ingest.hasNewData ? 'this' : 'the next'} run`);
  for (const w of ingest.hasNewData ? (ingest.scaleWarnings ?? []) : []) lines.push(`  WARNING ${w.uri}: ${w.message}`);
  // JSON-quoted: such a name may hold what a terminal would act on (escape sequences).
  for (const f of ingest.skippedFiles ?? []) lines.push(`  WARNING skipped ${quoted(f.uri)}: ${f.reason}`);
  return lines;
}
