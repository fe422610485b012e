/**
 * What happens to the days of a run, and the operator's say over held days (docs/workflow.md,
 * "Days"):
 *
 *  - Promoted: the training days are in the champion; the holdout day (newest-partition holdout)
 *    stays `untrained` and is trained in the next run.
 *  - Rejected: the holdout day(s) are `held`. A rejection cannot say by itself which day was bad,
 *    so the training days are held too ("suspect") unless the champion clears them: when the
 *    champion, which passed validation before, also fails the absolute gates on the same holdout,
 *    the holdout is what is bad and the training days go back to `untrained` (trained next run).
 *    A rejection only by the serving dry run (every metric gate passed) implicates no data: all
 *    its days stay `untrained`.
 *  - Rejected because the holdout has one label class (AUC undefined: no model can be validated on
 *    it): only the holdout day(s) are held, the training days stay `untrained`.
 *  - A held day is never read again until an operator runs `wdp days release DAY` (back to
 *    `untrained`: trained in the next run) or `wdp days drop DAY` (never read again).
 */
import { DataError } from '../../data/errors.ts';
import { parsePartition } from '../../data/logs.ts';
import { StoragePreconditionError, storeFor } from '../../storage/index.ts';
import { WorkflowError } from '../errors.ts';
import { readJson, readJsonVersioned, writeJson } from '../bucket/json-store.ts';
import { historyOnlyFiles, type HistoryOnlyFile } from '../bucket/keys.ts';
import type { BucketLayout } from '../bucket/layout.ts';
import { readQuarantine } from '../bucket/quarantine.ts';
import { acquireRunLock, isHolderGone, releaseRunLock } from '../bucket/run-lock.ts';
import { EMPTY_WATERMARK, readRegistry, readWatermark } from '../bucket/state.ts';
import { silentLogger, type Logger } from '../../util/log.ts';
import {
  runManifestSchema,
  validationReportSchema,
  watermarkSchema,
  type HeldDay,
  type QuarantinedFile,
  type RunManifest,
  type ValidationReport,
  type Watermark,
} from '../schemas.ts';
import { HOLDOUT_LABELS_CHECK, thresholdsSchema } from './thresholds.ts';

/** Whether the champion, on the rejected run's holdout, fails the absolute gates itself. */
function championFailsHoldout(report: ValidationReport): boolean {
  const m = report.championMetrics;
  const t = thresholdsSchema.safeParse(report.thresholds);
  if (!m || !t.success) return false;
  const { minAuc, maxLogloss, calibrationMin, calibrationMax } = t.data;
  // An undefined metric (null) fails its gate, as a NaN does in Validate.
  const { auc, logloss, calibration } = m;
  const passes =
    auc !== null &&
    logloss !== null &&
    calibration !== null &&
    auc >= minAuc &&
    logloss <= maxLogloss &&
    calibration >= calibrationMin &&
    calibration <= calibrationMax;
  return !passes;
}

/** Which of a rejected run's days are held, and why (see the module comment). */
export function rejectionVerdict(
  run: Pick<RunManifest, 'partitions' | 'runId'>,
  report: ValidationReport,
): { held: { day: string; role: HeldDay['role']; reason: string }[]; cleared: string[]; note: string } {
  const failed = report.checks.filter((c) => !c.passed);
  const holdout = run.partitions.holdout;
  const train = run.partitions.train.filter((d) => !holdout.includes(d));
  if (failed.length > 0 && failed.every((c) => c.name.startsWith('dry_run'))) {
    return { held: [], cleared: [...train, ...holdout], note: 'rejected by the serving dry run only: no day is implicated' };
  }
  const labels = failed.find((c) => c.name === HOLDOUT_LABELS_CHECK);
  if (labels) {
    // The holdout cannot validate any model (one label class): it is the holdout that is unusable,
    // not what the candidate trained on. Held, it can still be released (trained on) or dropped.
    const cause = labels.message.replace(`${HOLDOUT_LABELS_CHECK}: `, '');
    return {
      held: holdout.map((day) => ({ day, role: 'holdout' as const, reason: `holdout of run ${run.runId} rejected: ${cause}` })),
      cleared: train,
      note: `${cause}, so no model can be validated on it: the holdout ${holdout.join(', ')} is held (\`wdp days release DAY\` trains on it in the next run, \`wdp days drop DAY\` drops it) and the training days stay untrained`,
    };
  }
  const why = `run ${run.runId} rejected: ${report.reasons.join('; ')}`;
  const heldHoldout = holdout.map((day) => ({ day, role: 'holdout' as const, reason: `holdout of ${why}` }));
  if (championFailsHoldout(report)) {
    return {
      held: heldHoldout,
      cleared: train,
      note: `the champion fails the holdout too, so the holdout ${holdout.join(', ')} is held and the training days stay untrained`,
    };
  }
  return {
    held: [...heldHoldout, ...train.map((day) => ({ day, role: 'train' as const, reason: `trained into the candidate of ${why}` }))],
    cleared: [],
    note: report.championMetrics
      ? 'the champion passes the holdout, so the training days are suspect and held with the holdout'
      : 'no champion to tell which day is bad: every day of the run is held',
  };
}

