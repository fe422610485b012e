/** Ingest Lambda: new partitions since the watermark → run manifest (or no new data). */
import { ingest } from '../src/workflow/steps/ingest.ts';
import { ingestEventSchema, parseEvent, type IngestResult } from '../src/workflow/schemas.ts';
import { silentLogger, type Logger } from '../src/util/log.ts';
import { observe, once, requireEnv } from './shared/runtime.ts';

export interface IngestSettings {
  /** `s3://bucket` (AWS) or a folder (local). */
  readonly bucketUri: string;
  readonly configUri?: string;
}

export function createIngestHandler(settings: IngestSettings, logger: Logger = silentLogger) {
  return async (event: unknown): Promise<IngestResult> =>
    ingest(parseEvent('Ingest', ingestEventSchema, event ?? {}), { ...settings, logger });
}

const settings = once(
  (): IngestSettings => ({
    bucketUri: requireEnv('WDP_BUCKET_URI'),
    ...(process.env.WDP_CONFIG_URI ? { configUri: process.env.WDP_CONFIG_URI } : {}),
  }),
);

export const handler = observe('Ingest', (event: unknown, logger) => createIngestHandler(settings(), logger)(event));
