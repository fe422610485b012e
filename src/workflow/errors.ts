import { WdpError } from '../util/errors.ts';

/** A workflow step cannot go on (bad event, missing manifest, inconsistent registry). */
export class WorkflowError extends WdpError {}

/** The step's input event failed validation; names the step so the execution history says which. */
export class WorkflowEventError extends WorkflowError {
  constructor(
    readonly step: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${step}: invalid event: ${message}`, options);
  }
}
