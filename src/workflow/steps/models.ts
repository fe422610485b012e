/**
 * `wdp models`: the registry's promoted versions, and an operator's promote / rollback. Both move
 * the champion through moveChampion (champion.ts), the code of the workflow's Promote step, so the
 * registry and serving (the local pointer or alias `live`) move together; both take the run lock,
 * so they never interleave with a run's Promote; and both load the model through the model loader
 * and the serving dry run first, so a missing or damaged version is refused with nothing changed.
 */
import { listLogFiles, readLogChunks } from '../../data/logs.ts';
import { sliceBatch } from '../../features/batch-ops.ts';
import { readManifest, trainingHistory } from '../../model/manifest.ts';
import { loadTrainableModel } from '../../model/trainable-model.ts';
import type { TowerKind } from '../../model/tower/kinds.ts';
import { checkServedModel } from '../../scoring/expected-model.ts';
import { storeFor } from '../../storage/index.ts';
import { silentLogger, type Logger } from '../../util/log.ts';
import { WorkflowError } from '../errors.ts';
import type { BucketLayout } from '../bucket/layout.ts';
import { acquireRunLock, isHolderGone, releaseRunLock } from '../bucket/run-lock.ts';
import { readRegistryVersioned, type VersionedRegistry } from '../bucket/state.ts';
import type { ChampionRef, Registry, RegistryEntry } from '../schemas.ts';
import { championStack, moveChampion, previousChampion, RegistryBehindServingError } from './champion.ts';
import { holdoutRecords, runDryRun, type ServingScorerFactory } from './serving-dry-run.ts';
import { defaultScorerFactory } from './serving-scorer.ts';
import type { ServingTarget } from './serving-target.ts';
import { DEFAULT_THRESHOLDS } from './thresholds.ts';

/** What serves now, as the caller read it from the local pointer or alias `live`. */
export interface ServingState {
  /** Where it was read: the pointer's URI or `lambda <fn>:live`. */
  readonly where: string;
  /**
   * The model URI it serves; null: none named (no pointer yet, or a Lambda version `cdk deploy`
   * published, which serves the registry's champion itself — `followsRegistry`).
   */
  readonly uri: string | null;
  readonly followsRegistry?: boolean;
  /** Why what serves could not be read (an unreadable pointer, or one naming a path outside the bucket). */
  readonly problem?: string;
}

export interface ModelRow {
  readonly version: number;
  readonly modelId: string;
  readonly uri: string;
  readonly runId: string;
  readonly promotedAt: string;
  readonly parentVersion: number | null;
  readonly parentModelId: string | null;
  readonly days: { readonly train: readonly string[]; readonly holdout: readonly string[] };
  /** On the run's holdout, from validation; null for a rebuilt entry. */
  readonly holdout: { readonly auc: number; readonly logloss: number } | null;
  readonly champion: boolean;
  readonly serving: boolean;
  readonly rebuilt: boolean;
}

export interface ModelsListing {
  readonly registryUri: string;
  readonly champion: ChampionRef | null;
  readonly serving: ServingState;
  /** Set when serving and the registry name different models, with how to repair it. */
  readonly disagreement: string | null;
  /** Where `wdp models rollback` would go (null: nowhere). */
  readonly rollbackTo: number | null;
  readonly models: readonly ModelRow[];
}

export async function listModels(l: BucketLayout, serving: ServingState): Promise<ModelsListing> {
  const { registry } = await readRegistryVersioned(l);
  const servedUri = servedModelUri(registry, serving);
  const models = promotedEntries(registry).map((e) => row(e, registry, servedUri));
  return {
    registryUri: l.registry,
    champion: registry.champion,
    serving,
    disagreement: servingDisagreement(registry, serving),
    rollbackTo: previousChampion(registry),
    models,
  };
}

export interface ModelDetails extends ModelRow {
  readonly manifest: {
    readonly kind: string;
    readonly createdAt: string;
    readonly trainedRows: number;
    readonly trainedFiles: number;
    readonly files: number;
    readonly bytes: number;
    readonly examplesPerSecond: number | null;
    readonly wideZeroFraction: number | null;
  } | null;
  /** Why the manifest could not be read (the folder is gone or damaged). */
  readonly manifestError: string | null;
  /** Validation's metrics as the registry recorded them (candidate, champion, dry run). */
  readonly metrics: Record<string, unknown>;
  /** The run's report and validation.json, beside the candidate (which expires by lifecycle rule). */
  readonly report: { readonly uri: string; readonly exists: boolean };
  readonly validation: { readonly uri: string; readonly exists: boolean };
}