/**
 * The watermark a rejected run stores: `run.watermarkAfter` (what a promotion would store) with
 * the implicated days moved to `held` and the cleared ones kept `untrained`. Late files the
 * candidate read are not recorded as read, so the next run reads them again.
 */
export function watermarkAfterRejection(run: RunManifest, report: ValidationReport, now: Date = new Date()): Watermark {
  const after = watermarkSchema.parse(run.watermarkAfter);
  const verdict = rejectionVerdict(run, report);
  const heldDays = new Set(verdict.held.map((h) => h.day));
  const untrained = new Set([...after.untrained.filter((d) => !heldDays.has(d)), ...verdict.cleared]);
  const files = { ...after.files };
  for (const late of run.late ?? []) {
    const p = Object.entries(files).find(([, refs]) => refs.some((r) => r.uri === late.uri))?.[0];
    if (p) files[p] = files[p]!.filter((r) => r.uri !== late.uri);
  }
  return {
    ...after,
    untrained: [...untrained].sort(),
    held: [
      ...after.held.filter((h) => !heldDays.has(h.day)),
      ...verdict.held.map((h) => ({ ...h, runId: run.runId, at: now.toISOString() })),
    ].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0)),
    files,
  };
}

/** What Promote or Reject will do with a validated run's days, in words for the run report. */
export function daysAfterValidation(
  run: RunManifest,
  v: ValidationReport,
  now: Date = new Date(),
): { held: { day: string; role: HeldDay['role']; reason: string }[]; untrained: string[]; note: string } {
  if (v.passed) {
    const trained = run.partitions.train.filter((d) => !run.watermarkAfter.untrained.includes(d));
    return {
      held: [],
      untrained: run.watermarkAfter.untrained,
      note: `Once promoted, the training days ${trained.join(', ') || '(none)'} are in the champion and the watermark moves to ${run.watermarkAfter.through ?? '—'}.`,
    };
  }
  const verdict = rejectionVerdict(run, v);
  const after = watermarkAfterRejection(run, v, now);
  return {
    held: verdict.held,
    untrained: after.untrained,
    note: `Rejected: nothing is promoted and the champion keeps serving; ${verdict.note}.`,
  };
}

/**
 * A data fault found while a run trains or validates (a label of 2, a NaN without a default: what
 * the footer checks at Ingest cannot see) fails the run, and every later run, on the same day. The
 * error gains the way out: fix the file, or drop the day (`dropDay` accepts a day no finished run
 * read). Other errors pass through unchanged.
 */
export function withDropHint(e: unknown): unknown {
  if (!(e instanceof DataError)) return e;
  const day = parsePartition(e.source);
  if (!day) return e;
  return new WorkflowError(
    `${e.message}. Every run fails on ${day} until the file is fixed or replaced, or the day is dropped: \`wdp days drop ${day}\``,
    { cause: e },
  );
}

