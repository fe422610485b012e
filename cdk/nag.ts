/**
 * Every cdk-nag finding the stack accepts, on the construct it concerns, each with its reason.
 * Findings are acknowledged one by one (`Rule[Finding]`), so any new wildcard or managed policy
 * still fails synth until someone reviews it here.
 */
import { type Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** The cdk-nag pack the stack is checked with, and its plugin name in CDK's validation report. */
export const NAG_PACK = 'AwsSolutions';

export interface NagHandles {
  readonly bucketLogicalId: string;
  /** The workflow and scoring Lambdas. */
  readonly functions: readonly { fn: IConstruct; prefixes: readonly string[]; wildcardKeys?: readonly string[] }[];
  readonly scoringFunctionLogicalId: string;
  readonly promoteFunction: IConstruct;
  readonly retrainingStateMachine: IConstruct;
  readonly retrainingFunctionLogicalIds: readonly string[];
  readonly batchStateMachine: IConstruct;
  readonly batchFunctionLogicalIds: readonly string[];
  readonly batchStateMachineLogicalId: string;
  readonly trainingJobRole: IConstruct;
  readonly trainingPrefixes: readonly string[];
  readonly trainingContainer: IConstruct;
  readonly computeEnvironment: IConstruct;
}

/**
 * Acknowledged twice, under one reason: as cdk-nag names the finding (what its own check, e.g.
 * `AwsSolutionsChecks.validateScope`, skips) and qualified by the plugin (`AwsSolutions::…`), the
 * form CDK's validation report matches when it records the finding as suppressed (cdk/nag-report.ts).
 */
function ack(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason }, { id: `${NAG_PACK}::${id}`, reason });
}

/** Objects under one of our own bucket's key prefixes: the prefix is the least privilege. */
function ackPrefixes(scope: IConstruct, bucketLogicalId: string, prefixes: readonly string[]): void {
  for (const p of prefixes) {
    ack(
      scope,
      `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${p}*]`,
      `Objects under the ${p || 'bucket root'} prefix of the workflow bucket, which this role reads or writes by design (see cdk/workflow-functions.ts).`,
    );
  }
}

/** One file of every folder of a kind (`models/registry/*\/manifest.json`): the folder is not known at deploy time. */
function ackWildcardKeys(scope: IConstruct, bucketLogicalId: string, keys: readonly string[]): void {
  for (const k of keys)
    ack(
      scope,
      `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${k}]`,
      `The one file ${k} names in each folder of the workflow bucket, which this role reads by design (see cdk/bucket-access.ts): which folder (model version) is only known at run time; the folders' other files are not granted.`,
    );
}

export function acknowledgeFindings(_stack: Stack, h: NagHandles): void {
  for (const { fn, prefixes, wildcardKeys = [] } of h.functions) {
    ack(
      fn,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      "The AWS-maintained minimal policy for writing the function's own CloudWatch logs.",
    );
    ack(
      fn,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) support no resource-level permissions.',
    );
    ackPrefixes(fn, h.bucketLogicalId, prefixes);
    ackWildcardKeys(fn, h.bucketLogicalId, wildcardKeys);
  }
  ack(
    h.promoteFunction,
    `AwsSolutions-IAM5[Resource::<${h.scoringFunctionLogicalId}.Arn>:*]`,
    "Read-only lambda:GetFunctionConfiguration on the scoring function's versions (function:name:<version>): Promote reads the configuration of the version `live` points at, whose number is known only at run time. Every write is on the unqualified function or the `live` alias (cdk/workflow-functions.ts).",
  );

  ack(
    h.retrainingStateMachine,
    'AwsSolutions-IAM5[Resource::*]',
    'X-Ray tracing and CloudWatch Logs delivery for Step Functions support no resource-level permissions.',
  );
  for (const id of h.retrainingFunctionLogicalIds) {
    ack(
      h.retrainingStateMachine,
      `AwsSolutions-IAM5[Resource::<${id}.Arn>:*]`,
      'Invoking one of our workflow functions, any of its versions (CDK grants function and function:*).',
    );
  }
  ack(
    h.retrainingStateMachine,
    'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>:job/*]',
    'batch:TerminateJob, so that stopping an execution stops the GPU job it started: job ids exist only at run time, so job/* in this account and region is the narrowest ARN. SubmitJob is on our job definition and queue only.',
  );
  for (const machine of [h.retrainingStateMachine, h.batchStateMachine]) {
    ack(
      machine,
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      'Publishing to the notification topic encrypted with our customer key: SNS asks publishers for kms:GenerateDataKey* (GenerateDataKey and its WithoutPlaintext form) on that one key.',
    );
  }

  ack(
    h.batchStateMachine,
    'AwsSolutions-IAM5[Resource::*]',
    'X-Ray tracing and CloudWatch Logs delivery for Step Functions support no resource-level permissions.',
  );
  for (const id of h.batchFunctionLogicalIds) {
    ack(
      h.batchStateMachine,
      `AwsSolutions-IAM5[Resource::<${id}.Arn>:*]`,
      'Invoking one of our batch-scoring functions, any of its versions (CDK grants function and function:*).',
    );
  }
  const executions = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${h.batchStateMachineLogicalId}"}]}]}`;
  for (const suffix of [':*', '/*:*']) {
    ack(
      h.batchStateMachine,
      `AwsSolutions-IAM5[Resource::${executions}${suffix}]`,
      'The Distributed Map starts, describes and stops its own child executions of this state machine only.',
    );
  }

  ackPrefixes(h.trainingJobRole, h.bucketLogicalId, h.trainingPrefixes);
  ack(
    h.trainingContainer,
    'AwsSolutions-IAM5[Resource::*]',
    'ecr:GetAuthorizationToken (pulling the training image) supports no resource-level permissions.',
  );
  ack(
    h.computeEnvironment,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]',
    'The AWS-maintained instance role the ECS agent on Batch GPU instances needs to register and pull images.',
  );
}
