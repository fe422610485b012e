/**
 * Two promotions at once, and a lost registry, on a folder bucket (the folder store honours
 * conditional writes as S3 does). Before claims and compare-and-swap, both promotions returned v2
 * and one history entry survived; a missing registry made the next promotion "reuse" v1.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { storeFor } from '../../../src/storage/index.ts';
import { readJson, writeJson } from '../../../src/workflow/bucket/json-store.ts';
import { layout } from '../../../src/workflow/bucket/layout.ts';
import { readRegistry } from '../../../src/workflow/bucket/state.ts';
import { registrySchema, type RunManifest } from '../../../src/workflow/schemas.ts';
import { promoteRun } from '../../../src/workflow/steps/promote.ts';
import { z } from 'zod';
import { FileServingTarget, servingPointerSchema } from '../../../src/workflow/steps/serving-target.ts';
import { stageTrainedRun, tempLogBuckets } from '../../helpers/workflow-fixture.ts';

// Local shapes, so this file also runs on the code from before the fix (to see it fail there).
const versionClaimSchema = z.object({ modelId: z.string() }).passthrough();
const claimUri = (bucket: string, v: number) => `${layout(bucket).registryModel(v)}/claim.json`;
const manifestModelId = async (uri: string) => (await readJson(`${uri}/manifest.json`, versionClaimSchema))?.modelId;

const newBucket = tempLogBuckets('wdp-promote-race-');

/** A trained candidate with a passing report and its run manifest. */
const stageRun = (bucket: string, runId: string, champion: RunManifest['champion'] = null) => stageTrainedRun(bucket, runId, { champion });

const promote = (bucket: string, manifestUri: string) =>
  promoteRun({ manifestUri, serving: new FileServingTarget(layout(bucket).servingPointer) });

describe('Promote under faults (folder bucket)', () => {
  it('two promotions at once: one wins, the other fails naming the conflict; no version is shared or lost', async () => {
    const bucket = await newBucket();
    const l = layout(bucket);
    const [a, b] = [await stageRun(bucket, 'run-a'), await stageRun(bucket, 'run-b')];
    const results = await Promise.allSettled([promote(bucket, a), promote(bucket, b)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    assert.equal(won.length, 1, `exactly one promotion wins: ${JSON.stringify(results.map((r) => r.status))}`);
    assert.match(String((lost[0] as PromiseRejectedResult).reason), /another writer|moved by someone else|serves .* but the registry/);
    const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof promote>>>).value;
    const registry = await readRegistry(l);
    assert.equal(registry?.history.length, 1);
    assert.deepEqual(registry?.champion, { version: winner.version, uri: winner.modelUri, modelId: winner.modelId });
    const pointer = await readJson(l.servingPointer, servingPointerSchema);
    assert.equal(pointer?.modelId, winner.modelId, 'serving names the registry champion');
    // Each version folder belongs to exactly one model: the two runs claimed different numbers.
    const claims = [await readJson(claimUri(bucket, 1), versionClaimSchema), await readJson(claimUri(bucket, 2), versionClaimSchema)];
    assert.deepEqual(claims.map((c) => c?.modelId).sort(), ['run-a', 'run-b']);
    assert.equal(await manifestModelId(winner.modelUri), winner.modelId, 'the champion folder holds the champion model');
  });

  it('a missing registry while v1 exists is an error naming the repair, and v1 is not reused for a new model', async () => {
    const bucket = await newBucket();
    const l = layout(bucket);
    const first = await promote(bucket, await stageRun(bucket, 'run-1'));
    assert.equal(first.version, 1);
    await storeFor(l.registry).delete(l.registry);
    const second = await stageRun(bucket, 'run-2');
    await assert.rejects(promote(bucket, second), /registry .*registry\.json is missing .*v1.*wdp registry rebuild/s);
    assert.equal(await manifestModelId(l.registryModel(1)), 'run-1', 'v1 still holds the first model');
    assert.equal((await readJson(l.servingPointer, servingPointerSchema))?.modelId, 'run-1', 'serving did not move');
  });

  it('a stale registry (behind the folders) takes the next free version instead of reusing one', async () => {
    const bucket = await newBucket();
    const l = layout(bucket);
    await promote(bucket, await stageRun(bucket, 'run-1'));
    const registry = await readRegistry(l);
    // A registry restored from an old backup: it knows no version, though v1 exists.
    await writeJson(l.registry, { ...registry, history: [], champion: registry?.champion ?? null });
    const r = await promote(bucket, await stageRun(bucket, 'run-2', registry?.champion ?? null));
    assert.equal(r.version, 2);
    assert.equal(await manifestModelId(l.registryModel(2)), 'run-2');
    assert.equal(await manifestModelId(l.registryModel(1)), 'run-1');
  });

  it('the local pointer moves only from the registry champion: a pointer changed by hand stops the promotion', async () => {
    const bucket = await newBucket();
    const l = layout(bucket);
    const first = await promote(bucket, await stageRun(bucket, 'run-1'));
    await writeJson(l.servingPointer, { modelUri: l.registryModel(7), version: 7, modelId: 'hand-made', at: new Date().toISOString() });
    const champion = { version: first.version, uri: first.modelUri, modelId: first.modelId };
    await assert.rejects(
      promote(bucket, await stageRun(bucket, 'run-2', champion)),
      /serves \S*models\/registry\/v7 but the registry's champion is .*v1.*not moving serving/,
    );
    assert.equal((await readJson(l.servingPointer, servingPointerSchema))?.modelId, 'hand-made', 'the pointer is left as found');
    assert.equal((await readJson(l.registry, registrySchema))?.champion?.modelId, 'run-1', 'the registry is unchanged');
  });
});
