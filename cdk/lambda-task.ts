/**
 * The one helper for Lambda tasks: every Lambda step of every state machine gets the same Retry
 * (transient Lambda service errors, with backoff) and, when given, the same Catch (any error →
 * the failure chain, with the error at `$.error`).
 */
import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';

/** Errors worth retrying: the invocation failed, not our code. */
export const TRANSIENT_LAMBDA_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
] as const;

export interface LambdaStepProps {
  readonly fn: lambda.IFunction;
  /** The event; @default the whole state */
  readonly payload?: sfn.TaskInput;
  /** Where the result goes in the state. */
  readonly resultPath?: string;
  readonly resultSelector?: Record<string, unknown>;
  /** @default 15 minutes (the Lambda maximum) */
  readonly timeout?: Duration;
  readonly comment?: string;
  /** Where any error goes (the shared Catch). @default no Catch: errors fail the state */
  readonly onError?: ErrorRoute;
}

/** A LambdaInvoke whose output is the function's return value, with the shared Retry (and Catch). */
export function lambdaStep(scope: Construct, id: string, props: LambdaStepProps): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: props.fn,
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    taskTimeout: sfn.Timeout.duration(props.timeout ?? Duration.minutes(15)),
    ...(props.payload ? { payload: props.payload } : {}),
    ...(props.resultPath ? { resultPath: props.resultPath } : {}),
    ...(props.resultSelector ? { resultSelector: props.resultSelector } : {}),
    ...(props.comment ? { comment: props.comment } : {}),
  });
  return withSharedErrorHandling(task, props.onError);
}

/**
 * Where a Catch goes: a state, or per state the state to go to (failedFrom in failure.ts, which
 * names the state the error came from).
 */
export type ErrorRoute = sfn.IChainable | ((stateName: string) => sfn.IChainable);

/** Adds the shared Retry; with `onError`, also the shared Catch. Returns the task for chaining. */
export function withSharedErrorHandling<T extends sfn.TaskStateBase>(task: T, onError?: ErrorRoute): T {
  task.addRetry({ errors: [...TRANSIENT_LAMBDA_ERRORS], interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
  if (onError) catchAll(task, onError);
  return task;
}

/** Any error → `onError`, keeping the state and putting {Error, Cause} at `$.error`. */
export function catchAll<T extends sfn.TaskStateBase>(task: T, onError: ErrorRoute): T {
  task.addCatch(typeof onError === 'function' ? onError(task.stateId) : onError, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  return task;
}
