/** Validate Lambda: holdout metrics for candidate and champion, serving dry run, report. */
import { parseEvent, runEventSchema, type ValidateResult } from '../src/workflow/schemas.ts';
import { parseThresholdsText, type ValidationThresholds } from '../src/workflow/steps/thresholds.ts';
import { validateRun } from '../src/workflow/steps/validate.ts';
import type { ServingScorerFactory } from '../src/workflow/steps/serving-dry-run.ts';
import { silentLogger, type Logger } from '../src/util/log.ts';
import { observe, once } from './shared/runtime.ts';

export interface ValidateSettings {
  readonly thresholds: ValidationThresholds;
  /** @default the scoring code's Scorer */
  readonly scorerFactory?: ServingScorerFactory;
}

export function createValidateHandler(settings: ValidateSettings, logger: Logger = silentLogger) {
  return async (event: unknown): Promise<ValidateResult> => {
    const { manifestUri } = parseEvent('Validate', runEventSchema, event);
    return validateRun({
      manifestUri,
      thresholds: settings.thresholds,
      logger,
      ...(settings.scorerFactory ? { scorerFactory: settings.scorerFactory } : {}),
    });
  };
}

/** WDP_VALIDATION: JSON thresholds from the CDK context `validation` (defaults fill the rest). */
const settings = once((): ValidateSettings => ({ thresholds: parseThresholdsText(process.env.WDP_VALIDATION || '{}', 'WDP_VALIDATION') }));

export const handler = observe('Validate', (event: unknown, logger) => createValidateHandler(settings(), logger)(event));
