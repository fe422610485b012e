/**
 * The whole wdp deployment: bucket, scoring Lambda with alias `live`, GPU training on Batch, the
 * retraining and batch-scoring state machines, notifications and alarms. Environment-agnostic:
 * synth does no lookups and needs no credentials.
 */
import { CfnOutput, Duration, Stack, type CfnElement, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct, IConstruct } from 'constructs';
import { BatchScoringWorkflow } from './batch-scoring-workflow.ts';
import { accessedPrefixes, nagAccess, ROLE_ACCESS } from './bucket-access.ts';
import { DataBucket } from './data-bucket.ts';
import { acknowledgeFindings } from './nag.ts';
import { RetrainingWorkflow, retrainingTimeout } from './retraining-workflow.ts';
import { ScoringService } from './scoring-service.ts';
import type { WdpSettings } from './settings.ts';
import { TrainingJob } from './training-job.ts';
import { WorkflowFunctions } from './workflow-functions.ts';
import { STACK_OUTPUT_NAMES } from '../src/workflow/state-names.ts';

export interface WdpStackProps extends StackProps {
  readonly settings: WdpSettings;
}

/** Output names the CLI reads (`wdp pipeline --remote` finds the state machines by these). */
export const STACK_OUTPUTS = STACK_OUTPUT_NAMES;

export class WdpStack extends Stack {
  readonly data: DataBucket;
  readonly scoring: ScoringService;
  readonly training: TrainingJob;
  readonly functions: WorkflowFunctions;
  readonly topic: sns.Topic;
  readonly retraining: RetrainingWorkflow;
  readonly batchScoring: BatchScoringWorkflow;

  constructor(scope: Construct, id: string, props: WdpStackProps) {
    super(scope, id, props);
    const s = props.settings;

    this.data = new DataBucket(this, 'Data', {
      candidateRetentionDays: s.candidateRetentionDays,
      noncurrentVersionDays: s.noncurrentVersionDays,
    });
    const bucket = this.data.bucket;

    // A customer key, because CloudWatch alarms cannot publish to a topic under aws/sns.
    const topicKey = new kms.Key(this, 'TopicKey', { enableKeyRotation: true, description: 'wdp notification topic' });
    topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'], // in a key policy, '*' means this key
      }),
    );
    this.topic = new sns.Topic(this, 'Notifications', { displayName: 'wdp workflow', masterKey: topicKey, enforceSSL: true });
    if (s.notificationEmail) this.topic.addSubscription(new subs.EmailSubscription(s.notificationEmail));

    this.scoring = new ScoringService(this, 'Scoring', {
      bucket,
      topic: this.topic,
      memoryMiB: s.scoringMemoryMiB,
      provisionedConcurrency: s.scoringProvisionedConcurrency,
      functionUrl: s.functionUrl,
      contextFeatures: s.scoringContextFeatures,
    });

    this.training = new TrainingJob(this, 'Training', {
      bucket,
      instanceTypes: s.gpuInstanceTypes,
      spot: s.spot,
      maxvCpus: s.maxvCpus,
      vcpus: s.trainVcpus,
      memoryMiB: s.trainMemoryMiB,
      timeout: Duration.hours(s.trainTimeoutHours),
      attempts: s.trainAttempts,
    });

    this.functions = new WorkflowFunctions(this, 'Functions', {
      bucket,
      bucketUri: this.data.uri,
      scoringFunction: this.scoring.function,
      validation: s.validation,
      // An hour past the machine's own timeout: a run that timed out holding the lock frees it then.
      runLockLease: Duration.seconds(retrainingTimeout(Duration.hours(s.trainTimeoutHours), s.trainAttempts).toSeconds() + 3600),
    });
    this.functions.allowPromoteToUpdate(this.scoring.function);

    this.retraining = new RetrainingWorkflow(this, 'Retraining', {
      runLock: this.functions.runLock,
      ingest: this.functions.ingest,
      validate: this.functions.validate,
      promote: this.functions.promote,
      reject: this.functions.reject,
      jobQueue: this.training.jobQueue,
      jobDefinition: this.training.jobDefinition,
      topic: this.topic,
      schedule: s.schedule,
      trainTimeout: Duration.hours(s.trainTimeoutHours),
      trainAttempts: s.trainAttempts,
    });

    this.batchScoring = new BatchScoringWorkflow(this, 'BatchScoring', {
      bucket,
      bucketUri: this.data.uri,
      scoreBatch: this.functions.scoreBatch,
      summarize: this.functions.batchSummary,
      topic: this.topic,
      maxItemsPerBatch: s.batchItemsPerBatch,
      maxConcurrency: s.batchMaxConcurrency,
      toleratedFailurePercentage: s.batchToleratedFailurePercentage,
    });

    new CfnOutput(this, STACK_OUTPUTS.bucket, { value: bucket.bucketName });
    new CfnOutput(this, STACK_OUTPUTS.retraining, { value: this.retraining.stateMachine.stateMachineArn });
    new CfnOutput(this, STACK_OUTPUTS.batchScoring, { value: this.batchScoring.stateMachine.stateMachineArn });
    new CfnOutput(this, STACK_OUTPUTS.scoringFunction, { value: this.scoring.function.functionName });
    new CfnOutput(this, STACK_OUTPUTS.scoringAlias, { value: this.scoring.alias.functionArn });
    new CfnOutput(this, STACK_OUTPUTS.topic, { value: this.topic.topicArn });
    if (this.scoring.functionUrl) new CfnOutput(this, STACK_OUTPUTS.functionUrl, { value: this.scoring.functionUrl.url });

    const f = this.functions;
    const lid = (c: IConstruct) => this.getLogicalId(c.node.defaultChild as CfnElement);
    acknowledgeFindings(this, {
      bucketLogicalId: lid(bucket),
      functions: [
        { fn: f.runLock, ...nagAccess(ROLE_ACCESS.runLock) },
        { fn: f.ingest, ...nagAccess(ROLE_ACCESS.ingest) },
        { fn: f.validate, ...nagAccess(ROLE_ACCESS.validate) },
        { fn: f.promote, ...nagAccess(ROLE_ACCESS.promote) },
        { fn: f.reject, ...nagAccess(ROLE_ACCESS.reject) },
        { fn: f.scoreBatch, ...nagAccess(ROLE_ACCESS.scoreBatch) },
        { fn: f.batchSummary, ...nagAccess(ROLE_ACCESS.batchSummary) },
        { fn: this.scoring.function, ...nagAccess(ROLE_ACCESS.scoring) },
      ],
      scoringFunctionLogicalId: lid(this.scoring.function),
      promoteFunction: f.promote,
      retrainingStateMachine: this.retraining.stateMachine,
      retrainingFunctionLogicalIds: [f.runLock, f.ingest, f.validate, f.promote, f.reject].map(lid),
      batchStateMachine: this.batchScoring.stateMachine,
      batchFunctionLogicalIds: [f.scoreBatch, f.batchSummary].map(lid),
      batchStateMachineLogicalId: lid(this.batchScoring.stateMachine),
      trainingJobRole: this.training.jobRole,
      trainingPrefixes: accessedPrefixes(ROLE_ACCESS.training),
      trainingContainer: this.training.container,
      computeEnvironment: this.training.computeEnvironment,
    });
  }
}
