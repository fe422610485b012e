/**
 * Promote killed or failing part way (folder bucket), and a run whose champion moved under it.
 * Before the fix: a Promote killed after its registry write left the watermark behind, so the
 * next run trained the same days again into a new version; a kill between the serving move and
 * the registry write made every later Promote fail with ServingMismatchError; a run validated
 * against v1 promoted over a v2 that another run had made champion meanwhile.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readJson, writeJson } from '../../../src/workflow/bucket/json-store.ts';
import { layout } from '../../../src/workflow/bucket/layout.ts';
import { readWatermark } from '../../../src/workflow/bucket/state.ts';
import { registrySchema, watermarkSchema, type RunManifest } from '../../../src/workflow/schemas.ts';
import { readEffectiveWatermark } from '../../../src/workflow/steps/days.ts';
import { ChampionChangedError, promoteRun } from '../../../src/workflow/steps/promote.ts';
import { FileServingTarget, servingPointerSchema, type ServingTarget } from '../../../src/workflow/steps/serving-target.ts';
import { stageTrainedRun, tempLogBuckets } from '../../helpers/workflow-fixture.ts';

const newBucket = tempLogBuckets('wdp-promote-crash-');

/**
 * A trained candidate with a passing report, validated against `champion`, whose promotion moves
 * the watermark to `through` with `trained` no longer untrained.
 */
const stageRun = (bucket: string, runId: string, champion: RunManifest['champion'], through: string) =>
  stageTrainedRun(bucket, runId, { champion, through });

const serving = (bucket: string) => new FileServingTarget(layout(bucket).servingPointer);
const championOf = async (bucket: string) => (await readJson(layout(bucket).registry, registrySchema))?.champion ?? null;

