/** Registry documents for tests that only need a registry to name a version and its model. */
import { writeFile } from 'node:fs/promises';
import type { RegistryEntry } from '../../src/workflow/schemas.ts';

/** A promoted history entry: version `version` is model `modelId` at `uri` (no metrics, no data). */
export function promotedEntry(uri: string, version: number, modelId = `m${version}`): RegistryEntry {
  return {
    version,
    status: 'promoted',
    runId: `run-${version}`,
    modelId,
    uri,
    candidateUri: uri,
    parentVersion: null,
    parentModelId: null,
    metrics: {},
    reasons: [],
    data: { train: [], holdout: [] },
    reportUri: uri,
    lambdaVersion: null,
    at: '2026-01-01T00:00:00.000Z',
  };
}

/** Writes registry.json at `path` whose champion and only entry is `version` = `modelId` at `uri`. */
export async function writeOneVersionRegistry(path: string, uri: string, version: number, modelId: string): Promise<string> {
  const registry = { formatVersion: 1, champion: { version, uri, modelId }, history: [promotedEntry(uri, version, modelId)] };
  await writeFile(path, JSON.stringify(registry));
  return path;
}
