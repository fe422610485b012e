/**
 * The shapes that cross step boundaries: state-machine events and results, and the JSON documents
 * kept in the bucket. Every handler parses its event with these, so a malformed event fails at
 * the step that received it, naming the field.
 */
import { z } from 'zod';
import { WorkflowEventError } from './errors.ts';

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a YYYY-MM-DD partition date');
const uri = z.string().min(1);

/** Newest partition already consumed, and partitions seen but not yet trained on (last night's holdout). */
export const watermarkSchema = z
  .object({
    through: date.nullable(),
    untrained: z.array(date).default([]),
    runId: z.string().nullable(),
    updatedAt: z.string(),
  })
  .strict();
export type Watermark = z.output<typeof watermarkSchema>;

export const championRefSchema = z.object({ version: z.number().int().min(1), uri, modelId: z.string() }).strict();
export type ChampionRef = z.output<typeof championRefSchema>;

/** The ingest manifest: everything the training job and validation need, fixed at ingest time. */
export const runManifestSchema = z
  .object({
    formatVersion: z.literal(1),
    runId: z.string().min(1),
    createdAt: z.string(),
    bucketUri: uri,
    configUri: uri,
    /** The config as read at ingest, so train and validate use the same one. */
    config: z.record(z.string(), z.unknown()),
    partitions: z.object({ train: z.array(date), holdout: z.array(date) }).strict(),
    /** Partition folders to train on. */
    data: z.array(uri).min(1),
    /** Partition folders held out for validation. */
    holdout: z.array(uri).min(1),
    champion: championRefSchema.nullable(),
    candidateUri: uri,
    /** The watermark to store once this run is promoted or rejected. */
    watermarkAfter: watermarkSchema,
    /**
     * Hash holdout: train and holdout read the same partitions; rows whose `column` hashes below
     * `fraction` are the holdout. Absent for a newest-partition holdout.
     */
    split: z
      .object({ column: z.string().min(1), fraction: z.number().gt(0).lt(1) })
      .strict()
      .optional(),
  })
  .strict();
export type RunManifest = z.output<typeof runManifestSchema>;

export const ingestEventSchema = z
  .object({
    /** The execution name; becomes part of the run id so runs are traceable. */
    executionName: z.string().optional(),
  })
  .passthrough();
export type IngestEvent = z.output<typeof ingestEventSchema>;

export const ingestResultSchema = z.discriminatedUnion('hasNewData', [
  z.object({ hasNewData: z.literal(false), reason: z.string() }).strict(),
  z
    .object({
      hasNewData: z.literal(true),
      runId: z.string(),
      manifestUri: uri,
      candidateUri: uri,
      trainPartitions: z.array(date),
      holdoutPartitions: z.array(date),
      champion: championRefSchema.nullable(),
    })
    .strict(),
]);
export type IngestResult = z.output<typeof ingestResultSchema>;

/** Events of the steps that act on one run: they only need its manifest. */
export const runEventSchema = z.object({ manifestUri: uri }).passthrough();
export type RunEvent = z.output<typeof runEventSchema>;

export const metricsSchema = z.object({ rows: z.number(), auc: z.number(), logloss: z.number(), calibration: z.number() }).passthrough();

export const checkSchema = z
  .object({
    name: z.string(),
    passed: z.boolean(),
    value: z.number().nullable(),
    threshold: z.string(),
    message: z.string(),
  })
  .strict();
export type ValidationCheck = z.output<typeof checkSchema>;

export const validationReportSchema = z
  .object({
    runId: z.string(),
    candidateUri: uri,
    candidateModelId: z.string(),
    champion: championRefSchema.nullable(),
    holdout: z.array(uri),
    passed: z.boolean(),
    reasons: z.array(z.string()),
    checks: z.array(checkSchema),
    candidateMetrics: metricsSchema,
    championMetrics: metricsSchema.nullable(),
    dryRun: z
      .object({
        requests: z.number().int(),
        scorer: z.string(),
        p95LatencyMs: z.number(),
        maxAbsDiff: z.number(),
        allFinite: z.boolean(),
      })
      .strict(),
    thresholds: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
  })
  .strict();
export type ValidationReport = z.output<typeof validationReportSchema>;

/** What Validate returns to the state machine (the full report is in the bucket). */
export const validateResultSchema = z
  .object({ passed: z.boolean(), reasons: z.array(z.string()), reportUri: uri, candidateUri: uri, runId: z.string() })
  .strict();
export type ValidateResult = z.output<typeof validateResultSchema>;

export const registryEntrySchema = z
  .object({
    version: z.number().int().min(1).nullable(),
    status: z.enum(['promoted', 'rejected']),
    runId: z.string(),
    modelId: z.string(),
    /** Durable copy for promoted models; the candidate folder for rejected ones. */
    uri,
    candidateUri: uri,
    /** Registry version of the model this one warm-started from. */
    parentVersion: z.number().int().nullable(),
    parentModelId: z.string().nullable(),
    metrics: z.record(z.string(), z.unknown()),
    reasons: z.array(z.string()),
    data: z.object({ train: z.array(date), holdout: z.array(date) }).strict(),
    reportUri: uri,
    /** Lambda version that serves this model (AWS only). */
    lambdaVersion: z.string().nullable(),
    at: z.string(),
    /** Reconstructed by `wdp registry rebuild` from the model folder: run data, metrics and report are unknown. */
    rebuilt: z.literal(true).optional(),
  })
  .strict();
export type RegistryEntry = z.output<typeof registryEntrySchema>;

export const registrySchema = z
  .object({
    formatVersion: z.literal(1),
    champion: championRefSchema.nullable(),
    history: z.array(registryEntrySchema),
  })
  .strict();
export type Registry = z.output<typeof registrySchema>;

export const promoteResultSchema = z
  .object({
    version: z.number().int(),
    modelUri: uri,
    modelId: z.string(),
    parentVersion: z.number().int().nullable(),
    lambdaVersion: z.string().nullable(),
    alreadyPromoted: z.boolean(),
  })
  .strict();
export type PromoteResult = z.output<typeof promoteResultSchema>;

export const rejectResultSchema = z.object({ runId: z.string(), reasons: z.array(z.string()), alreadyRecorded: z.boolean() }).strict();
export type RejectResult = z.output<typeof rejectResultSchema>;

/** Parses a step's event, throwing WorkflowEventError (which fails the task and reaches the Catch). */
export function parseEvent<S extends z.ZodType>(step: string, schema: S, event: unknown): z.output<S> {
  const r = schema.safeParse(event);
  if (!r.success)
    throw new WorkflowEventError(step, r.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).join('; '));
  return r.data;
}
