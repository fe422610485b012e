/**
 * State names of the two state machines. The CDK definitions use them, and the local runner binds
 * each Task state to its in-process handler by name, so they must agree: both import them here.
 */
export const RETRAINING_STATES = {
  lock: 'Lock',
  lockAcquired: 'LockAcquired',
  anotherRunInProgress: 'AnotherRunInProgress',
  ingest: 'Ingest',
  hasNewData: 'HasNewData',
  anyQuarantined: 'AnyQuarantined',
  notifyQuarantined: 'NotifyQuarantined',
  unlockNoNewData: 'UnlockNoNewData',
  noNewData: 'NoNewData',
  train: 'Train',
  validate: 'Validate',
  passed: 'Passed',
  promote: 'Promote',
  unlockPromoted: 'UnlockPromoted',
  promoted: 'Promoted',
  reject: 'Reject',
  notifyRejected: 'NotifyRejected',
  unlockRejected: 'UnlockRejected',
  rejected: 'Rejected',
  unlockFailed: 'UnlockFailed',
  notifyFailure: 'NotifyFailure',
  failed: 'Failed',
} as const;

export const BATCH_STATES = {
  map: 'ScoreObjects',
  scoreBatch: 'ScoreBatch',
  summarize: 'Summarize',
  notifyFailure: 'NotifyBatchFailure',
  failed: 'BatchFailed',
} as const;

/**
 * The states that word a caught error for the failure notification (cdk/failure.ts), the same in
 * both machines; and the suffix of the Pass state that names where it was caught (`IngestFailed`).
 */
export const FAILURE_STATES = {
  describe: 'DescribeFailure',
  readLambdaError: 'ReadLambdaError',
  parseLambdaError: 'ParseLambdaError',
  lambdaErrorMessage: 'LambdaErrorMessage',
  asRecorded: 'FailureAsRecorded',
  withoutCause: 'FailureWithoutCause',
} as const;
export const FAILED_FROM_SUFFIX = 'Failed';

/** CloudFormation output names of the stack; the CLI's --remote commands look them up. */
export const STACK_OUTPUT_NAMES = {
  bucket: 'BucketName',
  retraining: 'RetrainingStateMachineArn',
  batchScoring: 'BatchScoringStateMachineArn',
  scoringFunction: 'ScoringFunctionName',
  scoringAlias: 'ScoringAliasArn',
  functionUrl: 'ScoringFunctionUrl',
  topic: 'NotificationTopicArn',
} as const;
