/**
 * What every wdp state machine does on failure: publish the error to the SNS topic, then end in
 * a Fail state; and an alarm on failed executions that notifies the same topic.
 *
 * The notification says what a local run prints (local/execute.ts): `<state>: <error>: <message>`,
 * with the execution and what to do next. A Catch gives only {Error, Cause}, and a Lambda's Cause
 * is its error payload (`{"errorType","errorMessage","trace"}`, a stack trace included), so the
 * definition words it itself, with intrinsic functions (the local runner, aws-local-stepfunctions,
 * runs no JSONata and no variables):
 *
 *   <State>Failed (Pass: $.failedState = "<State>") → … → DescribeFailure (Choice on the Cause)
 *     ├ a Lambda error payload → ReadLambdaError (Parallel: parse it, take errorMessage) ─┐
 *     │                           └ any error (a Cause cut short by Step Functions, not JSON) → FailureAsRecorded
 *     ├ any other Cause (a Batch job, a timeout) → FailureAsRecorded (the Cause as recorded)
 *     └ no Cause → FailureWithoutCause
 *   → $.failure.text → Notify → Fail
 *
 * The parse runs inside a Parallel only for its Catch: a Pass whose intrinsic fails would fail the
 * execution without any notification.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { FAILED_FROM_SUFFIX, FAILURE_STATES as F } from '../src/workflow/state-names.ts';

export interface FailureChainProps {
  readonly topic: sns.ITopic;
  /** State names of the notify task and the Fail state. */
  readonly notifyStateName: string;
  readonly failStateName: string;
  readonly subject: string;
  readonly error: string;
  readonly cause: string;
  /** What the operator does next, in the notification. */
  readonly next: string;
}

/** The Cause a Lambda's error payload gives (the Node.js runtime writes errorType first). */
export const LAMBDA_ERROR_CAUSE = '{"errorType":*';

/**
 * The caught error (at `$.error`, its state named at `$.failedState` by failedFrom) worded as
 * `<state>: <error>: <message>` → SNS notification → Fail. Returns the first state (DescribeFailure).
 */
export function failureChain(scope: Construct, props: FailureChainProps): sfn.State {
  const notify = new tasks.SnsPublish(scope, props.notifyStateName, {
    topic: props.topic,
    subject: props.subject,
    message: sfn.TaskInput.fromObject({
      result: 'failed',
      failure: sfn.JsonPath.stringAt('$.failure.text'),
      execution: sfn.JsonPath.executionId,
      executionName: sfn.JsonPath.executionName,
      next: props.next,
    }),
    resultPath: sfn.JsonPath.DISCARD,
  });
  notify.next(new sfn.Fail(scope, props.failStateName, { error: props.error, cause: props.cause }));

  // The local runner (aws-local-stepfunctions 3.0.0) drops backslashes from what States.Format
  // returns; Step Functions does not. The local run's own summary line is exact either way.
  const asRecorded = new sfn.Pass(scope, F.asRecorded, {
    parameters: {
      text: sfn.JsonPath.format(
        '{}: {}: {}',
        sfn.JsonPath.stringAt('$.failedState'),
        sfn.JsonPath.stringAt('$.error.Error'),
        sfn.JsonPath.stringAt('$.error.Cause'),
      ),
    },
    resultPath: '$.failure',
  }).next(notify);
  const withoutCause = new sfn.Pass(scope, F.withoutCause, {
    parameters: { text: sfn.JsonPath.format('{}: {}', sfn.JsonPath.stringAt('$.failedState'), sfn.JsonPath.stringAt('$.error.Error')) },
    resultPath: '$.failure',
  }).next(notify);
  const parse = new sfn.Pass(scope, F.parseLambdaError, {
    parameters: {
      failedState: sfn.JsonPath.stringAt('$.failedState'),
      error: sfn.JsonPath.stringAt('$.error.Error'),
      payload: sfn.JsonPath.stringToJson(sfn.JsonPath.stringAt('$.error.Cause')),
    },
  });
  const message = new sfn.Pass(scope, F.lambdaErrorMessage, {
    parameters: {
      text: sfn.JsonPath.format(
        '{}: {}: {}',
        sfn.JsonPath.stringAt('$.failedState'),
        sfn.JsonPath.stringAt('$.error'),
        sfn.JsonPath.stringAt('$.payload.errorMessage'),
      ),
    },
  });
  const readLambdaError = new sfn.Parallel(scope, F.readLambdaError, {
    resultSelector: { text: sfn.JsonPath.stringAt('$[0].text') },
    resultPath: '$.failure',
  })
    .branch(parse.next(message))
    .addCatch(asRecorded, { errors: [sfn.Errors.ALL], resultPath: '$.describeError' })
    .next(notify);

  return new sfn.Choice(scope, F.describe)
    .when(
      sfn.Condition.and(
        sfn.Condition.isPresent('$.error.Cause'),
        sfn.Condition.isString('$.error.Cause'),
        sfn.Condition.stringMatches('$.error.Cause', LAMBDA_ERROR_CAUSE),
      ),
      readLambdaError,
    )
    .when(sfn.Condition.and(sfn.Condition.isPresent('$.error.Cause'), sfn.Condition.isString('$.error.Cause')), asRecorded)
    .otherwise(withoutCause);
}

/**
 * Where a Catch of `state` goes: a Pass naming it at `$.failedState` (a caught error does not say
 * which state raised it), then `then`.
 */
export function failedFrom(scope: Construct, state: string, then: sfn.IChainable): sfn.Pass {
  const named = new sfn.Pass(scope, `${state}${FAILED_FROM_SUFFIX}`, { result: sfn.Result.fromString(state), resultPath: '$.failedState' });
  named.next(then);
  return named;
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
