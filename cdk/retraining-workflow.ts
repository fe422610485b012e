/**
 * The nightly retraining state machine:
 *
 *   Lock ─ LockAcquired? ─ no ─→ AnotherRunInProgress (Succeed: nothing trained, the other run goes on)
 *                         └ yes → Ingest ─ HasNewData? ─ no ─→ UnlockNoNewData → NoNewData (Succeed)
 *                        └ yes → AnyQuarantined? ─ yes → NotifyQuarantined ─┐
 *                                                └ no ──────────────────────┴→ Train (Batch submitJob.sync) → Validate ─ Passed? ─ yes → Promote → UnlockPromoted → Promoted (Succeed)
 *                                                                          └ no ──→ Reject → NotifyRejected → UnlockRejected → Rejected (Fail)
 *   any task error ──→ UnlockFailed → NotifyFailure → Failed (Fail)
 *
 * The run lock (state/run.lock, a lease) keeps a scheduled and a manual run from training and
 * promoting at once. Every exit path releases it; an execution that ends without any (timeout,
 * StopExecution) leaves it to expire after `runLockLease`, which outlasts the machine's timeout.
 *
 * Plus the EventBridge schedule that starts it and an alarm on failed executions.
 * State names are the contract with the local runner (local/), which binds each
 * Task by name; keep them in STATE_NAMES.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as batch from 'aws-cdk-lib/aws-batch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { RETRAINING_STATES as S } from '../src/workflow/state-names.ts';
import { failedExecutionsAlarm, failedFrom, failureChain, grantPublishToEncryptedTopic } from './failure.ts';
import { catchAll, lambdaStep } from './lambda-task.ts';

/**
 * BatchSubmitJob puts `taskTimeout` into the Batch job's attempt timeout only. This also sets the
 * state's own TimeoutSeconds (with room for the job's retries), so the state machine gives up
 * even if the job never starts (e.g. no GPU capacity).
 *
 * It also narrows the grant: BatchSubmitJob allows batch:SubmitJob on `job-definition/*` (every
 * job definition in the account and region); this allows it on our queue and our job
 * definition's ARN with its revision, the exact ARN the state submits.
 */
