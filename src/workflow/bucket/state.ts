/**
 * The watermark and the model registry: the workflow's only mutable state, both in the bucket.
 * Every write is a compare-and-swap on the etag read before it (a create-only write when there was
 * nothing): the run lock normally keeps a second run out, and this is the defence behind it — a
 * write that lost to another writer fails naming the document instead of overwriting it.
 */
import { joinUri, parentUri, storeFor, StoragePreconditionError } from '../../storage/index.ts';
import { WorkflowError } from '../errors.ts';
import { readJson, readJsonVersioned, writeJson } from './json-store.ts';
import { recordRegistry, recordWatermark, resolveRegistry, resolveWatermark } from './keys.ts';
import { layout, PREFIXES, type BucketLayout } from './layout.ts';
import { registrySchema, watermarkSchema, type Registry, type RegistryEntry, type Watermark } from '../schemas.ts';

export const EMPTY_WATERMARK: Watermark = watermarkSchema.parse({ through: null, runId: null, updatedAt: new Date(0).toISOString() });
export const EMPTY_REGISTRY: Registry = { formatVersion: 1, champion: null, history: [] };

/** A state document lost a compare-and-swap: someone else wrote it between our read and write. */
export class StateConflictError extends WorkflowError {}

export async function readWatermark(l: BucketLayout): Promise<Watermark> {
  const stored = await readJson(l.watermark, watermarkSchema);
  return stored ? resolveWatermark(l, stored) : EMPTY_WATERMARK;
}

/**
 * Stores `next` unless the stored watermark is already at or past it: a retried Promote/Reject
 * (or a late, slower run) must never move the watermark backwards.
 * @throws StateConflictError when another writer changed the watermark after it was read
 */
export async function advanceWatermark(l: BucketLayout, next: Watermark): Promise<Watermark> {
  const read = await readJsonVersioned(l.watermark, watermarkSchema);
  const current = read ? resolveWatermark(l, read.value) : EMPTY_WATERMARK;
  if (current.through !== null && next.through !== null && current.through > next.through) return current;
  if (current.runId !== null && current.runId === next.runId) return current;
  await casWrite(l.watermark, 'watermark', recordWatermark(l, next), read?.etag);
  return next;
}

/** The registry with the version it was read at (etag undefined: there is none yet). */
export interface VersionedRegistry {
  readonly registry: Registry;
  readonly etag: string | undefined;
}

/**
 * The registry. Missing is only "empty" when no model was ever promoted: a missing or unreadable
 * registry while `models/registry/v*` exist would otherwise drop the champion (warm start, the
 * served model's identity) and reuse version numbers, so it is an error naming the repair.
 */
export async function readRegistryVersioned(l: BucketLayout): Promise<VersionedRegistry> {
  let read: Awaited<ReturnType<typeof readJsonVersioned<typeof registrySchema>>>;
  try {
    const stored = await readJsonVersioned(l.registry, registrySchema);
    read = stored && { ...stored, value: resolveRegistry(l, stored.value) };
  } catch (e) {
    const versions = await promotedVersionFolders(l);
    if (versions.length === 0) throw e;
    throw new WorkflowError(
      `${(e as Error).message} — the registry is unreadable while ${describeVersions(versions)} exist under ${joinUri(l.bucketUri, PREFIXES.registryModels)}: ${REBUILD_HINT}`,
      { cause: e },
    );
  }
  if (read) return { registry: read.value, etag: read.etag };
  const versions = await promotedVersionFolders(l);
  if (versions.length > 0)
    throw new WorkflowError(
      `the registry ${l.registry} is missing while ${describeVersions(versions)} exist under ${joinUri(l.bucketUri, PREFIXES.registryModels)}: refusing to treat it as empty (that would drop the champion and reuse version numbers). ${REBUILD_HINT}`,
    );
  return { registry: EMPTY_REGISTRY, etag: undefined };
}

export const REBUILD_HINT = 'repair it with `wdp registry rebuild` (add --bucket DIR or --remote)';

export async function readRegistry(l: BucketLayout): Promise<Registry> {
  return (await readRegistryVersioned(l)).registry;
}

/**
 * The registry document at `registryUri` (`<bucket>/registry/registry.json`) with its locations
 * resolved against that bucket, as readRegistry gives them; null when it does not exist. For a
 * reader that knows only the document, not the bucket (the scoring Lambda's WDP_REGISTRY_URI): a
 * local bucket's registry records bucket-relative keys (bucket/keys.ts), which, used raw, match no
 * model URI and name a folder under the working directory.
 * @throws as readJson when it is unreadable or invalid; BucketPathError when it names a location outside the bucket
 */
export async function readRegistryDocument(registryUri: string): Promise<Registry | null> {
  const l: BucketLayout = { ...layout(parentUri(parentUri(registryUri))), registry: registryUri };
  const stored = await readJson(registryUri, registrySchema);
  return stored ? resolveRegistry(l, stored) : null;
}

/**
 * Writes the registry if it is still the version read (`etag`), or creates it when there was none.
 * @throws StateConflictError when another writer got there first
 */
export async function writeRegistry(l: BucketLayout, registry: Registry, etag: string | undefined): Promise<void> {
  await casWrite(l.registry, 'registry', recordRegistry(l, registry), etag);
}

async function casWrite(uri: string, what: string, value: unknown, etag: string | undefined): Promise<void> {
  try {
    await writeJson(uri, value, etag === undefined ? { ifNoneMatch: '*' } : { ifMatch: etag });
  } catch (e) {
    if (e instanceof StoragePreconditionError)
      throw new StateConflictError(
        `the ${what} ${uri} was changed by another writer after this step read it; not overwriting it (is another run in progress? see \`wdp lock status\`)`,
        { cause: e },
      );
    throw e;
  }
}

/**
 * Version numbers N with a folder `models/registry/v<N>/`, ascending: by default only those holding
 * a manifest (a promoted copy); `{ any: true }` also counts claimed folders whose copy never finished.
 */
export async function promotedVersionFolders(l: BucketLayout, options: { readonly any?: boolean } = {}): Promise<number[]> {
  const prefix = `${joinUri(l.bucketUri, PREFIXES.registryModels).replace(/\/+$/, '')}/`;
  const found = new Set<number>();
  for (const blob of await storeFor(prefix).list(prefix)) {
    // Only a folder with a manifest holds a promoted model: a version claimed by a Promote whose
    // copy then failed (a corrupted candidate file) is skipped by the next claim, and must not make
    // a first registry look lost and stop every later run.
    const m = (options.any ? /^v(\d+)\// : /^v(\d+)\/manifest\.json$/).exec(blob.uri.slice(prefix.length));
    if (m) found.add(Number(m[1]));
  }
  return [...found].sort((a, b) => a - b);
}

function describeVersions(versions: readonly number[]): string {
  const shown = versions.slice(-5).map((v) => `v${v}`);
  return `${versions.length} promoted model folder${versions.length === 1 ? '' : 's'} (${versions.length > 5 ? '…, ' : ''}${shown.join(', ')})`;
}

/** The highest version ever promoted (versions are never reused, even after a rollback). */
export function lastVersion(registry: Registry): number {
  return registry.history.reduce((m, e) => Math.max(m, e.version ?? 0), 0);
}

export function entryForRun(registry: Registry, runId: string): RegistryEntry | undefined {
  return registry.history.find((e) => e.runId === runId);
}
