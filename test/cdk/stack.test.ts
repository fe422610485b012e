/**
 * Fine-grained assertions on the synthesized template (no snapshots, no hashed logical ids).
 * Synthesized once, template-only (no bundling, no asset staging). cdk-nag runs twice: as the
 * app's validation plugin during synth (its acknowledged findings listed in the validation report,
 * cdk/nag-report.ts), and directly on the construct tree, where cdk-nag applies them itself.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { createWdpApp } from '../../cdk/app.ts';
import { NAG_PACK } from '../../cdk/nag.ts';
import { validationSummary } from '../../cdk/nag-report.ts';
import type { WdpStack } from '../../cdk/wdp-stack.ts';
import { resolveIntrinsics } from '../../cdk/state-machine-definitions.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is walked by key in assertions
type Json = Record<string, any>;

describe('WdpStack', () => {
  let outdir: string;
  let app: App;
  let stack: WdpStack;
  let template: Template;
  let nagReport: Json;
  let retrainingAsl: Json;
  let batchAsl: Json;

  const definitionOf = (logicalPrefix: string): Json => {
    const machines = template.findResources('AWS::StepFunctions::StateMachine');
    const [, res] = Object.entries(machines).find(([id]) => id.startsWith(logicalPrefix))!;
    return JSON.parse(String(resolveIntrinsics(res.Properties.DefinitionString, template.toJSON().Resources, 'bucket'))) as Json;
  };

  before(async () => {
    outdir = await mkdtemp(join(tmpdir(), 'wdp-cdk-'));
    const built = createWdpApp({
      templateOnly: true,
      outdir,
      context: {
        spot: 'true',
        schedule: 'cron(30 3 * * ? *)',
        functionUrl: 'true',
        scoringMemoryMiB: '3008',
        scoringProvisionedConcurrency: '2',
        scoringContextFeatures: 'country,installed_apps',
      },
    });
    app = built.app;
    stack = built.stack;
    app.synth(); // runs cdk-nag; throws if any finding is not acknowledged
    template = Template.fromStack(stack);
    // No fallback: synth with validation plugins always writes this report.
    nagReport = JSON.parse(await readFile(join(outdir, 'validation-report.json'), 'utf8')) as Json;
    retrainingAsl = definitionOf('Retraining');
    batchAsl = definitionOf('BatchScoring');
  });
  after(() => rm(outdir, { recursive: true, force: true }));

  it('passes cdk-nag AwsSolutions with every finding acknowledged', () => {
    const failures = (nagReport.pluginReports as Json[]).filter((p) => p.conclusion === 'failure');
    assert.deepEqual(failures, []);
    const nag = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(app);
    const unacknowledged = nag.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} on ${r.constructPath ?? '?'}`));
    assert.deepEqual(unacknowledged, []);
    assert.equal(nag.success, true);
  });

  it('the validation report shows cdk-nag ran: every finding acknowledged, each with its reason', () => {
    const nag = (nagReport.pluginReports as Json[]).find((p) => p.pluginName === NAG_PACK);
    assert.ok(nag, `no ${NAG_PACK} report among ${(nagReport.pluginReports as Json[]).map((p) => p.pluginName).join(', ')}`);
    assert.equal(nag.conclusion, 'success');
    assert.deepEqual(nag.violations, []);
    const acknowledged = nag.suppressedViolations as Json[];
    assert.ok(acknowledged.length >= 20, `${acknowledged.length} acknowledged findings`);
    for (const a of acknowledged) {
      assert.match(a.ruleName, /^AwsSolutions-/);
      assert.ok(String(a.reason).length > 20, `${a.ruleName}: reason "${a.reason}"`);
    }
    const summary = validationSummary(nagReport as Parameters<typeof validationSummary>[0], 'cdk.out/validation-report.json');
    assert.match(
      summary,
      new RegExp(
        `^  AwsSolutions: success, 0 open findings, ${acknowledged.length} acknowledged with a reason \\(on \\d+ resources\\)$`,
        'm',
      ),
    );
  });

  it('cdk-nag as run above does report a finding nobody acknowledged', () => {
    const probe = new Stack(new App(), 'NagProbe');
    new sns.Topic(probe, 'Plain'); // no enforceSSL: AwsSolutions-SNS3
    const nag = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(probe);
    assert.ok(
      nag.violations.some((v) => v.ruleName === 'AwsSolutions-SNS3'),
      nag.violations.map((v) => v.ruleName).join(', '),
    );
    assert.equal(nag.success, false);
  });

  it('the training job asks for 1 GPU on a g4dn/g5 EC2 compute environment that scales to 0 (Spot by flag)', () => {
    template.hasResourceProperties('AWS::Batch::JobDefinition', {
      Type: 'container',
      ContainerProperties: Match.objectLike({
        ResourceRequirements: Match.arrayWith([{ Type: 'GPU', Value: '1' }]),
        Command: ['train', '--manifest', 'Ref::manifestUri'],
      }),
      RetryStrategy: Match.objectLike({ Attempts: 3 }),
    });
    template.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
      Type: 'managed',
      ComputeResources: Match.objectLike({
        MinvCpus: 0,
        Type: 'SPOT',
        InstanceTypes: ['g4dn.xlarge', 'g5.xlarge'],
        Ec2Configuration: [{ ImageType: 'ECS_AL2_NVIDIA' }],
      }),
    });
  });

  it('Train is a submitJob.sync task with a timeout, Batch retries and a Catch', () => {
    const train = retrainingAsl.States.Train;
    assert.equal(train.Resource, 'arn:aws:states:::batch:submitJob.sync');
    assert.ok(train.TimeoutSeconds > 0);
    assert.ok(train.Parameters.Timeout.AttemptDurationSeconds > 0);
    assert.ok(train.Retry[0].ErrorEquals.includes('Batch.AWSBatchException'));
    assert.equal(train.Catch[0].Next, 'TrainFailed');
    assert.equal(retrainingAsl.States.TrainFailed.Next, 'UnlockFailed');
  });

  it('the failure notification words the caught error as `<state>: <error>: <message>` with intrinsics: no raw Cause, no stack trace', () => {
    for (const [asl, notify, origin, then] of [
      [retrainingAsl, 'NotifyFailure', 'Ingest', 'UnlockFailed'],
      [batchAsl, 'NotifyBatchFailure', 'ScoreObjects', 'DescribeFailure'],
    ] as const) {
      const S = asl.States;
      // Where it was caught: a Pass names the state (a Catch gives only Error and Cause).
      assert.deepEqual(S[`${origin}Failed`], { Type: 'Pass', Result: origin, ResultPath: '$.failedState', Next: then });
      const message = S[notify].Parameters.Message;
      assert.deepEqual(Object.keys(message).sort(), ['execution.$', 'executionName.$', 'failure.$', 'next', 'result']);
      assert.equal(message['failure.$'], '$.failure.text');
      assert.ok(!JSON.stringify(message).includes('Cause'), 'the raw Cause is not published');
      // A Lambda's error payload is parsed inside a Parallel whose Catch falls back to the Cause as recorded.
      assert.equal(S.DescribeFailure.Type, 'Choice');
      assert.equal(S.ReadLambdaError.Type, 'Parallel');
      assert.deepEqual(
        S.ReadLambdaError.Catch.map((c: Json) => c.Next),
        ['FailureAsRecorded'],
      );
      assert.match(JSON.stringify(S.ReadLambdaError.Branches), /States\.StringToJson\(\$\.error\.Cause\)/);
      for (const name of ['ReadLambdaError', 'FailureAsRecorded', 'FailureWithoutCause']) assert.equal(S[name].Next, notify, name);
    }
  });

  it('the nightly schedule comes from the context', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(30 3 * * ? *)', State: 'ENABLED' });
  });

  it("the scoring function's memory and alias live's provisioned concurrency come from the context", () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^wdp online scoring'),
      MemorySize: 3008,
      Environment: { Variables: Match.objectLike({ WDP_CONTEXT_FEATURES: 'country,installed_apps' }) },
    });
    template.hasResourceProperties('AWS::Lambda::Alias', {
      Name: 'live',
      ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 2 },
    });
  });

  it("scoring sizing is validated: memory within Lambda's 128–10,240 MB, provisioned concurrency a whole number ≥ 0 (default 0)", async () => {
    const { settingsFromContext, settingsSchema } = await import('../../cdk/settings.ts');
    const ctx = (c: Record<string, unknown>) => () => settingsFromContext((k) => c[k]);
    assert.equal(settingsSchema.parse({}).scoringProvisionedConcurrency, 0);
    assert.equal(settingsSchema.parse({}).scoringMemoryMiB, 2048);
    assert.throws(ctx({ scoringMemoryMiB: '20000' }), /invalid CDK context: scoringMemoryMiB: .*10240/);
    assert.throws(ctx({ scoringProvisionedConcurrency: '-1' }), /invalid CDK context: scoringProvisionedConcurrency: .*>=0/);
    assert.throws(ctx({ scoringProvisionedConcurrency: '1.5' }), /invalid CDK context: scoringProvisionedConcurrency: .*expected int/);
    assert.equal(settingsSchema.parse({}).scoringContextFeatures, '');
    assert.throws(
      ctx({ scoringContextFeatures: 'country,,app_id' }),
      /invalid CDK context: scoringContextFeatures: comma-separated feature names/,
    );
  });

  it('the default schedule is 02:00 UTC', async () => {
    const { settingsSchema } = await import('../../cdk/settings.ts');
    assert.equal(settingsSchema.parse({}).schedule, 'cron(0 2 * * ? *)');
  });

  it('branches: lock held → Succeed; no data → Unlock → Succeed; pass → Promote → Unlock; fail → Reject → Notify → Unlock → Fail; any error → Unlock → Notify → Fail', () => {
    const S = retrainingAsl.States;
    assert.equal(retrainingAsl.StartAt, 'Lock');
    assert.deepEqual(S.Lock.Parameters, { action: 'acquire', 'executionName.$': '$$.Execution.Name' });
    assert.deepEqual(S.LockAcquired.Choices, [{ Variable: '$.lock.acquired', BooleanEquals: true, Next: 'Ingest' }]);
    assert.equal(S.LockAcquired.Default, 'AnotherRunInProgress');
    assert.equal(S.AnotherRunInProgress.Type, 'Succeed');
    assert.deepEqual(S.HasNewData.Choices, [{ Variable: '$.ingest.hasNewData', BooleanEquals: true, Next: 'AnyQuarantined' }]);
    // Quarantined files are notified before training; the notification failing does not stop the run.
    assert.deepEqual(S.AnyQuarantined.Choices, [{ Variable: '$.ingest.quarantined[0]', IsPresent: true, Next: 'NotifyQuarantined' }]);
    assert.equal(S.AnyQuarantined.Default, 'Train');
    assert.equal(S.NotifyQuarantined.Next, 'Train');
    assert.deepEqual(
      S.NotifyQuarantined.Catch.map((c: { Next: string }) => c.Next),
      ['Train'],
    );
    assert.equal(S.HasNewData.Default, 'UnlockNoNewData');
    assert.equal(S[S.UnlockNoNewData.Next].Type, 'Succeed');
    assert.deepEqual(S.Passed.Choices, [{ Variable: '$.validation.passed', BooleanEquals: true, Next: 'Promote' }]);
    assert.equal(S.Promote.Next, 'UnlockPromoted');
    assert.equal(S[S.UnlockPromoted.Next].Type, 'Succeed');
    const failBranch = [S.Passed.Default];
    while (S[failBranch.at(-1)!].Next) failBranch.push(S[failBranch.at(-1)!].Next);
    assert.deepEqual(failBranch, ['Reject', 'NotifyRejected', 'UnlockRejected', 'Rejected']);
    assert.equal(S.NotifyRejected.Resource, 'arn:aws:states:::sns:publish');
    assert.equal(S.Rejected.Type, 'Fail');
    for (const name of [
      'Lock',
      'Ingest',
      'Train',
      'Validate',
      'Promote',
      'Reject',
      'NotifyRejected',
      'UnlockNoNewData',
      'UnlockPromoted',
      'UnlockRejected',
    ]) {
      assert.deepEqual(S[name].Catch, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: `${name}Failed` }], name);
      assert.equal(S[`${name}Failed`].Next, 'UnlockFailed', name);
    }
    // Every release names this execution, the lock's owner; the failure path notifies even if the release fails.
    for (const [name, reason] of <[string, string][]>[
      ['UnlockNoNewData', 'no new data'],
      ['UnlockPromoted', 'promoted'],
      ['UnlockRejected', 'rejected'],
      ['UnlockFailed', 'failed'],
    ])
      assert.deepEqual(S[name].Parameters, { action: 'release', 'executionName.$': '$$.Execution.Name', reason }, name);
    assert.equal(S.UnlockFailed.Next, 'DescribeFailure');
    assert.deepEqual(S.UnlockFailed.Catch, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.unlockError', Next: 'DescribeFailure' }]);
    assert.equal(S[S.NotifyFailure.Next].Type, 'Fail');
    for (const name of ['Lock', 'Ingest', 'Validate', 'Promote', 'Reject', 'UnlockFailed'])
      assert.ok(S[name].Retry[0].ErrorEquals.includes('Lambda.ServiceException'), name);
  });

  it('the run lock function may only read and write state/run.lock, with a lease past the machine timeout', () => {
    const fns = template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('run lock') } });
    const fn = Object.values(fns)[0] as Json;
    const lease = Number(fn.Properties.Environment.Variables.WDP_RUN_LOCK_LEASE_SECONDS);
    assert.ok(retrainingAsl.TimeoutSeconds > 0);
    assert.ok(lease > retrainingAsl.TimeoutSeconds, `lease ${lease}s vs the machine's timeout ${retrainingAsl.TimeoutSeconds}s`);
    const role = fn.Properties.Role['Fn::GetAtt'][0];
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Json[];
    const mine = policies.filter((p) => p.Properties.Roles.some((r: Json) => r.Ref === role));
    const objectResources = mine
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Json[])
      .filter((st) => [st.Action].flat().some((a: string) => a === 's3:GetObject' || a === 's3:PutObject'))
      .flatMap((st) => [st.Resource].flat())
      .map((r) => JSON.stringify(r));
    assert.ok(objectResources.length > 0);
    for (const r of objectResources) assert.match(r, /\/state\/run\.lock\*/);
  });

  /** The object keys (after the bucket ARN) a function's role may call `action` on, e.g. `state/quarantine.json`. */
  const objectGrants = (description: RegExp, action: string): string[] => {
    const fns = template.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp(description.source) },
    });
    assert.equal(Object.keys(fns).length, 1, `one function matches ${description}`);
    const role = (Object.values(fns)[0] as Json).Properties.Role['Fn::GetAtt'][0];
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Json[];
    return policies
      .filter((p) => p.Properties.Roles.some((r: Json) => r.Ref === role))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Json[])
      .filter((st) => st.Effect === 'Allow' && [st.Action].flat().includes(action))
      .flatMap((st) => [st.Resource].flat())
      .map((r: Json) => {
        // { "Fn::Join": ["", [{ "Fn::GetAtt": [bucket, "Arn"] }, "/state/quarantine.json"]] }
        const parts = r['Fn::Join']?.[1] as unknown[] | undefined;
        return typeof parts?.at(-1) === 'string' ? (parts.at(-1) as string).replace(/^\//, '') : JSON.stringify(r);
      })
      .sort();
  };

  it('Ingest may write its run manifests and exactly state/quarantine.json (data.onBadFile "quarantine"), nothing else under state/', () => {
    assert.deepEqual(objectGrants(/list new partitions/, 's3:PutObject'), ['runs/*', 'state/quarantine.json']);
  });

  it('Ingest reads exactly the watermark and the quarantine under state/ (not the run lock), and only registry.json under registry/', () => {
    // readEffectiveWatermark and readQuarantine (steps/ingest.ts), readRegistry (bucket/state.ts).
    const reads = objectGrants(/list new partitions/, 's3:GetObject');
    assert.deepEqual(
      reads.filter((k) => k.startsWith('state/') || k.startsWith('registry/')),
      ['registry/registry.json', 'state/quarantine.json', 'state/watermark.json'],
    );
  });

  it("Ingest may read the models' manifests (the champion's fitted ranges for the scale warning), not their weights", () => {
    const reads = objectGrants(/list new partitions/, 's3:GetObject');
    assert.deepEqual(
      reads.filter((k) => k.startsWith('models/registry/')),
      ['models/registry/*/manifest.json', 'models/registry/*/manifest.sha256'],
    );
  });

  it('Promote and Reject read exactly state/watermark.json under state/ (not the run lock or the quarantine), and registry/registry.json', () => {
    // advanceWatermark (bucket/state.ts) is their only access to state/: a read, then a compare-and-swap
    // write; readRegistryVersioned then writeRegistry their only access to registry/.
    assert.deepEqual(objectGrants(/alias live/, 's3:GetObject'), [
      'models/candidates/*',
      'models/registry/*',
      'registry/registry.json',
      'runs/*',
      'state/watermark.json',
    ]);
    assert.deepEqual(objectGrants(/record a rejected candidate/, 's3:GetObject'), [
      'models/candidates/*',
      'registry/registry.json',
      'runs/*',
      'state/watermark.json',
    ]);
  });

  it('each workflow step may write what its code writes, and no more', () => {
    // The writes of each step's code path (src/workflow/steps, bucket/): run-lock.ts the lock;
    // validate.ts validation.json and collect.ts report.html beside the candidate; promote.ts the
    // version claim and copy, the registry and (advanceWatermark) the watermark; rejectRun the
    // registry and the watermark; batch-score.ts scores and batch-report.ts its report under batch/output/.
    assert.deepEqual(objectGrants(/run lock/, 's3:PutObject'), ['state/run.lock*']);
    assert.deepEqual(objectGrants(/serving dry run/, 's3:PutObject'), ['models/candidates/*']);
    assert.deepEqual(objectGrants(/alias live/, 's3:PutObject'), ['models/registry/*', 'registry/registry.json', 'state/watermark.json']);
    assert.deepEqual(objectGrants(/record a rejected candidate/, 's3:PutObject'), ['registry/registry.json', 'state/watermark.json']);
    assert.deepEqual(objectGrants(/score one batch/, 's3:PutObject'), ['batch/output/*']);
    assert.deepEqual(objectGrants(/totals and the batch report/, 's3:PutObject'), ['batch/output/*']);
    assert.deepEqual(objectGrants(/online scoring/, 's3:PutObject'), []);
  });

  it('the scoring functions read the models and exactly registry/registry.json under registry/', () => {
    // resolveModel (lambdas/score.ts) and scoreBatch (steps/batch-score.ts) read only the registry document there.
    assert.deepEqual(objectGrants(/online scoring/, 's3:GetObject'), ['models/registry/*', 'registry/registry.json']);
    assert.deepEqual(objectGrants(/score one batch/, 's3:GetObject'), ['batch/input/*', 'models/registry/*', 'registry/registry.json']);
  });

  it('batch scoring is a Distributed Map over S3 objects with batching, bounded concurrency and a failure tolerance, then a summary', () => {
    const map = batchAsl.States.ScoreObjects;
    assert.equal(map.Type, 'Map');
    assert.equal(map.ItemProcessor.ProcessorConfig.Mode, 'DISTRIBUTED');
    assert.equal(map.ItemReader.Resource, 'arn:aws:states:::s3:listObjectsV2');
    assert.equal(map.ItemReader.Parameters['Prefix.$'], '$.inputPrefix');
    assert.equal(map.ItemBatcher.MaxItemsPerBatch, 4);
    assert.equal(map.ItemBatcher.BatchInput['inputPrefix.$'], '$.inputPrefix');
    assert.equal(map.ItemBatcher.BatchInput['outputPrefix.$'], '$.outputPrefix');
    assert.match(map.ItemBatcher.BatchInput.bucketUri, /^s3:\/\//);
    assert.equal(map.MaxConcurrency, 20);
    assert.equal(map.ToleratedFailurePercentage, 5);
    assert.equal(map.Next, 'Summarize');
  });

  it('the bucket is encrypted, versioned, private, TLS-only, with a lifecycle on old candidates', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Id: 'expire-old-candidates', Prefix: 'models/candidates/', ExpirationInDays: 30, Status: 'Enabled' }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('no IAM action wildcard except where cdk-nag acknowledges it with a reason', () => {
    for (const [id, policy] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
      for (const st of policy.Properties.PolicyDocument.Statement as Json[]) {
        const actions = ([] as string[]).concat(st.Action);
        for (const a of actions.filter((x) => x.includes('*'))) {
          // Only the service-managed statements CDK writes may use action wildcards, and nag lists each.
          assert.ok(a !== '*' && !a.endsWith(':*'), `${id} grants ${a}`);
        }
      }
    }
    const s3Wildcards = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as Json[])
        .flatMap((st) => ([] as string[]).concat(st.Action))
        .filter((a) => a.startsWith('s3:') && a.includes('*')),
    );
    assert.deepEqual(s3Wildcards, [], 'S3 access uses exact actions');
  });

  it('the scoring function runs Node 22+ with alias live and an IAM-auth Function URL; Promote may update only it', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Runtime: Match.stringLikeRegexp('^nodejs(2[2-9]|[3-9]\\d)\\.x$') });
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function')))
      assert.match(fn.Properties.Runtime, /^nodejs(2[2-9]|[3-9]\d)\.x$/);
    template.hasResourceProperties('AWS::Lambda::Alias', { Name: 'live' });
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM' });
    // Each grant's exact resources: test/cdk/hardening.test.ts.
    for (const action of ['lambda:PublishVersion', 'lambda:UpdateAlias'])
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith([action]) })]) },
      });
  });

  it('alarms on failed executions of both state machines', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    assert.equal(alarms.filter((a) => a.Properties.MetricName === 'ExecutionsFailed').length, 2);
  });

  // The alarm must watch exactly the series Powertools publishes: namespace 'wdp', the metric's
  // name, and the single dimension `service` = 'wdp-scoring' (test/lambdas/score.test.ts checks
  // the published side against the same constants). Literals here, so a renamed constant fails.
  for (const [metricName, what] of [
    ['serverErrors', 'any 5xx answer of the scoring function'],
    ['ChampionMismatch', 'a cold start serving a model the registry does not name'],
  ] as const) {
    it(`alarms on ${what} (${metricName}, Sum ≥ 1 in 5 minutes), notifying the topic`, () => {
      const alarms = template.findResources('AWS::CloudWatch::Alarm', {
        Properties: {
          Namespace: 'wdp',
          MetricName: metricName,
          Dimensions: [{ Name: 'service', Value: 'wdp-scoring' }],
          Statistic: 'Sum',
          Period: 300,
          Threshold: 1,
          EvaluationPeriods: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
        },
      });
      assert.equal(Object.keys(alarms).length, 1, `one ${metricName} alarm`);
      const [alarm] = Object.values(alarms);
      const topicId = stack.getLogicalId(stack.topic.node.defaultChild as CfnElement);
      assert.deepEqual(alarm!.Properties.AlarmActions, [{ Ref: topicId }]);
    });
  }
});
