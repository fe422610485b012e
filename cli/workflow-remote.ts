/** The `--remote` variants of the workflow commands, on the AWS SDK clients (mocked in tests). */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { RETRAINING_STATES, STACK_OUTPUT_NAMES } from '../src/workflow/state-names.ts';
import { ingestResultSchema } from '../src/workflow/schemas.ts';
import { ingestNoticeLines } from '../src/workflow/steps/ingest-notices.ts';
import { MODEL_URI_ENV } from '../src/scoring/env-names.ts';
import { LIVE_ALIAS } from '../src/workflow/steps/serving-target.ts';
import { invokeLive, resolveFromStack, startAndFollow, type RemoteExecution } from './aws-remote.ts';

export interface RemoteClients {
  readonly sfn?: SFNClient;
  readonly cfn?: CloudFormationClient;
  readonly lambda?: LambdaClient;
  /** @default 5000 */
  readonly pollIntervalMs?: number;
}

export async function runRemotePipeline(
  o: { stack: string; stateMachineArn?: string; print?: (l: string) => void } & RemoteClients,
): Promise<RemoteExecution> {
  const cfn = o.cfn ?? new CloudFormationClient({});
  const arn = await resolveFromStack(o.stateMachineArn, cfn, o.stack, STACK_OUTPUT_NAMES.retraining);
  const print = o.print;
  const onStateExit = (state: string, output: string | undefined) => {
    if (print && state === RETRAINING_STATES.ingest) printIngestNotices(output, print);
  };
  return startAndFollow({
    sfn: o.sfn ?? new SFNClient({}),
    stateMachineArn: arn,
    input: { trigger: 'cli' },
    ...(print ? { print, onStateExit } : {}),
    ...(o.pollIntervalMs !== undefined ? { pollIntervalMs: o.pollIntervalMs } : {}),
  });
}

/**
 * Ingest's notices (quarantined, late, off-scale and skipped files) from its state output, as a
 * local run prints them. An output the history does not hold (too large) or that is not Ingest's
 * result prints where the run's record is instead.
 */
function printIngestNotices(output: string | undefined, print: (line: string) => void): void {
  let parsed: unknown;
  try {
    parsed = output === undefined ? undefined : (JSON.parse(output) as { ingest?: unknown }).ingest;
  } catch {
    parsed = undefined;
  }
  const ingest = ingestResultSchema.safeParse(parsed);
  if (!ingest.success) {
    print("  (Ingest's result is not in the execution history: `wdp runs --remote` shows what it set aside or skipped)");
    return;
  }
  for (const line of ingestNoticeLines(ingest.data)) print(line);
}

export async function runRemoteBatch(
  o: { stack: string; stateMachineArn?: string; inputPrefix: string; outputPrefix: string; print?: (l: string) => void } & RemoteClients,
): Promise<RemoteExecution> {
  const cfn = o.cfn ?? new CloudFormationClient({});
  const arn = await resolveFromStack(o.stateMachineArn, cfn, o.stack, STACK_OUTPUT_NAMES.batchScoring);
  return startAndFollow({
    sfn: o.sfn ?? new SFNClient({}),
    stateMachineArn: arn,
    input: { inputPrefix: o.inputPrefix, outputPrefix: o.outputPrefix },
    ...(o.print ? { print: o.print } : {}),
    ...(o.pollIntervalMs !== undefined ? { pollIntervalMs: o.pollIntervalMs } : {}),
  });
}

export async function runRemoteInvoke(o: { stack: string; functionName?: string; request: unknown } & RemoteClients): Promise<unknown> {
  const fn = await resolveFromStack(o.functionName, o.cfn ?? new CloudFormationClient({}), o.stack, STACK_OUTPUT_NAMES.scoringFunction);
  return invokeLive(o.lambda ?? new LambdaClient({}), fn, o.request);
}

/** `s3://<bucket>` of the deployed stack (its BucketName output). */
export async function remoteBucketUri(o: { stack: string; bucket?: string } & RemoteClients): Promise<string> {
  const name = await resolveFromStack(o.bucket, o.cfn ?? new CloudFormationClient({}), o.stack, STACK_OUTPUT_NAMES.bucket);
  return name.startsWith('s3://') ? name : `s3://${name}`;
}

/**
 * The model URI alias `live` serves (WDP_MODEL_URI of the version it points at); null when that
 * version has none (published by `cdk deploy`: it serves the registry's champion).
 */
export async function remoteServedUri(o: { stack: string; functionName?: string } & RemoteClients): Promise<string | null> {
  const fn = await resolveFromStack(o.functionName, o.cfn ?? new CloudFormationClient({}), o.stack, STACK_OUTPUT_NAMES.scoringFunction);
  const lambda = o.lambda ?? new LambdaClient({});
  const alias = await lambda.send(new GetAliasCommand({ FunctionName: fn, Name: LIVE_ALIAS }));
  if (!alias.FunctionVersion) return null;
  const config = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: fn, Qualifier: alias.FunctionVersion }));
  return config.Environment?.Variables?.[MODEL_URI_ENV] || null;
}
