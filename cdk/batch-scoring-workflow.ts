/**
 * The batch-scoring state machine: a Distributed Map lists the objects under `$.inputPrefix`
 * (S3 ItemReader), hands them to the ScoreBatch Lambda in batches (ItemBatcher), and a Summary
 * step totals the results; prefixes outside batch/input/ and batch/output/ are refused first.
 * Execution input:
 *   { "inputPrefix": "batch/input/2026-01-05/", "outputPrefix": "batch/output/2026-01-05/" }
 */
import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PREFIXES } from '../src/workflow/bucket/layout.ts';
import { BATCH_STATES as S } from '../src/workflow/state-names.ts';
import { failedExecutionsAlarm, failedFrom, failureChain, grantPublishToEncryptedTopic } from './failure.ts';
import { lambdaStep } from './lambda-task.ts';

/** The states in front of the Map that check the prefixes (no Task: the local runner binds none). */
export const BATCH_PREFIX_STATES = { check: 'CheckPrefixes', refused: 'PrefixNotAllowed' } as const;

export interface BatchScoringWorkflowProps {
  readonly bucket: s3.IBucket;
  readonly bucketUri: string;
  readonly scoreBatch: lambda.IFunction;
  readonly summarize: lambda.IFunction;
  readonly topic: sns.ITopic;
  /** Objects per Lambda invocation: amortises the model load over several objects. */
  readonly maxItemsPerBatch: number;
  /** Parallel Lambda invocations: bounded so a big prefix cannot exhaust account concurrency. */
  readonly maxConcurrency: number;
  /** A few bad objects should not fail a night's scoring; more than this share does. */
  readonly toleratedFailurePercentage: number;
}

export class BatchScoringWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly failedAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: BatchScoringWorkflowProps) {
    super(scope, id);
    const notifyFailed = failureChain(this, {
      topic: props.topic,
      notifyStateName: S.notifyFailure,
      failStateName: S.failed,
      subject: 'wdp batch scoring failed',
      error: 'BatchScoringFailed',
      cause: 'Too many objects failed, or a step failed',
      next: 'Fix what the failure names, then start the batch again (`wdp score-batch --remote`); the batch report (`_report.html` under the output prefix), when written, names the objects that failed.',
    });
    const failed = (state: string) => failedFrom(this, state, notifyFailed);

    const map = new sfn.DistributedMap(this, S.map, {
      itemReader: new sfn.S3ObjectsItemReader({ bucket: props.bucket, prefix: sfn.JsonPath.stringAt('$.inputPrefix') }),
      itemBatcher: new sfn.ItemBatcher({
        maxItemsPerBatch: props.maxItemsPerBatch,
        // ItemBatcher renders BatchInput verbatim (JsonPath tokens would stay literal strings),
        // so the path fields carry the ASL `.$` suffix themselves.
        batchInput: {
          bucketUri: props.bucketUri,
          'inputPrefix.$': '$.inputPrefix',
          'outputPrefix.$': '$.outputPrefix',
        },
      }),
      maxConcurrency: props.maxConcurrency,
      toleratedFailurePercentage: props.toleratedFailurePercentage,
      mapExecutionType: sfn.StateMachineType.STANDARD,
      resultPath: '$.batches',
    });
    map.itemProcessor(
      lambdaStep(this, S.scoreBatch, {
        fn: props.scoreBatch,
        // Keep only counts: the Map's collected results must stay under the 256 KiB state limit.
        resultSelector: {
          objects: sfn.JsonPath.numberAt('$.objects'),
          skipped: sfn.JsonPath.numberAt('$.skipped'),
          rows: sfn.JsonPath.numberAt('$.rows'),
        },
      }),
    );
    map.addCatch(failed(S.map), { errors: [sfn.Errors.ALL], resultPath: '$.error' });

    const summarize = lambdaStep(this, S.summarize, {
      fn: props.summarize,
      payload: sfn.TaskInput.fromObject({
        input: {
          bucketUri: props.bucketUri,
          inputPrefix: sfn.JsonPath.stringAt('$.inputPrefix'),
          outputPrefix: sfn.JsonPath.stringAt('$.outputPrefix'),
        },
        batches: sfn.JsonPath.listAt('$.batches'),
      }),
      resultPath: '$.summary',
      timeout: Duration.minutes(1),
      onError: failed,
    });

    // ScoreBatch may read only batch/input/ and write only batch/output/ (cdk/bucket-access.ts):
    // any other prefix fails here, at once and by name, not as AccessDenied on every object.
    const prefixes = new sfn.Choice(this, BATCH_PREFIX_STATES.check)
      .when(
        sfn.Condition.and(
          sfn.Condition.isString('$.inputPrefix'),
          sfn.Condition.isString('$.outputPrefix'),
          sfn.Condition.stringMatches('$.inputPrefix', `${PREFIXES.batchInput}*`),
          sfn.Condition.stringMatches('$.outputPrefix', `${PREFIXES.batchOutput}*`),
        ),
        map.next(summarize),
      )
      .otherwise(
        new sfn.Fail(this, BATCH_PREFIX_STATES.refused, {
          error: 'PrefixNotAllowed',
          cause: `inputPrefix must start with ${PREFIXES.batchInput} and outputPrefix with ${PREFIXES.batchOutput} (the only prefixes batch scoring may read and write)`,
        }),
      );

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(prefixes),
      comment: 'wdp batch scoring: Distributed Map over Parquet objects, then a summary',
      timeout: Duration.hours(12),
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.THREE_MONTHS }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: true,
      },
    });
    grantPublishToEncryptedTopic(props.topic, this.stateMachine);

    this.failedAlarm = failedExecutionsAlarm(this, this.stateMachine, props.topic, 'A wdp batch-scoring execution failed');
  }
}
