/**
 * Runs an ASL definition with aws-local-stepfunctions, every Task bound to a local function by
 * state name, printing each state as it finishes with its duration.
 */
import './polyfill.ts';
import { WorkflowError } from '../src/workflow/errors.ts';
import type { Asl } from './definition.ts';

export type LocalTaskHandler = (input: unknown) => Promise<unknown>;

export interface StateTiming {
  readonly name: string;
  readonly type: string;
  readonly seconds: number;
  readonly status: 'succeeded' | 'failed' | 'caught' | 'retried';
  readonly error?: string;
}

export interface LocalExecution {
  readonly status: 'succeeded' | 'failed';
  readonly output?: unknown;
  /** For failed executions: the Fail state's (or the uncaught) error and cause. */
  readonly error?: { readonly error: string; readonly cause: string };
  readonly states: StateTiming[];
  /** Output of each state that exited, by name (the last one when a state ran more than once). */
  readonly stateOutputs: Record<string, unknown>;
  readonly seconds: number;
}

export interface ExecuteOptions {
  readonly definition: Asl;
  readonly input: Record<string, unknown>;
  readonly handlers: Record<string, LocalTaskHandler>;
  /** @default a time-based name */
  readonly executionName?: string;
  /** Receives one line per state. */
  readonly print?: (line: string) => void;
}

export async function executeLocally(options: ExecuteOptions): Promise<LocalExecution> {
  const { StateMachine, ExecutionError } = await import('aws-local-stepfunctions');
  const print = options.print ?? (() => {});
  for (const [name, state] of Object.entries(options.definition.States)) {
    if (state.Type === 'Task' && !options.handlers[name]) throw new WorkflowError(`no local handler bound to Task state "${name}"`);
  }
  const machine = new StateMachine(options.definition as never, { validationOptions: { checkArn: false } });
  const name = options.executionName ?? `local-${new Date().toISOString().replace(/[-:.]/g, '')}`;
  const handlers = Object.fromEntries(
    Object.entries(options.handlers).map(([k, fn]) => [k, (input: unknown) => fn(input).catch(rethrowAsTaskFailure) as never]),
  );
  const started = performance.now();
  const execution = machine.run(options.input as never, {
    overrides: { taskResourceLocalHandlers: handlers },
    context: {
      Execution: {
        Id: `arn:aws:states:local:000000000000:execution:wdp:${name}`,
        Name: name,
        StartTime: new Date().toISOString(),
        Input: options.input,
        RoleArn: 'local',
      },
    } as never,
  });
  const states: StateTiming[] = [];
  const stateOutputs: Record<string, unknown> = {};
  const entered = new Map<string, number>();
  let choiceTaken: string | undefined;
  let failure: { error: string; cause: string } | undefined;
  const follow = (async () => {
    for await (const ev of execution.eventLogs) {
      const e = ev as unknown as {
        type: string;
        timestamp: number;
        state?: { name: string; type: string; output?: unknown };
        Error?: string;
        Cause?: unknown;
      };
      const st = e.state;
      if (e.type === 'StateEntered' && st) {
        // A Choice is a branch, not a step that passed: show which way it went when the next state starts.
        if (choiceTaken) print(`◇ ${choiceTaken.padEnd(15)} → ${st.name}`);
        choiceTaken = undefined;
        entered.set(st.name, e.timestamp);
        if (st.type === 'Task') print(`▶ ${st.name} …`);
      } else if ((e.type === 'StateExited' || e.type === 'StateFailed' || e.type === 'StateCaught' || e.type === 'StateRetried') && st) {
        const seconds = (e.timestamp - (entered.get(st.name) ?? e.timestamp)) / 1000;
        const status =
          e.type === 'StateExited' ? 'succeeded' : e.type === 'StateFailed' ? 'failed' : e.type === 'StateCaught' ? 'caught' : 'retried';
        const error = e.Error !== undefined ? `${e.Error}: ${String(e.Cause ?? '')}` : undefined;
        if (e.type === 'StateExited') stateOutputs[st.name] = st.output;
        if (
          e.type === 'StateCaught' ||
          e.type === 'StateRetried' ||
          e.type === 'StateExited' ||
          (e.type === 'StateFailed' && st.type !== 'Fail')
        ) {
          states.push({ name: st.name, type: st.type, seconds, status, ...(error ? { error } : {}) });
          const mark = status === 'succeeded' ? '✓' : status === 'retried' ? '↻' : '✗';
          if (st.type === 'Choice' && status === 'succeeded') choiceTaken = st.name;
          else
            print(
              `${mark} ${st.name.padEnd(15)} ${seconds.toFixed(1).padStart(6)}s${status === 'succeeded' ? '' : `  ${status}${error ? `: ${error}` : ''}`}`,
            );
        }
        if (e.type === 'StateFailed' && st.type === 'Fail') {
          states.push({ name: st.name, type: st.type, seconds: 0, status: 'failed', ...(error ? { error } : {}) });
          print(`✗ ${st.name}`);
        }
      } else if (e.type === 'ExecutionFailed') {
        failure = { error: e.Error ?? 'Error', cause: String(e.Cause ?? '') };
      }
    }
  })();
  try {
    const output = await execution.result;
    await follow;
    return { status: 'succeeded', output, states, stateOutputs, seconds: (performance.now() - started) / 1000 };
  } catch (e) {
    await follow.catch(() => {});
    if (!(e instanceof ExecutionError)) throw e;
    const err = failure ?? { error: (e as Error).name, cause: (e as Error).message };
    return { status: 'failed', error: err, states, stateOutputs, seconds: (performance.now() - started) / 1000 };
  }
}

/**
 * aws-local-stepfunctions reports a failed Task's Cause as `error.cause ?? error.message`, so an
 * error that wraps another (ErrorOptions.cause) would be reported by its inner error alone:
 * "Error: parquet file invalid" instead of "…/b.parquet: not a Parquet file (…)". On AWS a
 * Lambda's Cause carries the thrown error's own message, so the local run reports the same: the
 * name (which Retry and Catch match) and the message, without the inner error.
 */
function rethrowAsTaskFailure(e: unknown): never {
  if (!(e instanceof Error) || e.cause === undefined) throw e;
  const failure = new Error(e.message);
  failure.name = e.name;
  if (e.stack) failure.stack = e.stack;
  throw failure;
}
