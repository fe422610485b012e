/**
 * A failed task of a deployed state machine, told as a local run tells it (local/execute.ts:
 * `<state>: <error>: <message>`). Step Functions records a Lambda's failure with the error payload
 * as Cause — `{"errorType","errorMessage","trace"}`, a stack trace included — and the failure event
 * without its state's name, so printed raw the operator read JSON and `TaskFailed` where a local
 * run says which step failed and why.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { z } from 'zod';

/** What the Node.js Lambda runtime reports for a thrown error (the trace is left out on purpose). */
const lambdaErrorSchema = z.object({ errorType: z.string(), errorMessage: z.string() });

/**
 * The message of a task failure's Cause: a Lambda's error payload gives its errorMessage; any
 * other cause (a Batch job's description, States.Timeout's text) is returned as recorded.
 */
export function failureMessage(cause: string | undefined): string {
  if (!cause) return '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(cause);
  } catch {
    return cause;
  }
  const lambdaError = lambdaErrorSchema.safeParse(parsed);
  return lambdaError.success ? lambdaError.data.errorMessage : cause;
}

/**
 * The state a task event belongs to: its previousEventId chain (TaskFailed → TaskStarted →
 * TaskScheduled → TaskStateEntered) leads to the event that entered the state, which names it.
 */
export function stateOfEvent(ev: HistoryEvent, byId: ReadonlyMap<number, HistoryEvent>): string | undefined {
  let at: HistoryEvent | undefined = ev;
  for (let hops = 0; at && hops < 16; hops++) {
    if (at.stateEnteredEventDetails?.name) return at.stateEnteredEventDetails.name;
    at = at.previousEventId !== undefined ? byId.get(at.previousEventId) : undefined;
  }
  return undefined;
}

/** `<state>: <error>: <message>` for a failed task event; undefined for any other event. */
export function describeTaskFailure(ev: HistoryEvent, byId: ReadonlyMap<number, HistoryEvent>): string | undefined {
  const failed = ev.taskFailedEventDetails ?? ev.lambdaFunctionFailedEventDetails;
  if (!failed) return undefined;
  return `${stateOfEvent(ev, byId) ?? ev.type}: ${failed.error ?? 'error'}: ${failureMessage(failed.cause)}`;
}
