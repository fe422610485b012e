import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createIngestHandler } from '../../../lambdas/ingest.ts';
import { createValidateHandler } from '../../../lambdas/validate.ts';
import { readManifest, trainingHistory } from '../../../src/model/manifest.ts';
import { storeFor } from '../../../src/storage/index.ts';
import { readJson, writeJson } from '../../../src/workflow/bucket/json-store.ts';
import { layout } from '../../../src/workflow/bucket/layout.ts';
import { runManifestSchema } from '../../../src/workflow/schemas.ts';
import { trainFromManifest } from '../../../src/workflow/steps/train-step.ts';
import { addDays, smallConfig, TEST_THRESHOLDS, writeConfig } from '../../helpers/workflow-fixture.ts';

test('the Train step validates on a hashed share of the training days and early-stops when the config asks', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wdp-train-step-'));
  try {
    const cfg = smallConfig() as { training: Record<string, unknown> };
    cfg.training = {
      ...cfg.training,
      epochs: 4,
      validation: { kind: 'hash', fraction: 0.2 },
      earlyStopping: { metric: 'logloss', patience: 1 },
    };
    const configUri = layout(dir).config;
    await storeFor(configUri).write(configUri, JSON.stringify(cfg));
    await addDays(dir, 2, { rowsPerDay: 1000 });
    const ingest = await createIngestHandler({ bucketUri: dir })({ executionName: 'v' });
    assert.ok(ingest.hasNewData);
    const r = await trainFromManifest({ manifestUri: ingest.manifestUri, progress: false });
    const manifest = await readManifest(r.candidateUri);
    const history = trainingHistory(manifest);
    const curve = history.validationCurve!;
    assert.ok(curve.length >= 1 && curve.length <= 4, `${curve.length} validation passes`);
    assert.equal(history.bestEpoch, r.bestEpoch);
    const best = curve[r.bestEpoch! - 1]!;
    assert.equal(Math.min(...curve.map((p) => p.logloss)), best.logloss, 'the kept epoch has the lowest validation logloss');
    // The validation share (by impression id) is not trained on: day 1 alone has 1000 rows.
    assert.ok(manifest.trainedOn.rows < 1000 * 0.9 && manifest.trainedOn.rows > 1000 * 0.7, `${manifest.trainedOn.rows} rows trained`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("Train and Validate refuse a champion folder that holds another model than the registry's champion (folders swapped by hand)", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wdp-train-step-swap-'));
  try {
    await writeConfig(dir);
    await addDays(dir, 2, { rowsPerDay: 300 });
    const l = layout(dir);
    const ingest = await createIngestHandler({ bucketUri: dir })({ executionName: 'first' });
    assert.ok(ingest.hasNewData);
    const first = await trainFromManifest({ manifestUri: ingest.manifestUri, progress: false });
    // The registry's v1 is model 'the-v1-model', but its folder holds the first run's model: the
    // warm start and the champion's metrics would silently be another model's.
    const run = runManifestSchema.parse(await readJson(ingest.manifestUri, runManifestSchema));
    const champion = { version: 1, uri: first.candidateUri, modelId: 'the-v1-model' };
    const stage = async (runId: string, candidateUri: string) => {
      await writeJson(l.runManifest(runId), { ...run, runId, candidateUri, champion });
      return l.runManifest(runId);
    };
    const named = new RegExp(`v1 is model the-v1-model, but ${first.candidateUri} holds model ${first.modelId}`);
    const train = await stage('second', l.candidate('second'));
    await assert.rejects(trainFromManifest({ manifestUri: train, progress: false }), named);
    assert.equal(await storeFor(l.candidate('second')).stat(`${l.candidate('second')}/manifest.json`), undefined, 'nothing trained');
    // Validate of a candidate against that champion fails the run (no verdict, no day held).
    const validate = await stage('third', first.candidateUri);
    await assert.rejects(createValidateHandler({ thresholds: TEST_THRESHOLDS })({ manifestUri: validate }), named);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