describe('Promote killed part way, and the champion moving under a run', () => {
  it('killed after the registry write: the next run starts from the watermark the registry implies (no day trained twice)', async () => {
    const bucket = await newBucket();
    const l = layout(bucket);
    await promoteRun({ manifestUri: await stageRun(bucket, 'run-1', null, '2026-01-02'), serving: serving(bucket) });
    const before = await readWatermark(l);
    const v1 = await championOf(bucket);
    // run-2 promotes v2; "killed" before its watermark write: put back the watermark it replaced.
    await promoteRun({ manifestUri: await stageRun(bucket, 'run-2', v1, '2026-01-03'), serving: serving(bucket) });
    await writeJson(l.watermark, before);

    assert.equal((await readWatermark(l)).runId, 'run-1', 'as stored: behind the registry');
    const effective = await readEffectiveWatermark(l);
    assert.equal(effective.runId, 'run-2');
    assert.equal(effective.through, '2026-01-03', "run-2's days count as trained: Ingest does not pick them again");
    assert.deepEqual(effective.untrained, ['2026-01-03']);
  });

  it('a watermark write that fails after the registry write does not fail the promoted run', async () => {
    const bucket = await newBucket();
    const l = layout(bucket);
    // A folder where the watermark file should be: every read and write of it fails.
    await mkdir(l.watermark, { recursive: true });
    const r = await promoteRun({ manifestUri: await stageRun(bucket, 'run-1', null, '2026-01-02'), serving: serving(bucket) });
    assert.equal(r.version, 1);
    assert.equal((await championOf(bucket))?.version, 1);
  });

  it('refuses, writing nothing, when the champion is no longer the one the run was validated against', async () => {
    const bucket = await newBucket();
    const l = layout(bucket);
    await promoteRun({ manifestUri: await stageRun(bucket, 'run-1', null, '2026-01-02'), serving: serving(bucket) });
    const v1 = await championOf(bucket);
    const [a, b] = [await stageRun(bucket, 'run-a', v1, '2026-01-03'), await stageRun(bucket, 'run-b', v1, '2026-01-03')];
    await promoteRun({ manifestUri: a, serving: serving(bucket) });
    const registryBefore = await readJson(l.registry, registrySchema);
    const watermarkBefore = await readWatermark(l);

    await assert.rejects(
      promoteRun({ manifestUri: b, serving: serving(bucket) }),
      (e: unknown) => e instanceof ChampionChangedError && /champion is v2 .*validated against v1/.test(String(e)),
    );
    assert.deepEqual(await readJson(l.registry, registrySchema), registryBefore, 'registry unchanged');
    assert.deepEqual(await readWatermark(l), watermarkBefore, 'watermark unchanged');
    assert.equal((await readJson(l.servingPointer, servingPointerSchema))?.version, 2, 'v2 still serves');
    assert.deepEqual((await readdir(join(bucket, 'models/registry'))).sort(), ['v1', 'v2'], 'no version claimed');
  });

  it('killed between the serving move and the registry write: the next Promote finishes it, then refuses its own stale candidate', async () => {
    const bucket = await newBucket();
    const l = layout(bucket);
    await promoteRun({ manifestUri: await stageRun(bucket, 'run-1', null, '2026-01-02'), serving: serving(bucket) });
    const v1 = await championOf(bucket);
    // Serving moves, then the process dies before the registry write.
    const dies: ServingTarget = {
      name: 'dies after moving',
      point: async (model, o) => {
        await serving(bucket).point(model, o);
        throw new Error('killed');
      },
    };
    await assert.rejects(promoteRun({ manifestUri: await stageRun(bucket, 'run-2', v1, '2026-01-03'), serving: dies }), /killed/);
    assert.equal((await championOf(bucket))?.version, 1);
    assert.equal((await readJson(l.servingPointer, servingPointerSchema))?.version, 2);

    // The next run was validated against v1 (the registry's champion at its Ingest).
    await assert.rejects(
      promoteRun({ manifestUri: await stageRun(bucket, 'run-3', v1, '2026-01-03'), serving: serving(bucket) }),
      (e: unknown) => e instanceof ChampionChangedError && /run run-2's Promote .* now finished/.test(String(e)),
    );
    const registry = await readJson(l.registry, registrySchema);
    assert.equal(registry?.champion?.version, 2);
    assert.deepEqual(
      registry?.history.map((h) => [h.runId, h.version]),
      [
        ['run-1', 1],
        ['run-2', 2],
      ],
    );
    const w = await readJson(l.watermark, watermarkSchema);
    assert.equal(w?.runId, 'run-2', "run-2's watermark, not run-3's");
    // And the next Promote over v2 goes through.
    const next = await promoteRun({
      manifestUri: await stageRun(bucket, 'run-4', registry!.champion, '2026-01-04'),
      serving: serving(bucket),
    });
    assert.equal(next.version, 4, 'v3 stays claimed by run-3 and unused');
  });

  it('a temp file and a lock file left by a killed writer do not stop the next registry write', async () => {
    const bucket = await newBucket();
    await promoteRun({ manifestUri: await stageRun(bucket, 'run-1', null, '2026-01-02'), serving: serving(bucket) });
    const dir = join(bucket, 'registry');
    // pid 2^22+1 is above any pid_max: no such process.
    await writeFile(join(dir, '.registry.json.wdp-tmp-lock'), `${2 ** 22 + 1}@${hostname()}`);
    const temp = join(dir, '.registry.json.wdp-tmp-0123456789ab');
    await writeFile(temp, '{"formatVersion":');
    const longAgo = new Date(Date.now() - 3600_000);
    await utimes(temp, longAgo, longAgo);
    const started = Date.now();
    const r = await promoteRun({
      manifestUri: await stageRun(bucket, 'run-2', await championOf(bucket), '2026-01-03'),
      serving: serving(bucket),
    });
    assert.equal(r.version, 2);
    assert.ok(Date.now() - started < 10_000, 'the dead writer is not waited for');
    assert.deepEqual(await readdir(dir), ['registry.json']);
  });
});