class TimedBatchSubmitJob extends tasks.BatchSubmitJob {
  readonly #stateTimeout: Duration;
  constructor(scope: Construct, id: string, stateTimeout: Duration, props: tasks.BatchSubmitJobProps) {
    super(scope, id, props);
    this.#stateTimeout = stateTimeout;
    const policies = this.taskPolicies ?? [];
    const i = policies.findIndex((p) => p.actions.includes('batch:SubmitJob'));
    if (i < 0) throw new Error('BatchSubmitJob no longer grants batch:SubmitJob: review TimedBatchSubmitJob');
    policies.splice(
      i,
      1,
      new iam.PolicyStatement({ actions: ['batch:SubmitJob'], resources: [props.jobDefinitionArn, props.jobQueueArn] }),
      // Stopping an execution (or the state's timeout) terminates the job it started, so no GPU
      // instance keeps running for nothing. Job ids exist only at run time: `job/*` in this
      // account and region is as narrow as IAM allows.
      new iam.PolicyStatement({
        actions: ['batch:TerminateJob'],
        resources: [Stack.of(this).formatArn({ service: 'batch', resource: 'job', resourceName: '*' })],
      }),
    );
  }
  override toStateJson(): object {
    return { ...super.toStateJson(), TimeoutSeconds: this.#stateTimeout.toSeconds() };
  }
}

/** The longest a retraining execution may run: every training attempt, plus the other steps. */
export function retrainingTimeout(trainTimeout: Duration, trainAttempts: number): Duration {
  return Duration.seconds(trainTimeout.toSeconds() * trainAttempts + 3 * 3600);
}

export interface RetrainingWorkflowProps {
  /** Acquires and releases the run lock (lambdas/run-lock.ts). */
  readonly runLock: lambda.IFunction;
  readonly ingest: lambda.IFunction;
  readonly validate: lambda.IFunction;
  readonly promote: lambda.IFunction;
  readonly reject: lambda.IFunction;
  readonly jobQueue: batch.IJobQueue;
  readonly jobDefinition: batch.IJobDefinition;
  readonly topic: sns.ITopic;
  /** EventBridge expression, e.g. 'cron(0 2 * * ? *)'. */
  readonly schedule: string;
  /** One training attempt's limit (the Batch job timeout). */
  readonly trainTimeout: Duration;
  /** Batch attempts; the Train state waits for all of them. */
  readonly trainAttempts: number;
}

export class RetrainingWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly schedule: events.Rule;
  readonly failedAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: RetrainingWorkflowProps) {
    super(scope, id);

    const notifyFailed = failureChain(this, {
      topic: props.topic,
      notifyStateName: S.notifyFailure,
      failStateName: S.failed,
      subject: 'wdp retraining failed',
      error: 'WorkflowFailed',
      cause: 'A step failed; the watermark did not move, so the next run retries the same data',
      next: 'The watermark did not move: the next run retries the same data. Fix what the failure names, then start a run (`wdp pipeline --remote`) or let the schedule start the next one; `wdp runs --remote` and `wdp days --remote` show where things stand.',
    });
    const lockPayload = (action: 'acquire' | 'release', reason?: string) =>
      sfn.TaskInput.fromObject({ action, executionName: sfn.JsonPath.executionName, ...(reason ? { reason } : {}) });
    // The failure path releases the lock first; if even that fails, it still notifies (the lease
    // then frees the lock), keeping the original error at $.error.
    const unlockFailed = lambdaStep(this, S.unlockFailed, {
      fn: props.runLock,
      payload: lockPayload('release', 'failed'),
      resultPath: sfn.JsonPath.DISCARD,
      timeout: Duration.minutes(1),
    });
    unlockFailed.addCatch(notifyFailed, { errors: [sfn.Errors.ALL], resultPath: '$.unlockError' });
    unlockFailed.next(notifyFailed);
    const failed = (state: string) => failedFrom(this, state, unlockFailed);
    const unlock = (id: string, reason: string) =>
      lambdaStep(this, id, {
        fn: props.runLock,
        payload: lockPayload('release', reason),
        resultPath: sfn.JsonPath.DISCARD,
        timeout: Duration.minutes(1),
        onError: failed,
      });
    const lock = lambdaStep(this, S.lock, {
      fn: props.runLock,
      payload: lockPayload('acquire'),
      resultPath: '$.lock',
      timeout: Duration.minutes(1),
      onError: failed,
    });

    const ingest = lambdaStep(this, S.ingest, {
      fn: props.ingest,
      payload: sfn.TaskInput.fromObject({ executionName: sfn.JsonPath.executionName }),
      resultPath: '$.ingest',
      timeout: Duration.minutes(5),
      onError: failed,
    });

    const train = new TimedBatchSubmitJob(this, S.train, Duration.seconds(props.trainTimeout.toSeconds() * props.trainAttempts + 3600), {
      jobName: sfn.JsonPath.format('wdp-train-{}', sfn.JsonPath.stringAt('$.ingest.runId')),
      jobQueueArn: props.jobQueue.jobQueueArn,
      jobDefinitionArn: props.jobDefinition.jobDefinitionArn,
      payload: sfn.TaskInput.fromObject({ manifestUri: sfn.JsonPath.stringAt('$.ingest.manifestUri') }),
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      taskTimeout: sfn.Timeout.duration(props.trainTimeout),
      resultSelector: { jobId: sfn.JsonPath.stringAt('$.JobId'), status: sfn.JsonPath.stringAt('$.Status') },
      resultPath: '$.train',
    });
    // Batch API hiccups are retried here; host and Spot failures inside the job are retried by
    // the job definition's retry strategy, so this attempt count stays small.
    train.addRetry({
      errors: ['Batch.AWSBatchException', 'Batch.ServerException', 'Batch.TooManyRequestsException'],
      interval: Duration.seconds(30),
      maxAttempts: 3,
      backoffRate: 2,
    });
    catchAll(train, failed);

    const runPayload = sfn.TaskInput.fromObject({ manifestUri: sfn.JsonPath.stringAt('$.ingest.manifestUri') });
    const validate = lambdaStep(this, S.validate, { fn: props.validate, payload: runPayload, resultPath: '$.validation', onError: failed });
    const promote = lambdaStep(this, S.promote, {
      fn: props.promote,
      payload: runPayload,
      resultPath: '$.promotion',
      timeout: Duration.minutes(5),
      onError: failed,
    });
    const reject = lambdaStep(this, S.reject, {
      fn: props.reject,
      payload: runPayload,
      resultPath: '$.rejection',
      timeout: Duration.minutes(5),
      onError: failed,
    });
    const notifyRejected = catchAll(
      new tasks.SnsPublish(this, S.notifyRejected, {
        topic: props.topic,
        subject: 'wdp candidate rejected',
        message: sfn.TaskInput.fromObject({
          result: 'rejected',
          runId: sfn.JsonPath.stringAt('$.validation.runId'),
          reasons: sfn.JsonPath.listAt('$.validation.reasons'),
          report: sfn.JsonPath.stringAt('$.validation.reportUri'),
          // What Ingest set aside or picked up late (src/workflow/steps/ingest.ts); `wdp days` lists held days.
          quarantined: sfn.JsonPath.listAt('$.ingest.quarantined'),
          lateFiles: sfn.JsonPath.listAt('$.ingest.lateFiles'),
          // Files never read because their name is not a safe key (rename them to train on them).
          skippedFiles: sfn.JsonPath.listAt('$.ingest.skippedFiles'),
        }),
        resultPath: sfn.JsonPath.DISCARD,
      }),
      failed,
    );

    // Files Ingest set aside (data.onBadFile "quarantine") are told to the operator at once, not
    // only if the run is later rejected; a failed notification does not stop the run.
    const notifyQuarantined = new tasks.SnsPublish(this, S.notifyQuarantined, {
      topic: props.topic,
      subject: 'wdp log files quarantined',
      message: sfn.TaskInput.fromObject({
        result: 'quarantined',
        runId: sfn.JsonPath.stringAt('$.ingest.runId'),
        quarantined: sfn.JsonPath.listAt('$.ingest.quarantined'),
        note: 'These files were set aside and not trained on; `wdp days` lists them.',
      }),
      resultPath: sfn.JsonPath.DISCARD,
    });
    notifyQuarantined.addCatch(train, { errors: [sfn.Errors.ALL], resultPath: '$.notifyQuarantinedError' });
    const afterLock = ingest.next(
      new sfn.Choice(this, S.hasNewData)
        .when(
          sfn.Condition.booleanEquals('$.ingest.hasNewData', true),
          new sfn.Choice(this, S.anyQuarantined)
            .when(sfn.Condition.isPresent('$.ingest.quarantined[0]'), notifyQuarantined.next(train))
            .otherwise(train)
            .afterwards(),
        )
        .otherwise(unlock(S.unlockNoNewData, 'no new data').next(new sfn.Succeed(this, S.noNewData))),
    );
    train.next(validate).next(
      new sfn.Choice(this, S.passed)
        .when(
          sfn.Condition.booleanEquals('$.validation.passed', true),
          promote.next(unlock(S.unlockPromoted, 'promoted')).next(new sfn.Succeed(this, S.promoted)),
        )
        .otherwise(
          reject
            .next(notifyRejected)
            .next(unlock(S.unlockRejected, 'rejected'))
            .next(
              new sfn.Fail(this, S.rejected, {
                error: 'CandidateRejected',
                cause: 'The candidate failed validation; see the notification and validation.json',
              }),
            ),
        ),
    );
    const definition = lock.next(
      new sfn.Choice(this, S.lockAcquired).when(sfn.Condition.booleanEquals('$.lock.acquired', true), afterLock).otherwise(
        new sfn.Succeed(this, S.anotherRunInProgress, {
          comment: 'Another execution holds the run lock ($.lock.message names it); this one trains nothing',
        }),
      ),
    );

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      comment: 'wdp nightly retraining: ingest → train (GPU) → validate → promote or reject',
      timeout: retrainingTimeout(props.trainTimeout, props.trainAttempts),
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.THREE_MONTHS }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: true,
      },
    });

    this.schedule = new events.Rule(this, 'Nightly', {
      description: 'Starts wdp retraining',
      schedule: events.Schedule.expression(props.schedule),
      targets: [new targets.SfnStateMachine(this.stateMachine, { input: events.RuleTargetInput.fromObject({ trigger: 'schedule' }) })],
    });

    grantPublishToEncryptedTopic(props.topic, this.stateMachine);

    this.failedAlarm = failedExecutionsAlarm(
      this,
      this.stateMachine,
      props.topic,
      'A wdp retraining execution failed (rejections count too: they end in Fail)',
    );
  }
}
