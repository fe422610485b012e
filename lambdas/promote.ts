/** Promote Lambda: registry entry, new scoring Lambda version with the model, alias `live` moved. */
import { promoteRun } from '../src/workflow/steps/promote.ts';
import { parseEvent, runEventSchema, type PromoteResult } from '../src/workflow/schemas.ts';
import { LambdaServingTarget, type ServingTarget } from '../src/workflow/steps/serving-target.ts';
import { silentLogger, type Logger } from '../src/util/log.ts';
import { observe, once, requireEnv } from './shared/runtime.ts';

export interface PromoteSettings {
  readonly serving: ServingTarget;
}

export function createPromoteHandler(settings: PromoteSettings, logger: Logger = silentLogger) {
  return async (event: unknown): Promise<PromoteResult> => {
    const { manifestUri } = parseEvent('Promote', runEventSchema, event);
    return promoteRun({ manifestUri, serving: settings.serving, logger });
  };
}

const settings = once(
  (): PromoteSettings => ({
    serving: new LambdaServingTarget({
      functionName: requireEnv('WDP_SCORING_FUNCTION_NAME'),
      alias: process.env.WDP_SCORING_ALIAS || 'live',
    }),
  }),
);

export const handler = observe('Promote', (event: unknown, logger) => createPromoteHandler(settings(), logger)(event));
