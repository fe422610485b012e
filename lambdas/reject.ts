/** Reject Lambda: records a failed validation in the registry history; champion and alias stay. */
import { rejectRun } from '../src/workflow/steps/promote.ts';
import { parseEvent, runEventSchema, type RejectResult } from '../src/workflow/schemas.ts';
import { silentLogger, type Logger } from '../src/util/log.ts';
import { observe } from './shared/runtime.ts';

export function createRejectHandler(logger: Logger = silentLogger) {
  return async (event: unknown): Promise<RejectResult> => {
    const { manifestUri } = parseEvent('Reject', runEventSchema, event);
    return rejectRun({ manifestUri, logger });
  };
}

export const handler = observe('Reject', (event: unknown, logger) => createRejectHandler(logger)(event));