export async function showModel(l: BucketLayout, version: number, serving: ServingState): Promise<ModelDetails> {
  const { registry } = await readRegistryVersioned(l);
  const entry = findVersion(registry, version);
  const base = row(entry, registry, servedModelUri(registry, serving));
  let manifest: ModelDetails['manifest'] = null;
  let manifestError: string | null = null;
  try {
    const m = await readManifest(entry.uri);
    const num = (v: unknown) => (typeof v === 'number' ? v : null);
    manifest = {
      kind: m.kind,
      createdAt: m.createdAt,
      trainedRows: m.trainedOn.rows,
      trainedFiles: m.trainedOn.files.length,
      files: Object.keys(m.files).length,
      bytes: Object.values(m.files).reduce((s, f) => s + f.bytes, 0),
      examplesPerSecond: trainingHistory(m).examplesPerSecond ?? null,
      wideZeroFraction: num(m.metrics['wideZeroFraction']),
    };
  } catch (e) {
    manifestError = (e as Error).message;
  }
  const reportUri = l.runReport(entry.candidateUri);
  const validationUri = l.validationReport(entry.candidateUri);
  const exists = async (uri: string) => (await storeFor(uri).stat(uri)) !== undefined;
  return {
    ...base,
    manifest,
    manifestError,
    metrics: entry.metrics,
    report: { uri: reportUri, exists: await exists(reportUri) },
    validation: { uri: validationUri, exists: await exists(validationUri) },
  };
}

export interface MoveOptions {
  readonly serving: ServingTarget;
  /** Who moves it (user@host), recorded in the registry and the run lock. */
  readonly by: string;
  /** How the dry run opens the model. @default the scoring code (src/scoring) */
  readonly scorerFactory?: ServingScorerFactory;
  readonly backend?: TowerKind;
  /**
   * Repair serving: move it even when it serves a model the registry does not name, or when the
   * local pointer cannot be used (unreadable, or naming a path outside the bucket). @default false
   */
  readonly force?: boolean;
  readonly logger?: Logger;
}

export interface MoveResult {
  readonly action: 'promote' | 'rollback';
  readonly version: number;
  readonly modelId: string;
  readonly uri: string;
  /** The champion before (null: none). */
  readonly from: number | null;
  /** false: it already was the champion and served; nothing was written. */
  readonly changed: boolean;
  readonly lambdaVersion: string | null;
  readonly check: ServableCheck | null;
}

/** `wdp models promote V`: makes registry version V the champion and what serves. */
export async function promoteVersion(l: BucketLayout, version: number, options: MoveOptions): Promise<MoveResult> {
  return underRunLock(l, options.by, 'promote', async () => {
    const read = await readRegistryVersioned(l);
    return move(l, read, findVersion(read.registry, version), 'promote', options);
  });
}

/**
 * `wdp models rollback`: back to the previous champion, as the registry's champion log defines it
 * (championStack in champion.ts): a second rollback goes one further back, never to the model
 * just rolled back from.
 */
export async function rollbackChampion(l: BucketLayout, options: MoveOptions): Promise<MoveResult> {
  return underRunLock(l, options.by, 'rollback', async () => {
    const read = await readRegistryVersioned(l);
    const current = read.registry.champion;
    if (!current) throw new WorkflowError(`nothing to roll back: the registry ${l.registry} has no champion yet`);
    const to = previousChampion(read.registry);
    if (to === null)
      throw new WorkflowError(
        `nothing to roll back to: v${current.version} is the first champion left in the registry's history (champion stack: ${championStack(
          read.registry,
        )
          .map((v) => `v${v}`)
          .join(' → ')}); \`wdp models promote V\` moves to any listed version`,
      );
    return move(l, read, findVersion(read.registry, to), 'rollback', options);
  });
}

