/**
 * What every wdp state machine does on failure: publish the error to the SNS topic, then end in
 * a Fail state; and an alarm on failed executions that notifies the same topic.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';

export interface FailureChainProps {
  readonly topic: sns.ITopic;
  /** State names of the notify task and the Fail state. */
  readonly notifyStateName: string;
  readonly failStateName: string;
  readonly subject: string;
  readonly error: string;
  readonly cause: string;
}

/** SNS notification with the caught error (at `$.error`) → Fail. */
export function failureChain(scope: Construct, props: FailureChainProps): sfn.Chain {
  return new tasks.SnsPublish(scope, props.notifyStateName, {
    topic: props.topic,
    subject: props.subject,
    message: sfn.TaskInput.fromObject({
      result: 'failed',
      execution: sfn.JsonPath.executionId,
      error: sfn.JsonPath.stringAt('$.error.Error'),
      cause: sfn.JsonPath.stringAt('$.error.Cause'),
    }),
    resultPath: sfn.JsonPath.DISCARD,
  }).next(new sfn.Fail(scope, props.failStateName, { error: props.error, cause: props.cause }));
}

/**
 * What publishing to `topic` takes beyond the `sns:Publish` that SnsPublish grants: on a topic
 * encrypted with a customer key, SNS encrypts each message with a data key made under the
 * publisher's credentials, so without these every notification fails with KMS AccessDenied.
 * `kms:GenerateDataKey*` is the action family SNS's documentation asks for (GenerateDataKey and
 * its WithoutPlaintext form); the resource is that one key.
 */
export function grantPublishToEncryptedTopic(topic: sns.ITopic, publisher: iam.IGrantable): void {
  topic.masterKey?.grant(publisher, 'kms:GenerateDataKey*', 'kms:Decrypt');
}

/** Alarm when any execution of `machine` fails within an hour; notifies `topic`. */
export function failedExecutionsAlarm(
  scope: Construct,
  machine: sfn.StateMachine,
  topic: sns.ITopic,
  description: string,
): cloudwatch.Alarm {
  return anyCountAlarm(
    scope,
    'FailedExecutions',
    machine.metricFailed({ period: Duration.hours(1), statistic: 'Sum' }),
    topic,
    description,
  );
}

/**
 * Alarm when `metric` (a Sum of counts) reaches 1 in a period; notifies `topic`. No data is the
 * healthy state here (nothing failed, nothing published), not a missing signal.
 */
export function anyCountAlarm(
  scope: Construct,
  id: string,
  metric: cloudwatch.IMetric,
  topic: sns.ITopic,
  description: string,
): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    alarmDescription: description,
    metric,
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(new cwActions.SnsAction(topic));
  return alarm;
}
