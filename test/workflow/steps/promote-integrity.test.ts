/**
 * Promote copies the candidate into the registry file by file, checking each against the
 * candidate's manifest (copyModelFiles): a candidate corrupted after Validate is never promoted.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ModelLoadError } from '../../../src/model/errors.ts';
import { readManifest } from '../../../src/model/manifest.ts';
import { readJson } from '../../../src/workflow/bucket/json-store.ts';
import { layout } from '../../../src/workflow/bucket/layout.ts';
import { registrySchema } from '../../../src/workflow/schemas.ts';
import { promoteRun } from '../../../src/workflow/steps/promote.ts';
import type { ServingTarget } from '../../../src/workflow/steps/serving-target.ts';
import { TINY_CONFIG } from '../../helpers/tiny-data.ts';
import { stageValidatedRun } from '../../helpers/workflow-fixture.ts';
import { saveTinyModel } from '../../helpers/tiny-model.ts';

let bucket: string;
before(async () => {
  bucket = await mkdtemp(join(tmpdir(), 'wdp-promote-integrity-'));
});
after(() => rm(bucket, { recursive: true, force: true }));

/** A passed run whose candidate is a tiny saved model; returns the run manifest's URI. */
async function stagePassedRun(runId: string): Promise<{ manifestUri: string; candidateUri: string }> {
  const l = layout(bucket);
  const candidateUri = l.candidate(runId);
  await saveTinyModel(join(candidateUri, '..'), runId, { modelId: runId });
  const manifestUri = await stageValidatedRun(bucket, { runId, candidateUri, config: { ...TINY_CONFIG } });
  return { manifestUri, candidateUri };
}

test('a candidate whose wide.safetensors was corrupted after Validate is not promoted: the copy names the file', async () => {
  const { manifestUri, candidateUri } = await stagePassedRun('run-bad');
  const f = join(candidateUri, 'wide.safetensors');
  const bytes = await readFile(f);
  bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
  await writeFile(f, bytes);
  const pointed: string[] = [];
  const serving: ServingTarget = {
    name: 'test',
    point: async (model) => {
      pointed.push(model.uri);
      return { lambdaVersion: null, changed: true };
    },
  };
  await assert.rejects(
    promoteRun({ manifestUri, serving }),
    (e: unknown) => e instanceof ModelLoadError && /wide\.safetensors is corrupted: its sha256 does not match the manifest/.test(e.message),
  );
  const l = layout(bucket);
  assert.deepEqual(pointed, [], 'serving was not pointed at anything');
  await assert.rejects(readManifest(l.registryModel(1)), ModelLoadError, 'nothing loadable in the registry');
  await assert.rejects(readFile(l.registry), { code: 'ENOENT' });
});

test('a sound candidate is copied with its digest, and the copy loads', async () => {
  const { manifestUri, candidateUri } = await stagePassedRun('run-good');
  const serving: ServingTarget = { name: 'test', point: async () => ({ lambdaVersion: null, changed: true }) };
  const r = await promoteRun({ manifestUri, serving });
  assert.equal(await readFile(join(r.modelUri, 'manifest.sha256'), 'utf8'), await readFile(join(candidateUri, 'manifest.sha256'), 'utf8'));
  assert.equal((await readManifest(r.modelUri)).modelId, 'run-good');
});

test('a Promote that failed after claiming v1 does not wedge the next one: it takes v2 and the registry starts there', async () => {
  // The tests above share one bucket: 'run-bad' claimed v1 and failed its copy (no manifest there).
  const l = layout(bucket);
  const registry = await readJson(l.registry, registrySchema);
  assert.ok(registry, 'the sound run wrote a registry');
  assert.deepEqual(
    registry.history.map((e) => [e.runId, e.version]),
    [['run-good', 2]],
  );
  await assert.rejects(readManifest(l.registryModel(1)), ModelLoadError);
});