async function move(
  l: BucketLayout,
  read: VersionedRegistry,
  entry: RegistryEntry & { version: number },
  action: 'promote' | 'rollback',
  options: MoveOptions,
): Promise<MoveResult> {
  const log = options.logger ?? silentLogger;
  const from = read.registry.champion;
  const model = { version: entry.version, uri: entry.uri, modelId: entry.modelId };
  const check = await checkServable(l, entry, options).catch((e: Error) => {
    throw new WorkflowError(
      `refusing to ${action === 'promote' ? 'promote' : 'roll back to'} v${entry.version}: ${e.message}; nothing changed`,
      {
        cause: e,
      },
    );
  });
  log.info(`v${entry.version} loads and serves: ${describeCheck(check)}`);
  const writeRegistry = from?.uri !== entry.uri;
  try {
    const r = await moveChampion(l, read, model, {
      serving: options.serving,
      move: { action, by: options.by },
      writeRegistry,
      ...(options.force ? { force: true } : {}),
      retryHint: `run \`wdp models promote ${entry.version}\` to finish: it finds serving already moved and only writes the registry`,
      logger: log,
    });
    return {
      action,
      version: entry.version,
      modelId: entry.modelId,
      uri: entry.uri,
      from: from?.version ?? null,
      changed: writeRegistry || r.servingChanged,
      lambdaVersion: r.lambdaVersion,
      check,
    };
  } catch (e) {
    if (e instanceof RegistryBehindServingError) throw e;
    // Serving was not moved (point() failed before its last step): the registry was not touched.
    throw new WorkflowError(
      `${options.serving.name} was not moved to v${entry.version}: ${(e as Error).message}. Nothing that serves changed: the registry still names ${from ? `v${from.version}` : 'no champion'} and serving was not moved; fix the cause and run the command again`,
      { cause: e },
    );
  }
}

/** Takes the run lock for the length of `fn`; refused while a retraining run holds it. */
async function underRunLock<T>(l: BucketLayout, by: string, what: string, fn: () => Promise<T>): Promise<T> {
  const owner = `wdp-models-${what}-${process.pid}-${Date.now()}`;
  const lock = await acquireRunLock(l, {
    owner,
    holder: `${by} (wdp models ${what})`,
    leaseMs: 30 * 60_000,
    // A local run's lock whose process is gone (Ctrl-C, kill) does not keep the operator out.
    holderGone: isHolderGone,
  });
  if (!lock.acquired)
    throw new WorkflowError(`refusing to ${what} while the run lock is held (${lock.message}); try again when it has ended`);
  try {
    return await fn();
  } finally {
    await releaseRunLock(l, owner, `wdp models ${what}`);
  }
}

/** What checkServable found: the model loaded (every file checked) and served holdout rows like evaluation. */
export interface ServableCheck {
  /** Holdout rows sent through the serving code; 0 when the bucket has no logs to take them from. */
  readonly rows: number;
  readonly requests: number;
  readonly maxAbsDiff: number;
  readonly data: readonly string[];
}

export function describeCheck(c: ServableCheck): string {
  return c.rows === 0
    ? 'every file checked; no logs in the bucket to run the serving dry run on'
    : `every file checked; ${c.rows} holdout rows in ${c.requests} requests, max |serving − evaluation| ${c.maxAbsDiff.toExponential(2)}`;
}

/**
 * Loads the model as Validate and Promote would: through the model loader (the manifest's digest,
 * then every file's size and sha256), then the serving dry run on a few holdout rows of the run
 * that made it (else the newest day in the bucket), which must score finite and agree with the
 * evaluation path. Throws naming what failed.
 */
export async function checkServable(
  l: BucketLayout,
  entry: RegistryEntry,
  options: { readonly scorerFactory?: ServingScorerFactory; readonly backend?: TowerKind } = {},
): Promise<ServableCheck> {
  const t = DEFAULT_THRESHOLDS;
  const sample = t.dryRunRequests * t.dryRunCandidatesPerRequest;
  const data = await holdoutOf(l, entry);
  const loaded = await loadTrainableModel(entry.uri, options.backend ? { backend: options.backend } : {});
  try {
    checkServedModel({ version: `v${entry.version}`, modelId: entry.modelId, source: 'the registry' }, entry.uri, loaded.manifest.modelId);
  } catch (e) {
    loaded.model.dispose();
    throw e;
  }
  let records: Record<string, unknown>[] = [];
  let expected: Float32Array = new Float32Array(0);
  try {
    if (data.length > 0) {
      const files = await listLogFiles(data);
      const columns = loaded.transforms.requiredColumns(false);
      for await (const chunk of readLogChunks(files, { columns, chunkRows: sample })) {
        const enc = loaded.transforms.encode(chunk, { withLabels: false, onBadRow: loaded.config.data.onBadRow });
        expected = await loaded.model.predict(sliceBatch(enc.batch, 0, sample));
        break;
      }
      records = (await holdoutRecords(loaded.transforms, data, sample)).slice(0, expected.length);
    }
  } finally {
    loaded.model.dispose();
  }
  const scorer = await (options.scorerFactory ?? defaultScorerFactory)(entry.uri);
  try {
    if (records.length === 0) return { rows: 0, requests: 0, maxAbsDiff: 0, data };
    const dry = await runDryRun(scorer, records, expected, t.dryRunCandidatesPerRequest);
    if (!dry.allFinite) throw new WorkflowError(`the serving dry run scored non-finite values on ${data.join(', ')}`);
    if (dry.maxAbsDiff > t.parityTolerance)
      throw new WorkflowError(
        `the serving dry run disagrees with evaluation by ${dry.maxAbsDiff.toExponential(2)} (> ${t.parityTolerance}) on ${data.join(', ')}`,
      );
    return { rows: records.length, requests: dry.requests, maxAbsDiff: dry.maxAbsDiff, data };
  } finally {
    await scorer.dispose?.();
  }
}