export interface DaysStatus {
  readonly through: string | null;
  readonly untrained: readonly string[];
  readonly held: readonly HeldDay[];
  readonly dropped: Watermark['dropped'];
  readonly quarantined: readonly QuarantinedFile[];
  /** Log files an older wdp recorded under names that are not safe keys: kept as history, never read (bucket/keys.ts). */
  readonly historyOnly: readonly HistoryOnlyFile[];
}

/**
 * The watermark as the registry says it must be. Promote and Reject write the registry first and
 * the watermark after it, so a run killed between the two (or whose watermark write failed) leaves
 * the registry recording an outcome the watermark does not: its days still look untrained, and
 * the next run would train them into the model a second time. The registry's last run entry is the
 * truth then, and the watermark that outcome stores is re-derived from the run's manifest (and
 * its validation report, for a rejection) exactly as Promote/Reject would have written it.
 *
 * In step when the stored watermark names the registry's last run (or one the registry does not
 * know: a registry rebuilt from the model folders cannot order them). Never moves it backwards.
 * Reading only: the next Promote/Reject stores it (its run's watermarkAfter starts from it), and
 * `wdp days release|drop` store it with their edit.
 */
export async function reconcileWatermark(
  l: BucketLayout,
  stored: Watermark,
  logger: Logger = silentLogger,
): Promise<{ readonly watermark: Watermark; readonly owedTo: string | null }> {
  const inStep = { watermark: stored, owedTo: null };
  // A registry that cannot be read is reported, naming its repair, by the steps that need it.
  const registry = await readRegistry(l).catch(() => undefined);
  const runs = registry?.history.filter((e) => !e.rebuilt) ?? [];
  const last = runs.at(-1);
  if (!last || last.runId === stored.runId) return inStep;
  if (stored.runId !== null && !runs.some((e) => e.runId === stored.runId)) return inStep;
  // Missing or invalid (expired, edited): warned below. A storage error (no access) fails the step.
  const run = await readJson(l.runManifest(last.runId), runManifestSchema).catch(unlessStorageError);
  let after: Watermark | undefined = run?.watermarkAfter;
  if (run && last.status === 'rejected') {
    const report = await readJson(l.validationReport(run.candidateUri), validationReportSchema).catch(unlessStorageError);
    after = report ? watermarkAfterRejection(run, report) : undefined;
  }
  if (!after) {
    logger.warn(
      `the registry records run ${last.runId} as ${last.status} but the watermark ${l.watermark} never moved for it, and its run manifest (or validation report) is gone: the watermark stays as stored; check \`wdp days\``,
    );
    return inStep;
  }
  if (stored.through !== null && (after.through === null || after.through < stored.through)) return inStep;
  logger.warn(
    `the registry records run ${last.runId} as ${last.status}${last.version ? ` (v${last.version})` : ''} but the watermark never moved for it (the run stopped between its registry and watermark writes): its days count as ${last.status === 'promoted' ? 'trained' : 'the rejection left them'}, not trained again`,
  );
  return { watermark: after, owedTo: last.runId };
}

function unlessStorageError(e: unknown): undefined {
  if (e instanceof WorkflowError) return undefined;
  throw e;
}

/** The watermark a run starts from: the stored one, brought in step with the registry (reconcileWatermark). */
export async function readEffectiveWatermark(l: BucketLayout, logger?: Logger): Promise<Watermark> {
  return (await reconcileWatermark(l, await readWatermark(l), logger)).watermark;
}

/** What `wdp days` lists: the watermark's days and the quarantined files. */
export async function daysStatus(l: BucketLayout): Promise<DaysStatus> {
  const w = await readEffectiveWatermark(l);
  const q = await readQuarantine(l);
  return {
    through: w.through,
    untrained: w.untrained,
    held: w.held,
    dropped: w.dropped,
    quarantined: q.files,
    historyOnly: historyOnlyFiles(l, w),
  };
}

/**
 * `wdp days release DAY`: a held day goes back to `untrained`, so the next run trains on it.
 * @throws WorkflowError naming the day when it is not held
 */
