/**
 * `wdp runs`: every retraining run that got past Ingest (each leaves `runs/<runId>/manifest.json`)
 * with its verdict, read from what the workflow already keeps: the registry's entry for the run
 * (promoted vN / rejected and why), the run lock (in progress), else the run failed, and how far
 * it got is told by what it left beside its candidate (model, validation.json).
 */
import { isAbsolute } from 'node:path';
import { isS3Uri, joinUri, storeFor } from '../../storage/index.ts';
import { WorkflowError } from '../errors.ts';
import { readJson } from '../bucket/json-store.ts';
import { PREFIXES, type BucketLayout } from '../bucket/layout.ts';
import { isHolderGone, isLockHeld, readRunLock } from '../bucket/run-lock.ts';
import { readRegistry } from '../bucket/state.ts';
import {
  type ChampionRef,
  type Registry,
  type RunManifest,
  runManifestSchema,
  type ValidationCheck,
  validationReportSchema,
} from '../schemas.ts';

export type RunVerdict =
  | { readonly kind: 'promoted'; readonly version: number; readonly champion: boolean }
  | { readonly kind: 'rejected'; readonly reasons: readonly string[] }
  | { readonly kind: 'in_progress'; readonly lockHolder: string }
  | { readonly kind: 'failed'; readonly stage: string };

export interface RunRow {
  readonly runId: string;
  readonly createdAt: string;
  readonly verdict: RunVerdict;
  readonly days: { readonly train: readonly string[]; readonly holdout: readonly string[] };
  /** The champion the run was measured against (and warm-started from). */
  readonly champion: ChampionRef | null;
  readonly candidateUri: string;
  /** report.html beside validation.json; candidates expire by lifecycle rule, so it may be gone. */
  readonly report: { readonly uri: string; readonly exists: boolean };
}

export interface RunDetails extends RunRow {
  readonly manifestUri: string;
  readonly validation: {
    readonly uri: string;
    readonly passed: boolean;
    readonly reasons: readonly string[];
    readonly checks: readonly ValidationCheck[];
    readonly candidateMetrics: Record<string, unknown>;
    readonly championMetrics: Record<string, unknown> | null;
  } | null;
  readonly lateFiles: number;
  readonly quarantined: readonly { readonly uri: string; readonly reason: string }[];
  /** Log files its Ingest did not read because their name is not a safe key (print the URI JSON-quoted). */
  readonly skippedFiles: readonly { readonly uri: string; readonly reason: string }[];
}

export function describeVerdict(v: RunVerdict): string {
  switch (v.kind) {
    case 'promoted':
      return `promoted v${v.version}${v.champion ? ' (champion)' : ''}`;
    case 'rejected':
      return `rejected: ${v.reasons.join('; ')}`;
    case 'in_progress':
      return `in progress (${v.lockHolder})`;
    case 'failed':
      return `failed ${v.stage}`;
  }
}

/** Every run, newest first. */
export async function listRuns(l: BucketLayout): Promise<RunRow[]> {
  const ctx = await context(l);
  const rows: RunRow[] = [];
  for (const runId of await runIds(l)) {
    const run = await readJson(l.runManifest(runId), runManifestSchema).catch(() => undefined);
    if (run) rows.push(await rowOf(l, run, ctx));
  }
  return rows.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.runId.localeCompare(a.runId));
}

/** One run by its id, or by a part of it that names exactly one run. */
export async function showRun(l: BucketLayout, id: string): Promise<RunDetails> {
  const ids = await runIds(l);
  const matches = ids.includes(id) ? [id] : ids.filter((r) => r.includes(id));
  if (matches.length === 0) throw new WorkflowError(`no run ${id} under ${joinUri(l.bucketUri, PREFIXES.runs)} (see \`wdp runs list\`)`);
  if (matches.length > 1)
    throw new WorkflowError(`"${id}" names ${matches.length} runs (${matches.slice(0, 5).join(', ')}…); give more of the run id`);
  const runId = matches[0]!;
  const manifestUri = l.runManifest(runId);
  const run = await readJson(manifestUri, runManifestSchema);
  if (!run) throw new WorkflowError(`no run manifest at ${manifestUri}`);
  const row = await rowOf(l, run, await context(l));
  const validationUri = l.validationReport(candidateOf(l, run));
  const v = await readJson(validationUri, validationReportSchema).catch(() => undefined);
  return {
    ...row,
    manifestUri,
    validation: v
      ? {
          uri: validationUri,
          passed: v.passed,
          reasons: v.reasons,
          checks: v.checks,
          candidateMetrics: v.candidateMetrics,
          championMetrics: v.championMetrics,
        }
      : null,
    lateFiles: run.late?.length ?? 0,
    quarantined: (run.quarantined ?? []).map((q) => ({ uri: q.uri, reason: q.reason })),
    skippedFiles: run.skippedFiles ?? [],
  };
}

