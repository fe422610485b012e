/**
 * Ingest: find the log partitions newer than the watermark and write the run manifest the
 * training job reads. It changes no state: the watermark moves only when the run is promoted or
 * rejected, so a crash anywhere later re-runs the same data next time.
 *
 * Holdout (config `holdout.kind`):
 *  - `newest_partition`: the newest new partition is held out; training takes the other new
 *    partitions plus last run's holdout (kept in `watermark.untrained`), so every day is trained
 *    on exactly once, one run after it served as the holdout.
 *  - `hash`: every new partition (plus any left untrained) is read by both training and
 *    validation, and a stable hash of `holdout.column` (default: the first id column) puts
 *    `fraction` of the rows in the holdout (src/data/row-split.ts).
 */
import { randomUUID } from 'node:crypto';
import { holdoutHashColumn, parseConfig, type WdpConfig } from '../../config/index.ts';
import { DataError } from '../../data/errors.ts';
import { checkLogFile, parsePartition, type ColumnFacts, type ColumnRequirement } from '../../data/logs.ts';
import { withSplitColumn } from '../../data/row-split.ts';
import { requiredColumnsOfConfig } from '../../features/columns.ts';
import { absoluteUri, checkKey, isS3Uri, storeFor, UnsafeKeyError } from '../../storage/index.ts';
import { z } from 'zod';
import { silentLogger, type Logger } from '../../util/log.ts';
import { quoted } from '../../util/terminal-text.ts';
import { WorkflowError } from '../errors.ts';
import { readJson, writeJson } from '../bucket/json-store.ts';
import { layout } from '../bucket/layout.ts';
import { readQuarantine, recordQuarantine, sameFile } from '../bucket/quarantine.ts';
import {
  runManifestSchema,
  type FileRef,
  type IngestEvent,
  type IngestResult,
  type QuarantinedFile,
  type RunManifest,
  type SkippedFile,
} from '../schemas.ts';
import { readRegistry } from '../bucket/state.ts';
import { historyOnlyFiles } from '../bucket/keys.ts';
import { readEffectiveWatermark } from './days.ts';
import { championScaleWarnings } from './ingest-scale.ts';

export interface IngestOptions {
  /** Bucket root: a folder path or `s3://bucket[/prefix]`. */
  readonly bucketUri: string;
  /** @default `<bucket>/config/wdp.config.json` */
  readonly configUri?: string;
  readonly logger?: Logger;
  /** @default Date.now */
  readonly nowEpochMs?: () => number;
}

