/** The watermark and the model registry: the workflow's only mutable state, both in the bucket. */
import { readJson, writeJson } from './json-store.ts';
import type { BucketLayout } from './layout.ts';
import { registrySchema, watermarkSchema, type Registry, type RegistryEntry, type Watermark } from '../schemas.ts';

export const EMPTY_WATERMARK: Watermark = watermarkSchema.parse({ through: null, runId: null, updatedAt: new Date(0).toISOString() });

export async function readWatermark(l: BucketLayout): Promise<Watermark> {
  return (await readJson(l.watermark, watermarkSchema)) ?? EMPTY_WATERMARK;
}

/**
 * Stores `next` unless the stored watermark is already at or past it: a retried Promote/Reject
 * (or a late, slower run) must never move the watermark backwards.
 */
export async function advanceWatermark(l: BucketLayout, next: Watermark): Promise<Watermark> {
  const current = await readWatermark(l);
  if (current.through !== null && next.through !== null && current.through > next.through) return current;
  if (current.runId !== null && current.runId === next.runId) return current;
  await writeJson(l.watermark, next);
  return next;
}

export async function readRegistry(l: BucketLayout): Promise<Registry> {
  return (await readJson(l.registry, registrySchema)) ?? { formatVersion: 1, champion: null, history: [] };
}

export async function writeRegistry(l: BucketLayout, registry: Registry): Promise<void> {
  await writeJson(l.registry, registry);
}

/** The highest version ever promoted (versions are never reused, even after a rollback). */
export function lastVersion(registry: Registry): number {
  return registry.history.reduce((m, e) => Math.max(m, e.version ?? 0), 0);
}

export function entryForRun(registry: Registry, runId: string): RegistryEntry | undefined {
  return registry.history.find((e) => e.runId === runId);
}