/** The run's holdout days still in the bucket, else the newest day there; [] without logs. */
async function holdoutOf(l: BucketLayout, entry: RegistryEntry): Promise<string[]> {
  const days = new Set<string>();
  for (const b of await storeFor(l.logs).list(l.logs)) {
    const m = /dt=(\d{4}-\d{2}-\d{2})\//.exec(b.uri.slice(l.logs.length));
    if (m) days.add(m[1]!);
  }
  const wanted = entry.data.holdout.filter((d) => days.has(d));
  const chosen = wanted.length > 0 ? wanted : [...days].sort().slice(-1);
  return chosen.map((d) => `${l.logs}dt=${d}/`);
}

function promotedEntries(registry: Registry): (RegistryEntry & { version: number })[] {
  return registry.history
    .filter((e): e is RegistryEntry & { version: number } => e.status === 'promoted' && e.version !== null)
    .sort((a, b) => a.version - b.version);
}

function findVersion(registry: Registry, version: number): RegistryEntry & { version: number } {
  const promoted = promotedEntries(registry);
  const entry = promoted.find((e) => e.version === version);
  if (!entry)
    throw new WorkflowError(
      `v${version} is not a promoted version in the registry (${promoted.length === 0 ? 'none yet' : `it has ${promoted.map((e) => `v${e.version}`).join(', ')}`}); see \`wdp models list\``,
    );
  return entry;
}

function holdoutMetrics(entry: RegistryEntry): ModelRow['holdout'] {
  const h = entry.metrics['holdout'];
  if (typeof h !== 'object' || h === null) return null;
  const { auc, logloss } = h as { auc?: unknown; logloss?: unknown };
  return typeof auc === 'number' && typeof logloss === 'number' ? { auc, logloss } : null;
}

function row(e: RegistryEntry & { version: number }, registry: Registry, servedUri: string | null): ModelRow {
  return {
    version: e.version,
    modelId: e.modelId,
    uri: e.uri,
    runId: e.runId,
    promotedAt: e.at,
    parentVersion: e.parentVersion,
    parentModelId: e.parentModelId,
    days: e.data,
    holdout: holdoutMetrics(e),
    champion: registry.champion?.version === e.version,
    serving: servedUri === e.uri,
    rebuilt: e.rebuilt === true,
  };
}

/** The model URI that serves: a Lambda version without WDP_MODEL_URI serves the registry's champion. */
function servedModelUri(registry: Registry, serving: ServingState): string | null {
  return serving.uri ?? (serving.followsRegistry ? (registry.champion?.uri ?? null) : null);
}

/**
 * Why what serves is not the registry's champion, with how to repair it; null when they agree.
 * `wdp models` shows it, and `wdp invoke` warns with it before scoring.
 */
export function servingDisagreement(registry: Registry, serving: ServingState): string | null {
  const served = servedModelUri(registry, serving);
  const champion = registry.champion;
  if (serving.problem)
    return `${serving.where} cannot be used: ${serving.problem}; ${champion ? `\`wdp models promote ${champion.version} --force\` points it at the champion again` : 'remove it'}`;
  if (served === (champion?.uri ?? null)) return null;
  const known = promotedEntries(registry).find((e) => e.uri === served);
  const fix = known
    ? `a promote or rollback stopped after moving serving (or serving was moved by hand); \`wdp models promote ${known.version}\` makes the registry follow serving`
    : served === null && champion
      ? `serving serves nothing: \`wdp models promote ${champion.version}\` points it at the champion`
      : 'serving names a model the registry does not know: point it back at the champion by hand, or rebuild the registry from what serves (`wdp registry rebuild --force`)';
  return `${serving.where} serves ${served ?? 'nothing'} but the registry's champion is ${champion ? `v${champion.version} (${champion.uri})` : 'none'}; ${fix}`;
}