/** A run id that sorts by time and stays a valid S3 key / Batch job name. */
export function newRunId(executionName: string | undefined, nowEpochMs: number): string {
  const stamp = new Date(nowEpochMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const tail = (executionName ?? randomUUID()).replace(/[^A-Za-z0-9_-]/g, '').slice(0, 40) || randomUUID().slice(0, 8);
  return `${stamp}-${tail}`;
}

export async function ingest(event: IngestEvent, options: IngestOptions): Promise<IngestResult> {
  const log = options.logger ?? silentLogger;
  // A local bucket and config by absolute path: the run manifest, and every location built from
  // it (data files, candidate, reports), must name the same place for a step or a `wdp runs show`
  // run later from another directory. S3 URIs are unchanged.
  const bucketUri = absoluteUri(options.bucketUri);
  const l = layout(bucketUri);
  const configUri = absoluteUri(options.configUri ?? l.config);
  const now = (options.nowEpochMs ?? Date.now)();
  const at = new Date(now).toISOString();

  const { found: listed, skipped } = await listPartitionFiles(l.logs, log);
  const partitions = [...listed.keys()];
  // In step with the registry: a predecessor killed after recording its outcome has trained its days.
  const watermark = await readEffectiveWatermark(l, log);
  // Files an older wdp recorded under names Ingest now skips: kept as history, never read (bucket/keys.ts).
  const history = historyOnlyFiles(l, watermark);
  if (history.length > 0)
    log.warn(
      `${l.watermark} records ${history.length} file(s) whose names are not safe keys, read by an older wdp: kept there as history, never read: ${history.map((h) => `${quoted(h.uri)} (${h.reason})`).join(', ')}`,
    );
  const historyUris = new Set(history.map((h) => h.uri));
  // Named in the run's result and record (summary, `wdp runs`, report), not only in its log.
  const skippedFiles = [...skipped, ...history.map((h) => ({ uri: h.uri, reason: `${HISTORY_ONLY_REASON} (${h.reason})` }))];
  const skippedNotice = skippedFiles.length > 0 ? { skippedFiles } : {};
  const setAside = new Set([...watermark.held.map((h) => h.day), ...watermark.dropped.map((d) => d.day)]);
  const seen = (p: string) => watermark.through !== null && p <= watermark.through;
  const fresh = partitions.filter((p) => !seen(p) && !setAside.has(p));
  const untrained = watermark.untrained.filter((p) => listed.has(p) && !setAside.has(p));
  // Files added (or rewritten) since a finished run read their partition. Partitions without a
  // record (watermarks from before files were kept) count as fully read.
  const late = partitions
    .filter((p) => seen(p) && !setAside.has(p) && !untrained.includes(p) && watermark.files[p] !== undefined)
    .flatMap((p) => listed.get(p)!.filter((f) => !watermark.files[p]!.some((r) => sameFile(r, f))));
  if (fresh.length === 0 && untrained.length === 0 && late.length === 0) {
    const reason = partitions.length === 0 ? `no log partitions under ${l.logs}` : `no partitions newer than ${watermark.through}`;
    log.info(reason);
    return { hasNewData: false, reason, ...skippedNotice };
  }

  const rawConfig = await readJson(configUri, z.record(z.string(), z.unknown()));
  if (!rawConfig) throw new WorkflowError(`no config at ${configUri}: upload your wdp.config.json there`);
  const config = parseConfig(rawConfig, configUri);
  const runId = newRunId(event.executionName, now);
  if (config.holdout.kind !== 'hash' && fresh.length === 0 && late.length === 0) {
    return noData(
      log,
      `no partitions newer than ${watermark.through}; ${untrained.join(', ')} wait(s) for a new day to hold out`,
      skippedNotice,
    );
  }

  // Bad files up front: every file this run would read that no finished run read before is opened
  // and its footer/header checked against the config's columns, before any training.
  const quarantine = await readQuarantine(l);
  const isQuarantined = (f: FileRef) => quarantine.files.some((q) => sameFile(q, f));
  const candidates = [...fresh, ...untrained].flatMap((p) => listed.get(p)!).concat(late);
  const alreadyRead = (f: FileRef) => Object.values(watermark.files).some((refs) => refs.some((r) => sameFile(r, f)));
  const columns = withSplitColumn(
    requiredColumnsOfConfig(config, true),
    config.holdout.kind === 'hash' ? { column: holdoutHashColumn(config)!, fraction: config.holdout.fraction, take: 'train' } : undefined,
  );
  const checked = await findBadFiles(
    candidates.filter((f) => !isQuarantined(f) && !alreadyRead(f)),
    columns,
  );
  // What the footers say beyond "it opens": values a training run would refuse (statistics), and
  // columns whose type differs from the data the champion was trained on.
  const reference = await referenceColumnTypes(watermark, listed, setAside, columns);
  const bad = [...checked.bad, ...footerProblems(checked.facts, columns, config, reference)].sort((a, b) =>
    a.file.uri < b.file.uri ? -1 : 1,
  );
  if (bad.length > 0 && (config.data.onBadFile ?? 'error') === 'error') {
    const days = [...new Set(bad.map((b) => parsePartition(b.file.uri)).filter((d): d is string => d !== undefined))];
    throw new WorkflowError(
      `${bad.length} log file(s) cannot be trained on (data.onBadFile "error"; nothing was trained and the watermark did not move): ${bad
        .map((b) => `${b.file.uri}: ${b.reason}`)
        .join(
          '; ',
        )}. Fix or remove them, drop the day${days.length === 1 ? '' : 's'} (${days.map((d) => `\`wdp days drop ${d}\``).join(', ')}), or set data.onBadFile to "quarantine" to train on the rest`,
    );
  }
  const quarantined: QuarantinedFile[] = bad.map(({ file, reason }) => ({
    uri: file.uri,
    sizeBytes: file.sizeBytes,
    ...(file.etag ? { etag: file.etag } : {}),
    ...(file.modifiedMs !== undefined ? { modifiedMs: file.modifiedMs } : {}),
    partition: parsePartition(file.uri) ?? null,
    reason,
    runId,
    at,
  }));
  if (quarantined.length > 0) {
    await recordQuarantine(l, quarantined);
    for (const q of quarantined) log.warn(`quarantined ${q.uri}: ${q.reason}`);
  }
  const usable = (f: FileRef) => !isQuarantined(f) && !quarantined.some((q) => sameFile(q, f));
  const good = new Map<string, FileRef[]>();
  for (const p of [...fresh, ...untrained]) {
    const files = listed.get(p)!.filter(usable);
    if (files.length > 0) good.set(p, files);
  }
  const goodLate = late.filter(usable);
  const goodFresh = fresh.filter((p) => good.has(p));
  const goodUntrained = untrained.filter((p) => good.has(p));
  const notices = {
    ...(quarantined.length > 0 ? { quarantined: quarantined.map((q) => ({ uri: q.uri, reason: q.reason })) } : {}),
    ...(goodLate.length > 0 ? { lateFiles: goodLate.map((f) => f.uri) } : {}),
    ...skippedNotice,
  };

  // Which partitions train, which are held out, and what the watermark becomes afterwards.
  let plan: { train: string[]; holdout: string[]; untrainedAfter: string[]; split?: RunManifest['split']; note: string };
  const hashColumn = holdoutHashColumn(config);
  if (config.holdout.kind === 'hash' && hashColumn) {
    const parts = [...new Set([...goodUntrained, ...goodFresh])].sort();
    const split = { column: hashColumn, fraction: config.holdout.fraction };
    if (parts.length === 0 && goodLate.length === 0) return noData(log, 'no readable new files (all were quarantined)', notices);
    plan = {
      train: parts,
      holdout: parts,
      untrainedAfter: [],
      split,
      note: `${(100 * split.fraction).toFixed(1)}% of rows (hash of ${hashColumn}) held out`,
    };
  } else {
    if (goodFresh.length === 0) {
      const waiting = [...goodUntrained, ...new Set(goodLate.map((f) => parsePartition(f.uri) ?? '?'))];
      return noData(
        log,
        goodLate.length > 0
          ? `${goodLate.length} late file(s) in ${[...new Set(goodLate.map((f) => parsePartition(f.uri)))].join(', ')}: trained in the next run, once a new day arrives to hold out`
          : `no partitions newer than ${watermark.through}; ${waiting.join(', ')} wait(s) for a new day to hold out`,
        notices,
      );
    }
    const holdout = goodFresh[goodFresh.length - 1]!;
    const train = [...new Set([...goodUntrained.filter((p) => p < holdout), ...goodFresh.slice(0, -1)])].sort();
    if (train.length === 0 && goodLate.length === 0) {
      return noData(log, `only one partition (${holdout}) to use: it would be the holdout, waiting for the next one`, notices);
    }
    plan = { train, holdout: [holdout], untrainedAfter: [holdout], note: `hold out ${holdout}` };
  }

  const registry = await readRegistry(l);
  // A numeric column far off the champion's fitted range: trained anyway, but named (ingest-scale.ts).
  // Only when this run trains: a run that waits checks the same files again next time.
  const scale = await championScaleWarnings(
    registry.champion,
    checked.facts.filter((f) => usable(f.file)),
    reference?.facts,
    log,
  );
  const uris = (days: readonly string[]) => days.flatMap((p) => good.get(p)!.map((f) => f.uri));
  const data = [...uris(plan.train), ...goodLate.map((f) => f.uri)];
  // What the watermark records as read once this run finishes: every file of its days, and the late ones.
  const files = { ...watermark.files };
  // History-only entries stay: the watermark keeps what an older wdp recorded (bucket/keys.ts).
  for (const p of new Set([...plan.train, ...plan.holdout]))
    files[p] = [...good.get(p)!, ...(watermark.files[p] ?? []).filter((r) => historyUris.has(r.uri))];
  for (const f of goodLate) {
    const p = parsePartition(f.uri)!;
    files[p] = [...(files[p] ?? []).filter((r) => r.uri !== f.uri), f];
  }
  const through =
    [watermark.through, ...goodFresh]
      .filter((p): p is string => p !== null)
      .sort()
      .at(-1) ?? null;
  const manifest: RunManifest = {
    formatVersion: 1,
    runId,
    createdAt: at,
    bucketUri,
    configUri,
    config: rawConfig,
    partitions: { train: plan.train, holdout: plan.holdout },
    data,
    holdout: uris(plan.holdout),
    ...(goodLate.length > 0 ? { late: goodLate } : {}),
    ...(quarantined.length > 0 ? { quarantined } : {}),
    ...skippedNotice,
    champion: registry.champion,
    candidateUri: l.candidate(runId),
    watermarkAfter: {
      ...watermark,
      through,
      untrained: [
        ...new Set([...watermark.untrained.filter((p) => !plan.train.includes(p) && !plan.holdout.includes(p)), ...plan.untrainedAfter]),
      ]
        .filter((p) => !setAside.has(p))
        .sort(),
      files,
      runId,
      updatedAt: at,
    },
    ...(plan.split ? { split: plan.split } : {}),
  };
  const manifestUri = l.runManifest(runId);
  await writeJson(manifestUri, manifest);
  log.info(
    `run ${runId}: train on ${plan.train.join(', ') || '(late files only)'}${goodLate.length > 0 ? ` + ${goodLate.length} late file(s)` : ''}, ${plan.note}, ${registry.champion ? `warm start from v${registry.champion.version}` : 'no champion: train from scratch'}`,
  );
  return {
    hasNewData: true,
    runId,
    manifestUri,
    candidateUri: manifest.candidateUri,
    trainPartitions: plan.train,
    holdoutPartitions: plan.holdout,
    champion: registry.champion,
    quarantined: notices.quarantined ?? [],
    lateFiles: notices.lateFiles ?? [],
    ...(scale.length > 0 ? { scaleWarnings: scale } : {}),
    skippedFiles,
  };
}

/** The reason a skipped-files notice gives for a watermark entry kept only as history. */
export const HISTORY_ONLY_REASON = 'recorded in state/watermark.json by an older wdp: kept there as history, never read';

function noData(
  log: Logger,
  reason: string,
  notices: { quarantined?: { uri: string; reason: string }[]; lateFiles?: string[]; skippedFiles?: SkippedFile[] },
): IngestResult {
  log.info(reason);
  return { hasNewData: false, reason, ...notices };
}

type BadFile = { file: FileRef; reason: string };
type FileFacts = { file: FileRef; facts: ReadonlyMap<string, ColumnFacts> };

/**
 * Opens each file (footer / header only), a few at a time: the ones that fail, with why, and what
 * the others' footers say about their columns.
 */
async function findBadFiles(
  files: readonly FileRef[],
  columns: readonly ColumnRequirement[],
): Promise<{ bad: BadFile[]; facts: FileFacts[] }> {
  const bad: BadFile[] = [];
  const facts: FileFacts[] = [];
  const queue = [...files];
  const worker = async () => {
    for (let f = queue.shift(); f; f = queue.shift()) {
      const file = f;
      const format = /\.csv$/i.test(file.uri) ? ('csv' as const) : ('parquet' as const);
      try {
        facts.push({ file, facts: await checkLogFile({ uri: file.uri, format, sizeBytes: file.sizeBytes }, columns) });
      } catch (e) {
        // A storage failure (throttling, no access) is not the file's fault: it fails the run.
        if (!(e instanceof DataError)) throw e;
        // The message starts with the URI, which the notice already names.
        bad.push({ file, reason: e.message.startsWith(file.uri) ? e.message.slice(file.uri.length).replace(/^[:,]\s*/, '') : e.message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, files.length) }, worker));
  return { bad, facts: facts.sort((a, b) => (a.file.uri < b.file.uri ? -1 : 1)) };
}

/** Where the expected type of each categorical column comes from. */
interface ReferenceTypes {
  /** The file whose footer gave the types (a file a finished run read), or undefined: this run's files decide. */
  readonly uri: string | undefined;
  readonly facts: ReadonlyMap<string, ColumnFacts>;
}

/**
 * The column types of the data the champion was trained on: the footer of the newest file a
 * finished run read (watermark `files`) that is still there unchanged, outside held and dropped
 * days. One more footer read per run; none when no such file is left (then this run's files
 * decide by majority, see footerProblems).
 */
async function referenceColumnTypes(
  watermark: { files: Record<string, FileRef[]> },
  listed: ReadonlyMap<string, FileRef[]>,
  setAside: ReadonlySet<string>,
  columns: readonly ColumnRequirement[],
): Promise<ReferenceTypes | undefined> {
  const days = Object.keys(watermark.files)
    .filter((d) => !setAside.has(d))
    .sort()
    .reverse();
  for (const day of days.slice(0, 3)) {
    const present = listed.get(day) ?? [];
    const file = watermark.files[day]!.find((r) => /\.parquet$/i.test(r.uri) && present.some((f) => sameFile(f, r)));
    if (!file) continue;
    try {
      return { uri: file.uri, facts: await checkLogFile({ uri: file.uri, format: 'parquet', sizeBytes: file.sizeBytes }, columns) };
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
    }
  }
  return undefined;
}

/**
 * Faults a file's footer shows without reading a row:
 *  - a categorical (string or list) column whose values are of another token family than in the
 *    reference (the champion's training data; without one, most of this run's files): `7` and
 *    `'FR'` are different tokens, so a type change would silently train new ones;
 *  - with `data.onBadRow: "error"`, values training would refuse, where the file's statistics
 *    show them: a label outside 0/1 or missing, a numeric ±Infinity, or missing without a
 *    default. NaN is never in Parquet statistics: a NaN is still found by Train (or Validate).
 */
function footerProblems(
  files: readonly FileFacts[],
  columns: readonly ColumnRequirement[],
  config: WdpConfig,
  reference: ReferenceTypes | undefined,
): BadFile[] {
  const problems = new Map<FileRef, string[]>();
  const add = (file: FileRef, reason: string) => problems.set(file, [...(problems.get(file) ?? []), reason]);
  for (const c of columns.filter((c) => c.kind === 'string' || c.kind === 'list')) {
    const typed = files.filter((f) => f.facts.has(c.name));
    let expected = reference?.facts.get(c.name);
    let from = reference?.uri ? `as in ${reference.uri}, which the champion's runs read` : undefined;
    if (!expected) {
      // No reference: the family most of this run's files have (ties: the oldest file's).
      const counts = new Map<string, { n: number; facts: ColumnFacts }>();
      for (const f of typed) {
        const x = f.facts.get(c.name)!;
        counts.set(x.family, { n: (counts.get(x.family)?.n ?? 0) + 1, facts: counts.get(x.family)?.facts ?? x });
      }
      expected = [...counts.values()].sort((a, b) => b.n - a.n)[0]?.facts;
      from = `as in ${counts.get(expected?.family ?? '')?.n ?? 0} of this run's ${typed.length} files`;
    }
    if (!expected) continue;
    for (const f of typed) {
      const found = f.facts.get(c.name)!;
      if (found.family !== expected.family)
        add(
          f.file,
          `column "${c.name}": type changed: expected ${expected.type} (${expected.family} tokens, ${from}), found ${found.type} (${found.family} tokens): its values would become new tokens`,
        );
    }
  }
  if (config.data.onBadRow === 'error') {
    for (const f of files) {
      for (const c of columns) {
        const x = f.facts.get(c.name);
        if (!x) continue;
        if (c.kind === 'label') {
          if (x.min !== undefined && x.max !== undefined && (x.min < 0 || x.max > 1))
            add(f.file, `column "${c.name}": label must be 0 or 1, but the file's statistics give values from ${x.min} to ${x.max}`);
          if (x.nullCount) add(f.file, `column "${c.name}": label is missing in ${x.nullCount} row(s) (file statistics)`);
        } else if (c.kind === 'numeric') {
          if (x.min === -Infinity || x.max === Infinity)
            add(
              f.file,
              `column "${c.name}": value is not finite (the file's statistics give ${x.min === -Infinity ? '-Infinity' : 'Infinity'})`,
            );
          const feature = config.features[c.name];
          if (x.nullCount && feature?.kind === 'numeric' && feature.default === undefined)
            add(f.file, `column "${c.name}": ${x.nullCount} missing value(s) and the feature has no default (file statistics)`);
        }
      }
    }
  }
  return [...problems].map(([file, reasons]) => ({ file, reason: reasons.join('; ') }));
}

