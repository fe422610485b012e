import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LambdaClient, PublishVersionCommand, UpdateAliasCommand, UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createPromoteHandler } from '../../../lambdas/promote.ts';
import { createRejectHandler } from '../../../lambdas/reject.ts';
import { layout } from '../../../src/workflow/bucket/layout.ts';
import type { PromoteResult, RunManifest } from '../../../src/workflow/schemas.ts';
import { LambdaServingTarget } from '../../../src/workflow/steps/serving-target.ts';
import { type FakeScoringLambda, fakeScoringLambda } from '../../helpers/fake-scoring-lambda.ts';
import { mockS3Memory, type MemoryBucket } from '../../helpers/s3-memory.ts';
import { addDays, stageTrainedRun } from '../../helpers/workflow-fixture.ts';

const BUCKET = 's3://wdp-promote';
const l = layout(BUCKET);

/** A tiny trained candidate (warm-started from the champion), its run manifest and a validation report, all in the mocked bucket. */
const stageRun = (runId: string, passed: boolean, champion: RunManifest['champion'] = null) =>
  stageTrainedRun(BUCKET, runId, { passed, champion, warmStart: true });

describe('Promote and Reject handlers (S3 and Lambda mocked with aws-sdk-client-mock)', () => {
  let s3: MemoryBucket;
  const lambda = mockClient(LambdaClient);
  /** The scoring function as the mock sees it: published versions and where `live` points. */
  let fn: FakeScoringLambda;

  beforeEach(async () => {
    s3 = mockS3Memory();
    fn = fakeScoringLambda(lambda, { WDP_MODEL_URI: '', OTHER: 'kept' });
    await addDays(BUCKET, 2, { rowsPerDay: 800 });
  });
  afterEach(() => s3.restore());

  const promote = (manifestUri: string) =>
    createPromoteHandler({
      serving: new LambdaServingTarget({ functionName: 'wdp-score', client: new LambdaClient({ region: 'us-east-1' }), pollIntervalMs: 1 }),
    })({ manifestUri }) as Promise<PromoteResult>;

  it('records v1 in the registry, publishes a version with the model (URI, version and model id) and moves alias live, then advances the watermark', async () => {
    const manifestUri = await stageRun('run-1', true);
    const r = await promote(manifestUri);
    assert.equal(r.version, 1);
    assert.equal(r.modelUri, l.registryModel(1));
    assert.equal(r.lambdaVersion, '2');
    assert.equal(fn.live, '2');
    assert.deepEqual(fn.versions.get('2'), {
      WDP_MODEL_URI: l.registryModel(1),
      WDP_MODEL_VERSION: 'v1',
      WDP_MODEL_ID: 'run-1',
      OTHER: 'kept',
    });
    assert.equal(fn.versions.get('1')!.WDP_MODEL_URI, '', 'the previous version stays for rollback');
    const registry = JSON.parse(s3.text(l.registry)!);
    assert.deepEqual(registry.champion, { version: 1, uri: l.registryModel(1), modelId: 'run-1' });
    assert.equal(registry.history.length, 1);
    assert.equal(registry.history[0].status, 'promoted');
    assert.deepEqual(registry.history[0].data, { train: ['2026-01-01'], holdout: ['2026-01-02'] });
    assert.ok(s3.text(`${l.registryModel(1)}/manifest.json`), 'the model is copied into the registry');
    assert.equal(JSON.parse(s3.text(l.watermark)!).through, '2026-01-02');
    // S3 request shapes: the version is claimed create-only, the state documents are created create-only.
    const put = (uri: string) => s3.puts().find((p) => `s3://${p.Bucket}/${p.Key}` === uri);
    assert.equal(put(l.versionClaim(1))?.IfNoneMatch, '*');
    assert.equal(put(l.registry)?.IfNoneMatch, '*');
    assert.equal(put(l.watermark)?.IfNoneMatch, '*');
  });

  it('is idempotent: a re-run publishes nothing and adds no history', async () => {
    const manifestUri = await stageRun('run-1', true);
    await promote(manifestUri);
    const calls = lambda.commandCalls(PublishVersionCommand).length;
    const again = await promote(manifestUri);
    assert.equal(again.alreadyPromoted, true);
    assert.equal(again.version, 1);
    assert.equal(lambda.commandCalls(PublishVersionCommand).length, calls);
    assert.equal(JSON.parse(s3.text(l.registry)!).history.length, 1);
  });

  it('records the parent version of a warm-started candidate', async () => {
    await promote(await stageRun('run-1', true));
    const champion = { version: 1, uri: l.registryModel(1), modelId: 'run-1' };
    const r = await promote(await stageRun('run-2', true, champion));
    assert.equal(r.version, 2);
    assert.equal(r.parentVersion, 1);
    assert.equal(fn.live, '3');
    // The second promotion replaces the registry only at the version it read (compare-and-swap).
    const registryPuts = s3.puts().filter((p) => `s3://${p.Bucket}/${p.Key}` === l.registry);
    assert.equal(registryPuts.length, 2);
    assert.match(String(registryPuts[1]!.IfMatch), /.+/);
  });

  it('refuses to promote a candidate that failed validation', async () => {
    await assert.rejects(promote(await stageRun('run-bad', false)), /did not pass validation/);
    assert.equal(lambda.commandCalls(UpdateAliasCommand).length, 0);
  });

  it('Reject records the reasons, leaves champion and alias alone, advances the watermark, and is idempotent', async () => {
    await promote(await stageRun('run-1', true));
    const manifestUri = await stageRun('run-bad', false, { version: 1, uri: l.registryModel(1), modelId: 'run-1' });
    const r = await createRejectHandler()({ manifestUri });
    assert.deepEqual(r.reasons, ['min_auc: auc 0.5000 fails auc ≥ 0.6']);
    const again = await createRejectHandler()({ manifestUri });
    assert.equal(again.alreadyRecorded, true);
    const registry = JSON.parse(s3.text(l.registry)!);
    assert.equal(registry.champion.version, 1);
    assert.deepEqual(
      registry.history.map((e: { status: string }) => e.status),
      ['promoted', 'rejected'],
    );
    assert.equal(fn.live, '2');
  });

  it('moves the alias only from the revision it read: UpdateAlias carries that RevisionId', async () => {
    await promote(await stageRun('run-1', true));
    const call = lambda.commandCalls(UpdateAliasCommand)[0]!.args[0].input;
    assert.deepEqual(call, { FunctionName: 'wdp-score', Name: 'live', FunctionVersion: '2', RevisionId: 'rev-1' });
  });

  it('a concurrent alias move between GetAlias and UpdateAlias fails the promotion instead of overwriting it', async () => {
    const manifestUri = await stageRun('run-1', true);
    // Someone (another run, an operator's rollback) moves the alias while this Promote publishes.
    lambda.on(PublishVersionCommand).callsFake(() => {
      const published = fn.publish();
      fn.revision++;
      return published;
    });
    await assert.rejects(promote(manifestUri), /moved by someone else .*not overwriting it/);
    assert.equal(fn.live, '1', 'the alias stays where the other writer left it');
    assert.equal(s3.text(l.registry), undefined, 'no registry entry for a model that does not serve');
  });

  it("a version published with another run's environment ($LATEST changed after the update) is never made live", async () => {
    const manifestUri = await stageRun('run-1', true);
    lambda.on(PublishVersionCommand).callsFake(() => {
      // Someone updates $LATEST between this Promote's update and its publish.
      fn.latestEnv = { ...fn.latestEnv, WDP_MODEL_URI: 's3://other-run/model' };
      return fn.publish();
    });
    await assert.rejects(promote(manifestUri), /carries WDP_MODEL_URI=s3:\/\/other-run\/model, not .*the alias was not moved/);
    assert.equal(fn.live, '1');
  });

  it('updates $LATEST only from the configuration it read: UpdateFunctionConfiguration carries its RevisionId', async () => {
    fn.functionRevisionId = 'fn-rev-7';
    await promote(await stageRun('run-1', true));
    assert.equal(lambda.commandCalls(UpdateFunctionConfigurationCommand)[0]!.args[0].input.RevisionId, 'fn-rev-7');
  });

  it('refuses to move the alias away from a model that is not the registry champion', async () => {
    await promote(await stageRun('run-1', true));
    // An operator points live at a version the registry does not name.
    fn.versions.set('9', { WDP_MODEL_URI: 's3://elsewhere/model', OTHER: 'kept' });
    fn.live = '9';
    const champion = { version: 1, uri: l.registryModel(1), modelId: 'run-1' };
    await assert.rejects(
      promote(await stageRun('run-2', true, champion)),
      /serves s3:\/\/elsewhere\/model but the registry's champion is .*v1/,
    );
    assert.equal(fn.live, '9');
  });
});
