/**
 * `wdp registry rebuild`: a registry reconstructed from the promoted model folders
 * (`models/registry/v<N>/manifest.json`, and claim.json where there is one), for when
 * registry.json was lost or damaged. Every entry is marked `rebuilt`: the data it was trained on,
 * its metrics and its report are not in the model folder, so they stay empty rather than guessed.
 *
 * The champion is the model serving names (pointer / alias) when it is one of those versions —
 * what was live keeps being what the registry calls live — else the highest version. So after a
 * manual rollback of the alias, `--force` makes the registry agree with what serves again (Promote
 * refuses to move serving away from a model the registry does not name as champion).
 */
import { readManifest, type ModelManifest } from '../../model/manifest.ts';
import { StoragePreconditionError, storeFor } from '../../storage/index.ts';
import { WorkflowError } from '../errors.ts';
import { readJson, readJsonVersioned, writeJson } from './json-store.ts';
import { recordRegistry, resolveRegistry } from './keys.ts';
import type { BucketLayout } from './layout.ts';
import { registrySchema, type Registry, type RegistryEntry } from '../schemas.ts';
import { promotedVersionFolders } from './state.ts';
import { z } from 'zod';

const claimSchema = z.object({ runId: z.string(), modelId: z.string() }).passthrough();

export interface RebuildOptions {
  /** The model URI serving uses now (the local pointer's or the alias's WDP_MODEL_URI), if known. */
  readonly servedUri?: string | null;
  /** Replace a registry that is present and readable. @default false */
  readonly force?: boolean;
  /** Compute and report only. @default false */
  readonly dryRun?: boolean;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface RebuildResult {
  readonly registry: Registry;
  /** Where the unreadable registry it replaced was saved, if there was one. */
  readonly backupUri: string | null;
  readonly championFrom: 'serving' | 'highest version' | 'none';
  /** Version folders without a readable manifest (a copy that never finished): left out. */
  readonly skipped: readonly { readonly version: number; readonly reason: string }[];
  readonly written: boolean;
}

export async function rebuildRegistry(l: BucketLayout, options: RebuildOptions = {}): Promise<RebuildResult> {
  const now = new Date((options.now ?? Date.now)()).toISOString();
  const existing = await readExisting(l);
  if (existing.state === 'readable' && !options.force)
    throw new WorkflowError(
      `the registry ${l.registry} is present and readable (${existing.registry.history.length} history entries); pass --force to replace it with one rebuilt from the model folders`,
    );

  const models: { version: number; manifest: ModelManifest; runId: string | null }[] = [];
  const skipped: { version: number; reason: string }[] = [];
  for (const version of await promotedVersionFolders(l, { any: true })) {
    const uri = l.registryModel(version);
    const manifest = await readManifest(uri).catch((e: Error) => e);
    if (manifest instanceof Error) {
      skipped.push({ version, reason: manifest.message });
      continue;
    }
    const claim = await readJson(l.versionClaim(version), claimSchema).catch(() => undefined);
    models.push({ version, manifest, runId: claim?.modelId === manifest.modelId ? claim.runId : null });
  }

  const byModelId = new Map(models.map((m) => [m.manifest.modelId, m.version]));
  let history: RegistryEntry[] = models.map(({ version, manifest, runId }) => {
    const uri = l.registryModel(version);
    const parentModelId = manifest.parent?.modelId ?? null;
    return {
      version,
      status: 'promoted',
      runId: runId ?? `unknown (rebuilt v${version})`,
      modelId: manifest.modelId,
      uri,
      candidateUri: uri,
      parentVersion: parentModelId ? (byModelId.get(parentModelId) ?? null) : null,
      parentModelId,
      metrics: {},
      reasons: [`rebuilt by \`wdp registry rebuild\` at ${now} from ${uri}/manifest.json`],
      data: { train: [], holdout: [] },
      reportUri: uri,
      lambdaVersion: null,
      at: manifest.createdAt,
      rebuilt: true,
    };
  });
  // With --force over a readable registry, what it knows that the folders agree with is kept:
  // rejected runs, and promoted entries whose folder still holds the same model.
  if (existing.state === 'readable') {
    const kept = existing.registry.history.filter(
      (e) => e.status === 'rejected' || history.some((h) => h.version === e.version && h.modelId === e.modelId),
    );
    const keptVersions = new Set(kept.map((e) => e.version));
    history = [...kept, ...history.filter((h) => !keptVersions.has(h.version))].sort((a, b) => a.at.localeCompare(b.at));
  }
  const promoted = history.filter((e) => e.status === 'promoted').sort((a, b) => (a.version ?? 0) - (b.version ?? 0));
  const served = options.servedUri ? promoted.find((e) => e.uri === options.servedUri) : undefined;
  const champion = served ?? promoted.at(-1);
  const registry: Registry = {
    formatVersion: 1,
    champion: champion?.version ? { version: champion.version, uri: champion.uri, modelId: champion.modelId } : null,
    history,
  };
  const championFrom = served ? 'serving' : champion ? 'highest version' : 'none';
  if (options.dryRun) return { registry, backupUri: null, championFrom, skipped, written: false };

  let backupUri: string | null = null;
  if (existing.state !== 'missing') {
    backupUri = `${l.registry}.replaced-${now.replace(/[:.]/g, '-')}`;
    await storeFor(backupUri).write(backupUri, existing.bytes);
  }
  try {
    await writeJson(
      l.registry,
      recordRegistry(l, registry),
      existing.state === 'missing' ? { ifNoneMatch: '*' } : { ifMatch: existing.etag },
    );
  } catch (e) {
    if (e instanceof StoragePreconditionError)
      throw new WorkflowError(`${l.registry} changed while it was being rebuilt (a run in progress?); nothing replaced, try again`, {
        cause: e,
      });
    throw e;
  }
  return { registry, backupUri, championFrom, skipped, written: true };
}

type Existing =
  | { readonly state: 'missing' }
  | { readonly state: 'readable'; readonly etag: string; readonly bytes: Uint8Array; readonly registry: Registry }
  | { readonly state: 'unreadable'; readonly etag: string; readonly bytes: Uint8Array };

async function readExisting(l: BucketLayout): Promise<Existing> {
  const raw = await storeFor(l.registry).readVersioned(l.registry);
  if (!raw) return { state: 'missing' };
  // One naming a location outside the bucket is as unusable as one that does not parse.
  const parsed = await readJsonVersioned(l.registry, registrySchema)
    .then((r) => r && { ...r, value: resolveRegistry(l, r.value) })
    .catch(() => undefined);
  if (parsed) return { state: 'readable', etag: parsed.etag, bytes: raw.data, registry: parsed.value };
  return { state: 'unreadable', etag: raw.etag, bytes: raw.data };
}