/**
 * The Parquet/CSV files under each `dt=` partition, oldest partition first, files by URI; and the
 * ones skipped because their name is not a safe key.
 */
async function listPartitionFiles(logsPrefix: string, log: Logger): Promise<{ found: Map<string, FileRef[]>; skipped: SkippedFile[] }> {
  const found = new Map<string, FileRef[]>();
  const skipped: SkippedFile[] = [];
  for (const blob of await storeFor(logsPrefix).list(logsPrefix)) {
    const rel = blob.uri.slice(logsPrefix.length);
    if (rel.split('/').some((part) => part.startsWith('_') || part.startsWith('.'))) continue;
    if (!/\.(parquet|csv)$/i.test(rel)) continue;
    const p = parsePartition(blob.uri);
    if (!p) {
      // Never read by any run: said every run, as a day that never trains would otherwise be
      // silent (a dt=2026-1-4 typo), and not taken as a day (dt=2026-13-45 would move the
      // watermark past every real day, which then counted as already read).
      const reason = notADayReason(rel);
      log.warn(`skipped ${quoted(blob.uri)}: ${reason}`);
      skipped.push({ uri: blob.uri, reason });
      continue;
    }
    // The watermark, quarantine and run manifest record each file read by its key, and reading
    // them back refuses a key that is not a safe bucket key (a backslash, a ".." segment): one
    // such file name, once recorded, failed every later run at Ingest. Never read, never recorded.
    const unsafe = unsafeKeyReason(logsPrefix, rel);
    if (unsafe !== undefined) {
      // Named JSON-quoted: the name may hold what a terminal would act on (escape sequences).
      log.warn(`skipped ${quoted(blob.uri)}: ${unsafe}; rename it to train on it`);
      skipped.push({ uri: blob.uri, reason: `${unsafe}; rename it to train on it` });
      continue;
    }
    const ref: FileRef = {
      uri: blob.uri,
      sizeBytes: blob.sizeBytes,
      // A folder's etag names the file's inode (storage/file-store.ts), which a copy of the bucket
      // (cp -a, a restored backup) changes for every file while none changed: each file read
      // before would count as late and be trained again. There, size and modification time tell
      // a rewrite; on S3 the etag is the object's content.
      ...(blob.etag && isS3Uri(logsPrefix) ? { etag: blob.etag } : {}),
      ...(Number.isFinite(blob.lastModifiedEpochMs) && blob.lastModifiedEpochMs > 0 ? { modifiedMs: blob.lastModifiedEpochMs } : {}),
    };
    found.set(p, [...(found.get(p) ?? []), ref]);
  }
  const sorted = new Map<string, FileRef[]>();
  for (const p of [...found.keys()].sort())
    sorted.set(
      p,
      found.get(p)!.sort((a, b) => (a.uri < b.uri ? -1 : 1)),
    );
  return { found: sorted, skipped: skipped.sort((a, b) => (a.uri < b.uri ? -1 : 1)) };
}

/** Why a log file at `rel` (under logs/) is in no day: a dt= folder that is not a calendar date, or none. */
function notADayReason(rel: string): string {
  const folder = rel
    .split('/')
    .slice(0, -1)
    .findLast((part) => part.startsWith('dt='));
  return folder !== undefined
    ? `its folder ${quoted(folder)} is not a day (days are dt=YYYY-MM-DD folders, a calendar date); rename the folder to train on it`
    : 'not in a dt=YYYY-MM-DD folder under logs/; move it into its day to train on it';
}

/** Why `rel` is not a key the bucket documents can record, or undefined when it is one. */
function unsafeKeyReason(logsPrefix: string, rel: string): string | undefined {
  try {
    checkKey(logsPrefix, rel);
    return undefined;
  } catch (e) {
    if (e instanceof UnsafeKeyError) return e.detail;
    throw e;
  }
}

/** Reads and validates a run manifest. */
export async function readRunManifest(uri: string): Promise<RunManifest> {
  const m = await readJson(uri, runManifestSchema);
  if (!m) throw new WorkflowError(`no run manifest at ${uri}`);
  return m;
}
