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
import { holdoutHashColumn, parseConfig } from '../../config/index.ts';
import { parsePartition } from '../../data/logs.ts';
import { storeFor } from '../../storage/index.ts';
import { z } from 'zod';
import { silentLogger, type Logger } from '../../util/log.ts';
import { WorkflowError } from '../errors.ts';
import { readJson, writeJson } from '../bucket/json-store.ts';
import { layout } from '../bucket/layout.ts';
import { runManifestSchema, type IngestEvent, type IngestResult, type RunManifest } from '../schemas.ts';
import { readRegistry, readWatermark } from '../bucket/state.ts';

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
  const l = layout(options.bucketUri);
  const configUri = options.configUri ?? l.config;
  const now = (options.nowEpochMs ?? Date.now)();

  const partitions = await listPartitions(l.logs);
  const watermark = await readWatermark(l);
  const fresh = partitions.filter((p) => watermark.through === null || p > watermark.through);
  if (fresh.length === 0) {
    const reason = partitions.length === 0 ? `no log partitions under ${l.logs}` : `no partitions newer than ${watermark.through}`;
    log.info(reason);
    return { hasNewData: false, reason };
  }

  const rawConfig = await readJson(configUri, z.record(z.string(), z.unknown()));
  if (!rawConfig) throw new WorkflowError(`no config at ${configUri}: upload your wdp.config.json there`);
  const config = parseConfig(rawConfig, configUri);
  // Which partitions train, which are held out, and what the watermark becomes afterwards.
  let plan: { train: string[]; holdout: string[]; untrainedAfter: string[]; split?: RunManifest['split']; note: string };
  const hashColumn = holdoutHashColumn(config);
  if (config.holdout.kind === 'hash' && hashColumn) {
    const parts = [...new Set([...watermark.untrained, ...fresh])].sort();
    const split = { column: hashColumn, fraction: config.holdout.fraction };
    plan = {
      train: parts,
      holdout: parts,
      untrainedAfter: [],
      split,
      note: `${(100 * split.fraction).toFixed(1)}% of rows (hash of ${hashColumn}) held out`,
    };
  } else {
    const holdout = fresh[fresh.length - 1]!;
    const train = [...new Set([...watermark.untrained.filter((p) => p < holdout), ...fresh.slice(0, -1)])].sort();
    if (train.length === 0) {
      const reason = `only one partition (${holdout}) to use: it would be the holdout, waiting for the next one`;
      log.info(reason);
      return { hasNewData: false, reason };
    }
    plan = { train, holdout: [holdout], untrainedAfter: [holdout], note: `hold out ${holdout}` };
  }

  const registry = await readRegistry(l);
  const runId = newRunId(event.executionName, now);
  const folder = (p: string) => `${l.logs}dt=${p}/`;
  const manifest: RunManifest = {
    formatVersion: 1,
    runId,
    createdAt: new Date(now).toISOString(),
    bucketUri: options.bucketUri,
    configUri,
    config: rawConfig,
    partitions: { train: plan.train, holdout: plan.holdout },
    data: plan.train.map(folder),
    holdout: plan.holdout.map(folder),
    champion: registry.champion,
    candidateUri: l.candidate(runId),
    watermarkAfter: { through: fresh[fresh.length - 1]!, untrained: plan.untrainedAfter, runId, updatedAt: new Date(now).toISOString() },
    ...(plan.split ? { split: plan.split } : {}),
  };
  const manifestUri = l.runManifest(runId);
  await writeJson(manifestUri, manifest);
  log.info(
    `run ${runId}: train on ${plan.train.join(', ')}, ${plan.note}, ${registry.champion ? `warm start from v${registry.champion.version}` : 'no champion: train from scratch'}`,
  );
  return {
    hasNewData: true,
    runId,
    manifestUri,
    candidateUri: manifest.candidateUri,
    trainPartitions: plan.train,
    holdoutPartitions: plan.holdout,
    champion: registry.champion,
  };
}

/** Distinct `dt=` partitions holding at least one Parquet/CSV file, oldest first. */
async function listPartitions(logsPrefix: string): Promise<string[]> {
  const found = new Set<string>();
  for (const blob of await storeFor(logsPrefix).list(logsPrefix)) {
    const rel = blob.uri.slice(logsPrefix.length);
    if (rel.split('/').some((part) => part.startsWith('_') || part.startsWith('.'))) continue;
    if (!/\.(parquet|csv)$/i.test(rel)) continue;
    const p = parsePartition(blob.uri);
    if (p) found.add(p);
  }
  return [...found].sort();
}

/** Reads and validates a run manifest. */
export async function readRunManifest(uri: string): Promise<RunManifest> {
  const m = await readJson(uri, runManifestSchema);
  if (!m) throw new WorkflowError(`no run manifest at ${uri}`);
  return m;
}
