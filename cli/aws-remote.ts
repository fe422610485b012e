/**
 * The deployed stack from the command line: find the state machines in the stack's outputs,
 * start an execution, follow its history (printing each state as it completes), and invoke the
 * scoring alias `live`.
 */
import { type CloudFormationClient, DescribeStacksCommand, type DescribeStacksCommandOutput } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  StartExecutionCommand,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { WorkflowError } from '../src/workflow/errors.ts';
import { awsSetupHint } from './aws-setup.ts';
import { describeTaskFailure, stateOfEvent } from './remote-failure.ts';
import { LIVE_ALIAS } from '../src/workflow/steps/serving-target.ts';

/** The stack's outputs as a name → value map. */
export async function stackOutputs(cfn: CloudFormationClient, stackName: string, wanted?: string): Promise<Record<string, string>> {
  let r: DescribeStacksCommandOutput;
  try {
    r = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
  } catch (e) {
    const what = `the outputs of stack ${stackName}${wanted ? ` (${wanted})` : ''}`;
    const hint = awsSetupHint(e, what);
    if (hint) throw new WorkflowError(`${hint} Pass --stack NAME if the stack is not named ${stackName}.`);
    throw e;
  }
  const stack = r.Stacks?.[0];
  if (!stack) throw new WorkflowError(`stack ${stackName} not found`);
  return Object.fromEntries((stack.Outputs ?? []).filter((o) => o.OutputKey && o.OutputValue).map((o) => [o.OutputKey!, o.OutputValue!]));
}

/** A flag's value, or the named stack output. */
export async function resolveFromStack(
  explicit: string | undefined,
  cfn: CloudFormationClient,
  stackName: string,
  output: string,
): Promise<string> {
  if (explicit) return explicit;
  const outputs = await stackOutputs(cfn, stackName, output);
  const v = outputs[output];
  if (!v) throw new WorkflowError(`stack ${stackName} has no output ${output}; pass it explicitly`);
  return v;
}

export interface FollowOptions {
  readonly sfn: SFNClient;
  readonly stateMachineArn: string;
  readonly input: Record<string, unknown>;
  readonly print?: (line: string) => void;
  /** @default 5000 */
  readonly pollIntervalMs?: number;
  /** @default an SFN-generated name */
  readonly name?: string;
  /**
   * Called when a state ends, with its output as the history records it (a JSON text; absent when
   * the machine logs no execution data, or too large for the history), after its line is printed.
   */
  readonly onStateExit?: (state: string, output: string | undefined) => void;
}

export interface RemoteExecution {
  readonly executionArn: string;
  readonly status: string;
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /** The last task that failed, `<state>: <error>: <message>` (the Fail state's own cause is generic). */
  readonly failedTask?: string;
}

/** Starts an execution and prints each state as it completes, until the execution ends. */
export async function startAndFollow(options: FollowOptions): Promise<RemoteExecution> {
  const print = options.print ?? (() => {});
  const started = await options.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: options.stateMachineArn,
      input: JSON.stringify(options.input),
      ...(options.name ? { name: options.name } : {}),
    }),
  );
  const executionArn = started.executionArn!;
  print(`started ${executionArn}`);
  const enteredAt = new Map<string, Date>();
  let seen = 0;
  let failedTask: { readonly state: string | undefined; readonly text: string } | undefined;
  for (;;) {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await options.sfn.send(
        new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, ...(nextToken ? { nextToken } : {}) }),
      );
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    const byId = new Map(events.map((ev) => [ev.id ?? -1, ev]));
    for (const ev of events.slice(seen)) {
      const failed = describeEvent(ev, enteredAt, byId, print);
      const exited = ev.stateExitedEventDetails;
      if (exited?.name) options.onStateExit?.(exited.name, exited.outputDetails?.truncated ? undefined : exited.output);
      if (failed) failedTask = { state: stateOfEvent(ev, byId), text: failed };
      // A retry of that task succeeded: its failure is not why the execution ends.
      else if ((ev.taskSucceededEventDetails ?? ev.lambdaFunctionSucceededEventDetails) && stateOfEvent(ev, byId) === failedTask?.state)
        failedTask = undefined;
    }
    seen = events.length;
    const d = await options.sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status && d.status !== 'RUNNING' && d.status !== 'PENDING_REDRIVE') {
      const output = d.output ? (JSON.parse(d.output) as unknown) : undefined;
      const at = d.status === 'FAILED' && failedTask ? ` (at ${failedTask.text})` : '';
      print(`${d.status}${d.error ? `: ${d.error}: ${d.cause ?? ''}` : ''}${at}`);
      return {
        executionArn,
        status: d.status,
        ...(output !== undefined ? { output } : {}),
        ...(d.error ? { error: d.error } : {}),
        ...(d.cause ? { cause: d.cause } : {}),
        ...(d.status === 'FAILED' && failedTask ? { failedTask: failedTask.text } : {}),
      };
    }
    await new Promise((r) => setTimeout(r, options.pollIntervalMs ?? 5000));
  }
}

/** Prints `ev` when it ends a state; returns the failure it reports, when it is a failed task. */
function describeEvent(
  ev: HistoryEvent,
  enteredAt: Map<string, Date>,
  byId: ReadonlyMap<number, HistoryEvent>,
  print: (line: string) => void,
): string | undefined {
  const entered = ev.stateEnteredEventDetails;
  if (entered?.name) {
    enteredAt.set(entered.name, ev.timestamp ?? new Date());
    return;
  }
  const exited = ev.stateExitedEventDetails;
  if (exited?.name) {
    const t0 = enteredAt.get(exited.name);
    const seconds = t0 && ev.timestamp ? (ev.timestamp.getTime() - t0.getTime()) / 1000 : 0;
    print(`✓ ${exited.name.padEnd(15)} ${seconds.toFixed(1).padStart(7)}s`);
    return;
  }
  const failed = describeTaskFailure(ev, byId);
  if (failed) print(`✗ ${failed}`);
  return failed;
}

/** Sends one request to the scoring alias `live` and returns its parsed response. */
export async function invokeLive(lambda: LambdaClient, functionName: string, payload: unknown): Promise<unknown> {
  const r = await lambda.send(
    new InvokeCommand({ FunctionName: functionName, Qualifier: LIVE_ALIAS, Payload: new TextEncoder().encode(JSON.stringify(payload)) }),
  );
  const text = r.Payload ? new TextDecoder().decode(r.Payload) : 'null';
  if (r.FunctionError) throw new WorkflowError(`scoring function error (${r.FunctionError}): ${text}`);
  return JSON.parse(text) as unknown;
}
