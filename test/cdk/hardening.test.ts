/**
 * The deployment's least-privilege and network grants, asserted on the synthesized template
 * (template only, no bundling; cdk-nag runs in stack.test.ts): KMS for the topic's publishers,
 * the training network and IMDSv2, ScoreBatch's prefixes, SubmitJob's resources, Promote's Lambda
 * grants, and the job's retry strategy.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { createWdpApp } from '../../cdk/app.ts';
import { resolveIntrinsics } from '../../cdk/state-machine-definitions.ts';
import type { WdpStack } from '../../cdk/wdp-stack.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is walked by key in assertions
type Json = Record<string, any>;

const list = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
/** The batch state machine's prefix check (cdk/batch-scoring-workflow.ts BATCH_PREFIX_STATES). */
const BATCH_PREFIX_STATES = { check: 'CheckPrefixes', refused: 'PrefixNotAllowed' };
const arnOf = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

describe('WdpStack hardening', () => {
  let outdir: string;
  let stack: WdpStack;
  let resources: Json;
  let lid: (c: IConstruct) => string;

  /** Every statement of the inline policies attached to `roleLogicalId`. */
  const statementsOf = (roleLogicalId: string): Json[] =>
    Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && list(r.Properties.Roles).some((x: Json) => x.Ref === roleLogicalId))
      .flatMap((r) => r.Properties.PolicyDocument.Statement as Json[]);
  const roleOf = (c: { role: IConstruct }) => lid(c.role);
  const allStatements = (): Json[] =>
    Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => r.Properties.PolicyDocument.Statement as Json[]);
  const ofType = (type: string): [string, Json][] => Object.entries(resources).filter(([, r]) => r.Type === type);

  before(async () => {
    outdir = await mkdtemp(join(tmpdir(), 'wdp-cdk-hardening-'));
    const built = createWdpApp({ templateOnly: true, outdir, nag: false, context: { spot: 'true' } });
    stack = built.stack;
    resources = Template.fromStack(stack).toJSON().Resources as Json;
    lid = (c: IConstruct) => (stack as Stack).getLogicalId(c.node.defaultChild as CfnElement);
  });
  after(() => rm(outdir, { recursive: true, force: true }));

  it('both state machines may use the topic key (GenerateDataKey*, Decrypt) besides sns:Publish', () => {
    const [[keyId]] = ofType('AWS::KMS::Key') as [[string, Json]];
    const [[topicId, topic]] = ofType('AWS::SNS::Topic') as [[string, Json]];
    assert.deepEqual(topic.Properties.KmsMasterKeyId, arnOf(keyId));
    for (const machine of [stack.retraining.stateMachine, stack.batchScoring.stateMachine]) {
      const st = statementsOf(roleOf(machine));
      assert.ok(
        st.some((s) => s.Effect === 'Allow' && list(s.Action).includes('sns:Publish') && s.Resource.Ref === topicId),
        machine.node.path,
      );
      const kms = st.filter((s) => list(s.Action).some((a: string) => a.startsWith('kms:')));
      assert.deepEqual(
        kms.map((s) => [s.Effect, [...list(s.Action)].sort(), s.Resource]),
        [['Allow', ['kms:Decrypt', 'kms:GenerateDataKey*'], arnOf(keyId)]],
        machine.node.path,
      );
    }
  });

  it('training runs in isolated subnets: no internet or NAT gateway, no public IPs, no route out', () => {
    assert.equal(ofType('AWS::EC2::InternetGateway').length, 0);
    assert.equal(ofType('AWS::EC2::NatGateway').length, 0);
    assert.equal(ofType('AWS::EC2::EIP').length, 0);
    const subnets = ofType('AWS::EC2::Subnet');
    assert.equal(subnets.length, 2);
    for (const [, s] of subnets) assert.equal(s.Properties.MapPublicIpOnLaunch, false);
    for (const [id, r] of ofType('AWS::EC2::Route')) assert.fail(`route ${id} to ${r.Properties.DestinationCidrBlock}`);
    const [[, ce]] = ofType('AWS::Batch::ComputeEnvironment') as [[string, Json]];
    assert.deepEqual(ce.Properties.ComputeResources.Subnets.map((s: Json) => s.Ref).sort(), subnets.map(([id]) => id).sort());
  });

  it('the job reaches S3, ECR, ECS and CloudWatch Logs through VPC endpoints that admit only the training instances', () => {
    const endpoints = ofType('AWS::EC2::VPCEndpoint').map(([, r]) => r.Properties);
    const service = (p: Json) => (p.ServiceName['Fn::Join'][1] as unknown[]).at(-1);
    assert.deepEqual(endpoints.map((p) => [service(p), p.VpcEndpointType ?? 'Interface']).sort(), [
      ['.ecr.api', 'Interface'],
      ['.ecr.dkr', 'Interface'],
      ['.ecs', 'Interface'],
      ['.ecs-agent', 'Interface'],
      ['.ecs-telemetry', 'Interface'],
      ['.logs', 'Interface'],
      ['.s3', 'Gateway'],
    ]);
    const computeSg = lid(stack.training.securityGroup);
    for (const p of endpoints.filter((e) => e.VpcEndpointType !== 'Gateway')) {
      assert.equal(p.PrivateDnsEnabled, true);
      const [sg] = p.SecurityGroupIds.map((x: Json) => x['Fn::GetAtt'][0]);
      assert.equal(resources[sg].Properties.SecurityGroupIngress, undefined, `${sg} has no inline (CIDR) ingress`);
      const ingress = ofType('AWS::EC2::SecurityGroupIngress').filter(([, r]) => r.Properties.GroupId['Fn::GetAtt'][0] === sg);
      assert.deepEqual(
        ingress.map(([, r]) => [
          r.Properties.IpProtocol,
          r.Properties.FromPort,
          r.Properties.ToPort,
          r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0],
        ]),
        [['tcp', 443, 443, computeSg]],
      );
    }
  });

  it('the training instances may send HTTPS only, and require IMDSv2 with a hop limit of 1', () => {
    const sg = resources[lid(stack.training.securityGroup)].Properties;
    assert.deepEqual(
      sg.SecurityGroupEgress.map((e: Json) => [e.IpProtocol, e.FromPort, e.ToPort]),
      [['tcp', 443, 443]],
    );
    const [[, ce]] = ofType('AWS::Batch::ComputeEnvironment') as [[string, Json]];
    assert.deepEqual(
      ce.Properties.ComputeResources.SecurityGroupIds.map((x: Json) => x['Fn::GetAtt'][0]),
      [lid(stack.training.securityGroup)],
    );
    const ltId = lid(stack.training.launchTemplate);
    assert.deepEqual(ce.Properties.ComputeResources.LaunchTemplate, { LaunchTemplateId: { Ref: ltId } });
    assert.deepEqual(resources[ltId].Properties.LaunchTemplateData.MetadataOptions, { HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
  });

  it('the job definition lists each retry reason once', () => {
    const [[, jd]] = ofType('AWS::Batch::JobDefinition') as [[string, Json]];
    const rules = (jd.Properties.RetryStrategy.EvaluateOnExit as Json[]).map((r) => JSON.stringify(r));
    assert.deepEqual(rules, [...new Set(rules)]);
    assert.equal(rules.filter((r) => r.includes('Host EC2*')).length, 1);
    assert.deepEqual(jd.Properties.ContainerProperties.Environment, [{ Name: 'AWS_REGION', Value: { Ref: 'AWS::Region' } }]);
  });

  it('ScoreBatch reads only batch inputs and the champion, and no role reads the whole bucket', () => {
    const bucket = lid(stack.data.bucket);
    const prefixesOf = (statements: Json[], action: string) =>
      statements
        .filter((s) => s.Effect === 'Allow' && list(s.Action).includes(action))
        .flatMap((s) => list(s.Resource))
        .map((r: Json) => {
          const [arn, suffix] = r['Fn::Join'][1];
          assert.deepEqual(arn, arnOf(bucket));
          return suffix as string;
        });
    const scoreBatch = statementsOf(lid(stack.functions.scoreBatch.role!));
    assert.deepEqual(prefixesOf(scoreBatch, 's3:GetObject').sort(), ['/batch/input/*', '/models/registry/*', '/registry/registry.json']);
    assert.deepEqual(prefixesOf(scoreBatch, 's3:PutObject'), ['/batch/output/*']);
    const bucketWide = allStatements().filter((s) =>
      list(s.Resource).some((r: Json) => JSON.stringify(r) === JSON.stringify({ 'Fn::Join': ['', [arnOf(bucket), '/*']] })),
    );
    assert.deepEqual(bucketWide, []);
  });

  it('the batch state machine refuses prefixes ScoreBatch may not use, before the Map', () => {
    const [, res] = ofType('AWS::StepFunctions::StateMachine').find(([id]) => id.startsWith('BatchScoring'))!;
    const asl = JSON.parse(String(resolveIntrinsics(res.Properties.DefinitionString, resources, 'bucket'))) as Json;
    assert.equal(asl.StartAt, BATCH_PREFIX_STATES.check);
    const check = asl.States[BATCH_PREFIX_STATES.check];
    const conditions = JSON.stringify(check.Choices[0].And);
    assert.match(conditions, /"Variable":"\$\.inputPrefix","StringMatches":"batch\/input\/\*"/);
    assert.match(conditions, /"Variable":"\$\.outputPrefix","StringMatches":"batch\/output\/\*"/);
    assert.equal(check.Choices[0].Next, 'ScoreObjects');
    assert.equal(asl.States[check.Default].Type, 'Fail');
    assert.equal(asl.States[check.Default].Error, 'PrefixNotAllowed');
  });

  it('batch:SubmitJob is granted on our job definition and queue only', () => {
    const submit = allStatements().filter((s) => list(s.Action).includes('batch:SubmitJob'));
    assert.equal(submit.length, 1);
    assert.deepEqual(submit[0]!.Resource, [
      { Ref: lid(stack.training.jobDefinition) },
      { 'Fn::GetAtt': [lid(stack.training.jobQueue), 'JobQueueArn'] },
    ]);
    assert.doesNotMatch(JSON.stringify(allStatements()), /job-definition\/\*/);
  });

  it('Promote may change only $LATEST of the scoring function, never with layers or a VPC, and move only alias live', () => {
    const fn = lid(stack.scoring.function);
    const st = statementsOf(lid(stack.functions.promote.role!)).filter((s) => list(s.Action).some((a: string) => a.startsWith('lambda:')));
    const allowed = (action: string) =>
      st
        .filter((s) => s.Effect === 'Allow' && list(s.Action).includes(action))
        .flatMap((s) => list(s.Resource).map((r) => JSON.stringify(r)));
    const unqualified = JSON.stringify(arnOf(fn));
    const qualified = (q: string) => JSON.stringify({ 'Fn::Join': ['', [arnOf(fn), `:${q}`]] });
    assert.deepEqual(allowed('lambda:UpdateFunctionConfiguration'), [unqualified]);
    assert.deepEqual(allowed('lambda:PublishVersion'), [unqualified]);
    assert.deepEqual(allowed('lambda:UpdateAlias'), [unqualified, qualified('live')]);
    assert.deepEqual(allowed('lambda:GetAlias'), [unqualified, qualified('live')]);
    assert.deepEqual(allowed('lambda:GetFunctionConfiguration'), [unqualified, qualified('*')]);
    const denies = st.filter((s) => s.Effect === 'Deny');
    assert.deepEqual(
      denies.map((s) => [s.Action, s.Resource, s.Condition]),
      [
        ['lambda:UpdateFunctionConfiguration', arnOf(fn), { Null: { 'lambda:Layer': 'false' } }],
        ['lambda:UpdateFunctionConfiguration', arnOf(fn), { Null: { 'lambda:VpcIds': 'false' } }],
      ],
    );
    // No iam:PassRole anywhere in Promote's policy: the execution role cannot be swapped.
    assert.doesNotMatch(JSON.stringify(statementsOf(lid(stack.functions.promote.role!))), /iam:PassRole|lambda:GetLayerVersion|ec2:/);
  });
});
