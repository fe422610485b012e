/**
 * The online scoring Lambda (lambdas/score.ts, built by the scoring package) with alias `live`.
 * Promote publishes a new version whose WDP_MODEL_URI names the new model and moves the alias;
 * older versions stay for rollback (`aws lambda update-alias --function-version N`).
 * Alarms on its own metrics notify the stack's topic (see `serverErrorsAlarm`).
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { SCORING_METRICS } from '../src/scoring/metric-names.ts';
import { REGISTRY_KEY } from '../src/workflow/bucket/layout.ts';
import { MODEL_URI_ENV, REGISTRY_URI_ENV } from '../src/scoring/env-names.ts';
import { LIVE_ALIAS } from '../src/workflow/steps/serving-target.ts';
import { grantBucketAccess, ROLE_ACCESS } from './bucket-access.ts';
import { anyCountAlarm } from './failure.ts';
import { wdpFunction } from './lambda-defaults.ts';

export interface ScoringServiceProps {
  readonly bucket: s3.IBucket;
  /** Where the alarms notify (the stack's notification topic). */
  readonly topic: sns.ITopic;
  /** @default 2048 */
  readonly memoryMiB?: number;
  /** Provisioned concurrency of alias `live`; 0 leaves it on demand. @default 0 */
  readonly provisionedConcurrency?: number;
  /** Add a Function URL with IAM auth on alias `live`. @default false */
  readonly functionUrl?: boolean;
  /** WDP_CONTEXT_FEATURES of the function (comma-separated); empty leaves it unset. @default '' */
  readonly contextFeatures?: string;
}

export class ScoringService extends Construct {
  readonly function: nodejs.NodejsFunction;
  /** Alias `live`: what clients call, and what Promote moves. */
  readonly alias: lambda.Alias;
  readonly functionUrl?: lambda.FunctionUrl;
  /**
   * Any 5xx answer (internal error, model not loadable, misconfiguration) within 5 minutes. The
   * handler answers failures instead of throwing them (a thrown error would reach the caller with
   * its stack), so Lambda's own Errors metric stays 0 and only the function's serverErrors counts.
   */
  readonly serverErrorsAlarm: cloudwatch.Alarm;
  /** A cold start found the pinned WDP_MODEL_URI is not the registry's champion (lambdas/score.ts). */
  readonly championMismatchAlarm: cloudwatch.Alarm;

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
      environment: {
        [MODEL_URI_ENV]: '',
        [REGISTRY_URI_ENV]: props.bucket.s3UrlForObject(REGISTRY_KEY),
        ...(props.contextFeatures ? { WDP_CONTEXT_FEATURES: props.contextFeatures } : {}),
      },
    });
    grantBucketAccess(props.bucket, this.function, ROLE_ACCESS.scoring);
    const provisioned = props.provisionedConcurrency ?? 0;
    this.alias = new lambda.Alias(this, 'Live', {
      aliasName: LIVE_ALIAS,
      version: this.function.currentVersion,
      ...(provisioned > 0 ? { provisionedConcurrentExecutions: provisioned } : {}),
    });
    if (props.functionUrl) this.functionUrl = this.alias.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });

    this.serverErrorsAlarm = this.#alarmOnCount(
      'ServerErrorsAlarm',
      SCORING_METRICS.serverErrors,
      props.topic,
      'wdp scoring answered 5xx (internal error, or the model could not be loaded: see the metric modelLoadFailures and the function logs)',
    );
    this.championMismatchAlarm = this.#alarmOnCount(
      'ChampionMismatchAlarm',
      SCORING_METRICS.championMismatch,
      props.topic,
      "wdp scoring serves a pinned model the registry does not name as champion (the registry is missing, unreadable or was changed by hand): see the function's logs",
    );
  }

  /**
   * Sum ≥ 1 within 5 minutes of a count the scoring function publishes, notifying `topic`. The
   * metric is exactly what Powertools publishes: namespace, name and the one `service` dimension.
   */
  #alarmOnCount(id: string, metricName: string, topic: sns.ITopic, description: string): cloudwatch.Alarm {
    const metric = new cloudwatch.Metric({
      namespace: SCORING_METRICS.namespace,
      metricName,
      dimensionsMap: { [SCORING_METRICS.serviceDimension]: SCORING_METRICS.service },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
    });
    return anyCountAlarm(this, id, metric, topic, description);
  }

  /** Lets `grantee` call alias `live` (and its Function URL, if any). */
  grantInvoke(grantee: iam.IGrantable): void {
    this.alias.grantInvoke(grantee);
    this.functionUrl?.grantInvokeUrl(grantee);
  }
}
