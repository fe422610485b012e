/** The retraining and batch-scoring Lambdas, each granted only the prefixes it touches (ROLE_ACCESS). */
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { RUN_LOCK_LEASE_ENV } from '../src/workflow/bucket/run-lock.ts';
import { LIVE_ALIAS } from '../src/workflow/steps/serving-target.ts';
import type { ValidationThresholdsInput } from '../src/workflow/steps/thresholds.ts';
import { grantBucketAccess, ROLE_ACCESS } from './bucket-access.ts';
import { wdpFunction } from './lambda-defaults.ts';

export interface WorkflowFunctionsProps {
  readonly bucket: s3.IBucket;
  /** `s3://bucket`, as the code takes it. */
  readonly bucketUri: string;
  readonly scoringFunction: lambda.IFunction;
  readonly validation: ValidationThresholdsInput;
  /** The run lock's lease: longer than a retraining execution may run (its state machine timeout). */
  readonly runLockLease: Duration;
}

export class WorkflowFunctions extends Construct {
  readonly runLock: nodejs.NodejsFunction;
  readonly ingest: nodejs.NodejsFunction;
  readonly validate: nodejs.NodejsFunction;
  readonly promote: nodejs.NodejsFunction;
  readonly reject: nodejs.NodejsFunction;
  readonly scoreBatch: nodejs.NodejsFunction;
  readonly batchSummary: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: WorkflowFunctionsProps) {
    super(scope, id);
    const b = props.bucket;
    const env = { WDP_BUCKET_URI: props.bucketUri };

    this.runLock = wdpFunction(this, 'RunLock', {
      entry: 'run-lock.ts',
      description: 'wdp retraining: take / release the run lock (one run at a time)',
      timeout: Duration.minutes(1),
      environment: { ...env, [RUN_LOCK_LEASE_ENV]: String(props.runLockLease.toSeconds()) },
    });
    grantBucketAccess(b, this.runLock, ROLE_ACCESS.runLock);

    this.ingest = wdpFunction(this, 'Ingest', {
      entry: 'ingest.ts',
      description: 'wdp retraining: list new partitions, write the run manifest',
      environment: env,
    });
    grantBucketAccess(b, this.ingest, ROLE_ACCESS.ingest);

    this.validate = wdpFunction(this, 'Validate', {
      entry: 'validate.ts',
      description: 'wdp retraining: holdout metrics, thresholds, serving dry run',
      memoryMiB: 4096,
      timeout: Duration.minutes(15),
      environment: { ...env, WDP_VALIDATION: JSON.stringify(props.validation) },
      onnxRuntime: true,
    });
    grantBucketAccess(b, this.validate, ROLE_ACCESS.validate);

    this.promote = wdpFunction(this, 'Promote', {
      entry: 'promote.ts',
      description: 'wdp retraining: registry, new scoring version, alias live',
      timeout: Duration.minutes(5),
      environment: { ...env, WDP_SCORING_FUNCTION_NAME: props.scoringFunction.functionName, WDP_SCORING_ALIAS: LIVE_ALIAS },
    });
    grantBucketAccess(b, this.promote, ROLE_ACCESS.promote);

    this.reject = wdpFunction(this, 'Reject', {
      entry: 'reject.ts',
      description: 'wdp retraining: record a rejected candidate',
      environment: env,
    });
    grantBucketAccess(b, this.reject, ROLE_ACCESS.reject);

    this.scoreBatch = wdpFunction(this, 'ScoreBatch', {
      entry: 'score-batch.ts',
      description: 'wdp batch scoring: score one batch of Parquet objects',
      memoryMiB: 4096,
      timeout: Duration.minutes(15),
      environment: env,
      onnxRuntime: true,
    });
    grantBucketAccess(b, this.scoreBatch, ROLE_ACCESS.scoreBatch);

    this.batchSummary = wdpFunction(this, 'BatchSummary', {
      entry: 'batch-summary.ts',
      description: 'wdp batch scoring: totals',
      environment: env,
    });
  }

  /** Grants Promote what publishing a version and moving the alias needs, on that function only. */
  allowPromoteToUpdate(fn: lambda.IFunction): void {
    this.promote.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'lambda:GetAlias',
          'lambda:GetFunctionConfiguration',
          'lambda:UpdateFunctionConfiguration',
          'lambda:PublishVersion',
          'lambda:UpdateAlias',
        ],
        resources: [fn.functionArn, `${fn.functionArn}:*`],
      }),
    );
  }
}
