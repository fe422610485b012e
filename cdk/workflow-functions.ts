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
      description: 'wdp batch scoring: totals and the batch report',
      // Reads up to MAX_HISTOGRAM_SCORES scores for the report's histogram.
      memoryMiB: 1024,
      timeout: Duration.minutes(5),
      environment: env,
    });
    grantBucketAccess(b, this.batchSummary, ROLE_ACCESS.batchSummary);
  }

  /**
   * Grants Promote what pointing `live` at a new model takes, on the scoring function only.
   *
   * Promote gives every model its own immutable Lambda version, so that a rollback is an alias
   * move: it sets WDP_MODEL_URI on $LATEST (UpdateFunctionConfiguration), publishes a version and
   * moves the alias. A version is a snapshot of $LATEST's configuration, and PublishVersion makes
   * none while nothing changed, so setting the configuration cannot be avoided in this design.
   * IAM cannot limit UpdateFunctionConfiguration to the environment (no condition key names the
   * fields a request changes), so the grant is bounded instead:
   *   - on the unqualified function ARN only (the call can change only $LATEST; published
   *     versions, and the one `live` serves, are immutable);
   *   - no iam:PassRole, so the execution role cannot be swapped; no ec2:Describe*, lambda:
   *     GetLayerVersion or KMS grants, which a VPC, layer or key change would also need; and an
   *     explicit Deny on requests that carry layers or a VPC, should those ever be granted;
   *   - the alias calls on `live` only; PublishVersion on the function only.
   * What stays possible is changing $LATEST's environment, handler or limits, which takes effect
   * only through a published version and the alias move this role exists to make.
   */
  allowPromoteToUpdate(fn: lambda.IFunction, alias: string = LIVE_ALIAS): void {
    const aliasArn = `${fn.functionArn}:${alias}`;
    const statements = [
      // Read-only: the configuration of the version `live` points at (a qualified ARN).
      new iam.PolicyStatement({ actions: ['lambda:GetFunctionConfiguration'], resources: [fn.functionArn, `${fn.functionArn}:*`] }),
      new iam.PolicyStatement({ actions: ['lambda:UpdateFunctionConfiguration', 'lambda:PublishVersion'], resources: [fn.functionArn] }),
      // Both forms: alias calls are authorized on the function ARN or on the alias's own ARN.
      new iam.PolicyStatement({ actions: ['lambda:GetAlias', 'lambda:UpdateAlias'], resources: [fn.functionArn, aliasArn] }),
      ...(['lambda:Layer', 'lambda:VpcIds'] as const).map(
        (key) =>
          new iam.PolicyStatement({
            effect: iam.Effect.DENY,
            actions: ['lambda:UpdateFunctionConfiguration'],
            resources: [fn.functionArn],
            conditions: { Null: { [key]: 'false' } },
          }),
      ),
    ];
    for (const statement of statements) this.promote.addToRolePolicy(statement);
  }
}