interface Context {
  readonly registry: Registry;
  readonly lock: Awaited<ReturnType<typeof readRunLock>>;
}

async function context(l: BucketLayout): Promise<Context> {
  return { registry: await readRegistry(l), lock: await readRunLock(l).catch(() => undefined) };
}

async function runIds(l: BucketLayout): Promise<string[]> {
  const prefix = `${joinUri(l.bucketUri, PREFIXES.runs).replace(/\/+$/, '')}/`;
  const ids: string[] = [];
  for (const b of await storeFor(prefix).list(prefix)) {
    const m = /^([^/]+)\/manifest\.json$/.exec(b.uri.slice(prefix.length));
    if (m) ids.push(m[1]!);
  }
  return ids;
}

const exists = async (uri: string) => (await storeFor(uri).stat(uri)) !== undefined;

/**
 * Where the run's candidate is: as recorded, or, for a manifest an older wdp wrote with a relative
 * local path (relative to wherever that run was started), where this bucket keeps every run's
 * candidate (layout.candidate, which Ingest records): read from elsewhere, the relative path would
 * name nothing, and the run would look as if it had never trained.
 */
function candidateOf(l: BucketLayout, run: RunManifest): string {
  const recorded = run.candidateUri;
  return isS3Uri(recorded) || recorded.startsWith('file:') || isAbsolute(recorded) ? recorded : l.candidate(run.runId);
}

async function rowOf(l: BucketLayout, run: RunManifest, ctx: Context): Promise<RunRow> {
  const reportUri = l.runReport(candidateOf(l, run));
  return {
    runId: run.runId,
    createdAt: run.createdAt,
    verdict: await verdictOf(l, run, ctx),
    days: run.partitions,
    champion: run.champion,
    candidateUri: candidateOf(l, run),
    report: { uri: reportUri, exists: await exists(reportUri) },
  };
}

async function verdictOf(l: BucketLayout, run: RunManifest, ctx: Context): Promise<RunVerdict> {
  const entry = ctx.registry.history.find((e) => e.runId === run.runId);
  if (entry?.status === 'promoted' && entry.version !== null)
    return { kind: 'promoted', version: entry.version, champion: ctx.registry.champion?.version === entry.version };
  if (entry?.status === 'rejected') return { kind: 'rejected', reasons: entry.reasons };
  // Run ids end with the execution name (ingest.ts newRunId), which is the run lock's owner.
  // A local run killed holding the lock (its process gone from this host) is not in progress: the
  // next run takes the lock over at once; what it left says where it stopped.
  const lock = ctx.lock?.lock;
  if (
    lock &&
    isLockHeld(lock, Date.now()) &&
    !isHolderGone(lock) &&
    run.runId.endsWith(`-${lock.owner.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 40)}`)
  )
    return { kind: 'in_progress', lockHolder: lock.holder };
  const report = await readJson(l.validationReport(candidateOf(l, run)), validationReportSchema).catch(() => undefined);
  if (report)
    return {
      kind: 'failed',
      stage: `after validation (${report.passed ? 'passed' : 'did not pass'}), in ${report.passed ? 'Promote' : 'Reject'}`,
    };
  if (await exists(joinUri(candidateOf(l, run), 'manifest.json'))) return { kind: 'failed', stage: 'after training, in Validate' };
  return { kind: 'failed', stage: 'in Train (no candidate model was saved)' };
}
