/**
 * `wdp models promote|rollback --remote` against the deployed shape, with S3, Lambda and
 * CloudFormation mocked by aws-sdk-client-mock: the alias moves first and the registry is written
 * after it, and a failure on either side of that leaves a state the message tells how to finish.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { LambdaClient, PublishVersionCommand } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { layout } from '../../src/workflow/bucket/layout.ts';
import { type RunManifest, registrySchema } from '../../src/workflow/schemas.ts';
import { promoteRun } from '../../src/workflow/steps/promote.ts';
import { LambdaServingTarget } from '../../src/workflow/steps/serving-target.ts';
import { type FakeScoringLambda, fakeScoringLambda } from '../helpers/fake-scoring-lambda.ts';
import { type MemoryBucket, mockS3Memory } from '../helpers/s3-memory.ts';
import { addDays, stageTrainedRun } from '../helpers/workflow-fixture.ts';
import { wdpJson } from '../helpers/cli-json.ts';

const BUCKET = 's3://wdp-models-remote';
const l = layout(BUCKET);

/** Runs `wdp …args --remote --json` and parses stdout. */
async function wdp(...args: string[]): Promise<unknown> {
  return wdpJson([...args, '--remote', '--json']);
}

describe('wdp models --remote (S3, Lambda and CloudFormation mocked)', () => {
  let s3: MemoryBucket;
  const lambda = mockClient(LambdaClient);
  const cfn = mockClient(CloudFormationClient);
  /** The scoring function as the mock sees it: published versions and where `live` points. */
  let fn: FakeScoringLambda;
  /** What happened, in order: Lambda calls that move serving, and each registry write (seen at the next Lambda call or the end). */
  let events: string[];

  const registryPuts = () => s3.puts().filter((p) => `s3://${p.Bucket}/${p.Key}` === l.registry).length;
  const registry = () => registrySchema.parse(JSON.parse(s3.text(l.registry)!));

  beforeEach(async () => {
    s3 = mockS3Memory();
    cfn.reset();
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'Wdp',
          CreationTime: new Date(0),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'BucketName', OutputValue: 'wdp-models-remote' },
            { OutputKey: 'ScoringFunctionName', OutputValue: 'wdp-score' },
          ],
        },
      ],
    });
    events = [];
    fn = fakeScoringLambda(lambda, { WDP_MODEL_URI: '' });
    fn.onEvent = (e) => events.push(`${e} (registry writes so far: ${registryPuts()})`);

    // Two promotions by the Promote step: v1, then v2 warm-started from it.
    await addDays(BUCKET, 2, { rowsPerDay: 600 });
    const serving = new LambdaServingTarget({
      functionName: 'wdp-score',
      client: new LambdaClient({ region: 'us-east-1' }),
      pollIntervalMs: 1,
    });
    let champion: RunManifest['champion'] = null;
    for (const runId of ['run-1', 'run-2']) {
      const r = await promoteRun({ manifestUri: await stageTrainedRun(BUCKET, runId, { champion, warmStart: true }), serving });
      champion = { version: r.version, uri: r.modelUri, modelId: r.modelId };
    }
    assert.equal(fn.live, '3');
    events = [];
  });
  afterEach(() => s3.restore());

  it('rollback publishes v1 on the scoring function, moves alias live, and only then writes the registry', async () => {
    const writesBefore = registryPuts();
    const r = (await wdp('models', 'rollback')) as { version: number; from: number; lambdaVersion: string };
    assert.deepEqual([r.version, r.from, r.lambdaVersion], [1, 2, '4']);
    assert.equal(fn.live, '4');
    assert.equal(fn.versions.get('4')!.WDP_MODEL_URI, l.registryModel(1));
    assert.deepEqual(events, [
      `publish 4 (registry writes so far: ${writesBefore})`,
      `alias → 4 (registry writes so far: ${writesBefore})`,
    ]);
    assert.equal(registryPuts(), writesBefore + 1, 'one registry write, after the alias moved');
    assert.ok(
      s3
        .puts()
        .filter((p) => `s3://${p.Bucket}/${p.Key}` === l.registry)
        .at(-1)?.IfMatch,
      'a compare-and-swap write',
    );
    assert.deepEqual(registry().champion, { version: 1, uri: l.registryModel(1), modelId: 'run-1' });
    assert.equal(registry().championLog?.at(-1)?.action, 'rollback');

    const listed = (await wdp('models', 'list')) as { models: { version: number; serving: boolean }[]; disagreement: string | null };
    assert.deepEqual(
      listed.models.map((m) => [m.version, m.serving]),
      [
        [1, true],
        [2, false],
      ],
    );
    assert.equal(listed.disagreement, null);

    const p = (await wdp('models', 'promote', '2')) as { version: number; lambdaVersion: string };
    assert.deepEqual([p.version, p.lambdaVersion], [2, '5']);
    assert.equal(fn.versions.get(fn.live)!.WDP_MODEL_URI, l.registryModel(2));
    assert.equal(registry().champion?.version, 2);
  });

  it('an alias update that fails leaves the registry and alias as they were, and says to run again', async () => {
    const before = s3.text(l.registry);
    fn.failAlias = Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
    await assert.rejects(
      wdp('models', 'rollback'),
      /lambda wdp-score:live was not moved to v1: Rate exceeded\. Nothing that serves changed: the registry still names v2 and serving was not moved; fix the cause and run the command again/,
    );
    assert.equal(fn.live, '3');
    assert.equal(s3.text(l.registry), before, 'the registry is untouched');
    fn.failAlias = null;
    const r = (await wdp('models', 'rollback')) as { version: number };
    assert.equal(r.version, 1);
    assert.equal(fn.versions.get(fn.live)!.WDP_MODEL_URI, l.registryModel(1));
    assert.equal(registry().champion?.version, 1);
  });

  it('a registry write that fails after the alias moved is named, flagged by list, and finished by `promote V`', async () => {
    // Another write lands on the registry right after the alias moves: the compare-and-swap fails.
    fn.afterAlias = () => {
      const key = l.registry.replace(/^s3:\/\//, '');
      s3.objects.set(key, new TextEncoder().encode(JSON.stringify(JSON.parse(s3.text(l.registry)!))));
      fn.afterAlias = null;
    };
    await assert.rejects(
      wdp('models', 'rollback'),
      /lambda wdp-score:live now serves v1 .*but writing the registry failed: .*The registry still names v2; run `wdp models promote 1` to finish/s,
    );
    assert.equal(fn.versions.get(fn.live)!.WDP_MODEL_URI, l.registryModel(1), 'serving moved');
    assert.equal(registry().champion?.version, 2, 'the registry did not');
    const listed = (await wdp('models', 'list')) as { disagreement: string | null };
    assert.match(listed.disagreement ?? '', /lambda wdp-score:live serves .*v1 but the registry's champion is v2 .*`wdp models promote 1`/);

    const published = lambda.commandCalls(PublishVersionCommand).length;
    const r = (await wdp('models', 'promote', '1')) as { version: number; from: number };
    assert.deepEqual([r.version, r.from], [1, 2]);
    assert.equal(lambda.commandCalls(PublishVersionCommand).length, published, 'serving was already there: nothing published');
    assert.equal(registry().champion?.version, 1);
    assert.equal(((await wdp('models', 'list')) as { disagreement: string | null }).disagreement, null);
  });
});
