/**
 * The online scoring Lambda (lambdas/score.ts, built by the scoring package) with alias `live`.
 * Promote publishes a new version whose WDP_MODEL_URI names the new model and moves the alias;
 * older versions stay for rollback (`aws lambda update-alias --function-version N`).
 */
import { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { PREFIXES } from '../src/workflow/bucket/layout.ts';
import { LIVE_ALIAS, MODEL_URI_ENV } from '../src/workflow/steps/serving-target.ts';
import { grantBucketAccess, ROLE_ACCESS } from './bucket-access.ts';
import { wdpFunction } from './lambda-defaults.ts';

export interface ScoringServiceProps {
  readonly bucket: s3.IBucket;
  /** @default 2048 */
  readonly memoryMiB?: number;
  /** Provisioned concurrency of alias `live`; 0 leaves it on demand. @default 0 */
  readonly provisionedConcurrency?: number;
  /** Add a Function URL with IAM auth on alias `live`. @default false */
  readonly functionUrl?: boolean;
}

export class ScoringService extends Construct {
  readonly function: nodejs.NodejsFunction;
  /** Alias `live`: what clients call, and what Promote moves. */
  readonly alias: lambda.Alias;
  readonly functionUrl?: lambda.FunctionUrl;

  constructor(scope: Construct, id: string, props: ScoringServiceProps) {
    super(scope, id);
    this.function = wdpFunction(this, 'Function', {
      entry: 'score.ts',
      description: 'wdp online scoring (the model is WDP_MODEL_URI of the published version)',
      memoryMiB: props.memoryMiB ?? 2048,
      onnxRuntime: true,
      timeout: Duration.seconds(30),
      // Empty in the template: Promote publishes versions naming their model; a version published
      // by a redeploy serves the registry's champion instead (lambdas/score.ts).
      environment: { [MODEL_URI_ENV]: '', WDP_REGISTRY_URI: props.bucket.s3UrlForObject(`${PREFIXES.registry}registry.json`) },
    });
    grantBucketAccess(props.bucket, this.function, ROLE_ACCESS.scoring);
    const provisioned = props.provisionedConcurrency ?? 0;
    this.alias = new lambda.Alias(this, 'Live', {
      aliasName: LIVE_ALIAS,
      version: this.function.currentVersion,
      ...(provisioned > 0 ? { provisionedConcurrentExecutions: provisioned } : {}),
    });
    if (props.functionUrl) this.functionUrl = this.alias.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
  }

  /** Lets `grantee` call alias `live` (and its Function URL, if any). */
  grantInvoke(grantee: iam.IGrantable): void {
    this.alias.grantInvoke(grantee);
    this.functionUrl?.grantInvokeUrl(grantee);
  }
}