export async function releaseDay(l: BucketLayout, day: string): Promise<Watermark> {
  return updateWatermark(l, (w) => {
    if (!w.held.some((h) => h.day === day))
      throw new WorkflowError(`${day} is not held (held: ${w.held.map((h) => h.day).join(', ') || 'none'})`);
    return {
      ...w,
      held: w.held.filter((h) => h.day !== day),
      untrained: [...new Set([...w.untrained, day])].sort(),
    };
  });
}

/**
 * `wdp days drop DAY`: a held, untrained or new day is never read again (its late files included).
 * A new day is one with logs that no finished run read (newer than the watermark): the day of a run
 * that failed on its data at Ingest, Train or Validate, which would otherwise fail every run.
 * @throws WorkflowError naming the day when it is already in a champion (it cannot be taken out of
 *   it), already dropped, or has no logs
 */
export async function dropDay(l: BucketLayout, day: string, now: Date = new Date()): Promise<Watermark> {
  const hasLogs = (await storeFor(l.logs).list(`${l.logs}dt=${day}/`)).length > 0;
  return updateWatermark(
    l,
    (w) => {
      const isNew = (w.through === null || day > w.through) && hasLogs && !w.dropped.some((d) => d.day === day);
      const from = w.held.some((h) => h.day === day) ? 'held' : w.untrained.includes(day) ? 'untrained' : isNew ? 'new' : undefined;
      if (!from)
        throw new WorkflowError(
          `${day} is neither held nor untrained, nor a new day with logs${w.dropped.some((d) => d.day === day) ? ' (it is already dropped)' : ''}, so there is nothing to drop (held: ${w.held.map((h) => h.day).join(', ') || 'none'}; untrained: ${w.untrained.join(', ') || 'none'}; newest day read: ${w.through ?? 'none'})`,
        );
      return {
        ...w,
        held: w.held.filter((h) => h.day !== day),
        untrained: w.untrained.filter((d) => d !== day),
        dropped: [...w.dropped.filter((d) => d.day !== day), { day, at: now.toISOString(), from }],
      };
    },
    // Before any run finished there is no watermark yet: dropping a new day starts one.
    { createIfMissing: hasLogs },
  );
}

/**
 * An operator's edit of the watermark, under the run lock: a run between its Ingest and its
 * Promote/Reject would otherwise write its own watermark over the edit. Refused while a run holds
 * the lock; the write itself is also a compare-and-swap.
 */
async function updateWatermark(
  l: BucketLayout,
  change: (w: Watermark) => Watermark,
  options: { readonly createIfMissing?: boolean } = {},
): Promise<Watermark> {
  const owner = `wdp-days-${process.pid}-${Date.now()}`;
  const lock = await acquireRunLock(l, { owner, holder: 'wdp days', leaseMs: 5 * 60_000, holderGone: isHolderGone });
  if (!lock.acquired) throw new WorkflowError(`a retraining run is in progress (${lock.message}); try again when it has ended`);
  try {
    return await swapWatermark(l, change, options.createIfMissing ?? false);
  } finally {
    await releaseRunLock(l, owner, 'wdp days');
  }
}

/** A compare-and-swap update of the watermark (an operator's edit must not undo a run's, or the reverse). */
async function swapWatermark(l: BucketLayout, change: (w: Watermark) => Watermark, createIfMissing: boolean): Promise<Watermark> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await readJsonVersioned(l.watermark, watermarkSchema);
    if (!current && !createIfMissing) throw new WorkflowError(`no watermark at ${l.watermark}: no run has finished in this bucket yet`);
    // The edit applies to the watermark in step with the registry, and stores that too.
    const base = current ? (await reconcileWatermark(l, current.value)).watermark : EMPTY_WATERMARK;
    const next = { ...change(base), updatedAt: new Date().toISOString() };
    try {
      await writeJson(l.watermark, next, current ? { ifMatch: current.etag } : { ifNoneMatch: '*' });
      return next;
    } catch (e) {
      if (!(e instanceof StoragePreconditionError)) throw e;
    }
  }
  throw new WorkflowError(`${l.watermark} kept changing while it was written; try again`);
}
