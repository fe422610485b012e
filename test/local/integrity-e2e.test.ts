/**
 * A corrupted or edited model in the bucket, through `npm start`'s runner (the synthesized
 * retraining state machine run locally): the run fails naming the file, nothing is promoted,
 * serving and the watermark stay where they were (so the next run retries the same days), and
 * the local `wdp invoke` refuses the model.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { invokeLocalChampion } from '../../local/invoke.ts';
import { type LocalPipelineOptions, runLocalPipeline } from '../../local/run-retraining.ts';
import { readJson } from '../../src/workflow/bucket/json-store.ts';
import { layout } from '../../src/workflow/bucket/layout.ts';
import { readRunManifest } from '../../src/workflow/steps/ingest.ts';
import { registrySchema, watermarkSchema } from '../../src/workflow/schemas.ts';
import { servingPointerSchema } from '../../src/workflow/steps/serving-target.ts';
import { trainFromManifest } from '../../src/workflow/steps/train-step.ts';
import { addDays, TEST_THRESHOLDS, writeConfig } from '../helpers/workflow-fixture.ts';

describe('a corrupted or edited model, end to end through the local runner', () => {
  let root: string;
  /** A bucket whose champion is v1 (three days), plus a fourth day not yet used; copied per test. */
  let seed: string;
  let n = 0;
  const run = (dir: string, extra: Partial<LocalPipelineOptions> = {}) =>
    runLocalPipeline({ bucketUri: dir, thresholds: TEST_THRESHOLDS, progress: false, ...extra });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'wdp-integrity-e2e-'));
    seed = join(root, 'seed');
    await writeConfig(seed);
    await addDays(seed, 3);
    const r = await run(seed);
    assert.equal(r.status, 'promoted', JSON.stringify(r.error ?? r.validation));
    await addDays(seed, 1);
  });
  after(() => rm(root, { recursive: true, force: true }));

  /** A copy of the seed bucket; the state documents name the seed's folder, so they are re-pointed. */
  const bucket = async () => {
    const dir = join(root, `b${n++}`);
    await cp(seed, dir, { recursive: true });
    for (const entry of await readdir(dir, { recursive: true })) {
      if (!entry.endsWith('.json') || entry.startsWith('models/')) continue;
      const f = join(dir, entry);
      await writeFile(f, (await readFile(f, 'utf8')).replaceAll(seed, dir));
    }
    return { dir, l: layout(dir) };
  };

  /** Why the run failed: the errors of the states that failed or were caught. */
  const why = (r: Awaited<ReturnType<typeof run>>) =>
    r.states
      .map((s) => s.error ?? '')
      .filter(Boolean)
      .join('\n');

  const flipByte = async (file: string) => {
    const bytes = await readFile(file);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    await writeFile(file, bytes);
  };

  /** The run failed and left champion, serving and watermark as they were. */
  const assertNothingMoved = async (l: ReturnType<typeof layout>) => {
    const registry = await readJson(l.registry, registrySchema);
    assert.equal(registry?.champion?.version, 1, 'champion unchanged');
    assert.equal(registry?.history.length, 1, 'no history entry');
    assert.equal((await readJson(l.servingPointer, servingPointerSchema))?.version, 1, 'serving unchanged');
    assert.equal((await readJson(l.watermark, watermarkSchema))?.through, '2026-01-03', 'the watermark did not move');
  };

  it("an edited vocabulary token in the champion's manifest.json: the warm start refuses it, and so does serving", async () => {
    const { dir, l } = await bucket();
    const file = join(l.registryModel(1), 'manifest.json');
    const text = await readFile(file, 'utf8');
    const token = /"tokens": \[\s*"([^"]+)"/.exec(text)?.[1];
    assert.ok(token, 'the champion has a vocabulary');
    await writeFile(file, text.replace(`"${token}"`, `"${token}X"`));

    const r = await run(dir);
    assert.equal(r.status, 'failed');
    assert.match(why(r), /manifest\.json does not match its sha256 in manifest\.sha256/);
    assert.deepEqual(
      r.states.slice(-2).map((s) => s.name),
      ['NotifyFailure', 'Failed'],
    );
    await assertNothingMoved(l);
    await assert.rejects(invokeLocalChampion({ bucketUri: dir }), /manifest\.json does not match its sha256/);
  });

  it("a flipped byte in the champion's tower weights: the warm start refuses it, naming the file", async () => {
    const { dir, l } = await bucket();
    await flipByte(join(l.registryModel(1), 'tower.safetensors'));
    const r = await run(dir);
    assert.equal(r.status, 'failed');
    assert.match(why(r), /tower\.safetensors is corrupted: its sha256 does not match the manifest/);
    await assertNothingMoved(l);
  });

  it('a candidate whose serving file is corrupted after training is not promoted: Validate refuses it, naming the file', async () => {
    const { dir, l } = await bucket();
    const r = await run(dir, {
      overrides: {
        // The real training step, then one flipped byte in the file only serving reads.
        Train: async (input) => {
          const { manifestUri } = (input as { Parameters: { manifestUri: string } }).Parameters;
          const t = await trainFromManifest({ manifestUri, progress: false });
          await flipByte(join((await readRunManifest(manifestUri)).candidateUri, 'serving.safetensors'));
          return { JobId: `local-${t.runId}`, Status: 'SUCCEEDED' };
        },
      },
    });
    assert.equal(r.status, 'failed', JSON.stringify(r.validation));
    assert.match(why(r), /serving\.safetensors is corrupted: its sha256 does not match the manifest/);
    assert.ok(r.states.some((s) => s.name === 'Validate'));
    assert.ok(!r.states.some((s) => s.name === 'Promote'));
    await assertNothingMoved(l);

    // The next run trains a new candidate on the same day: nothing is lost.
    const next = await run(dir);
    assert.equal(next.status, 'promoted', JSON.stringify(next.error ?? next.validation));
    assert.deepEqual(next.ingest?.hasNewData && next.ingest.holdoutPartitions, ['2026-01-04']);
  });
});
