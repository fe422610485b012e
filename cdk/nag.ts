/**
 * Every cdk-nag finding the stack accepts, on the construct it concerns, each with its reason.
 * Findings are acknowledged one by one (`Rule[Finding]`), so any new wildcard or managed policy
 * still fails synth until someone reviews it here.
 */
import { type Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

export interface NagHandles {
  readonly bucketLogicalId: string;
  /** The workflow and scoring Lambdas. */
  readonly functions: readonly { fn: IConstruct; prefixes: readonly string[] }[];
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

function ack(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
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

export function acknowledgeFindings(_stack: Stack, h: NagHandles): void {
  for (const { fn, prefixes } of h.functions) {
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
  }
  ack(
    h.promoteFunction,
    `AwsSolutions-IAM5[Resource::<${h.scoringFunctionLogicalId}.Arn>:*]`,
    "Promote publishes versions of the scoring function and moves its alias: the qualified ARNs (function:name:*) are that one function's versions and aliases.",
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
    'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>:job-definition/*]',
    'Batch submitJob.sync names the job definition by ARN with revision; CDK grants job-definition/* in this account and region.',
  );

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
