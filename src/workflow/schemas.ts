/**
 * The shapes that cross step boundaries: state-machine events and results, and the JSON documents
 * kept in the bucket. Every handler parses its event with these, so a malformed event fails at
 * the step that received it, naming the field.
 */
import { z } from 'zod';
import { WorkflowEventError } from './errors.ts';

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a YYYY-MM-DD partition date');
const uri = z.string().min(1);

/** One log file as listed: enough to tell a file read before from a new or rewritten one. */
export const fileRefSchema = z
  .object({
    uri,
    sizeBytes: z.number().int().min(0),
    /** The store's version tag when the listing gives one. */
    etag: z.string().optional(),
    /** Last modification (epoch ms): listings give it where they give no etag (S3's ListObjectsV2 here). */
    modifiedMs: z.number().optional(),
  })
  .strict();
export type FileRef = z.output<typeof fileRefSchema>;

/** A day set aside by a rejection: not trained into a champion until an operator releases it. */
export const heldDaySchema = z
  .object({
    day: date,
    /** 'holdout': the rejected run was validated on it; 'train': the rejected candidate was trained on it. */
    role: z.enum(['holdout', 'train']),
    runId: z.string(),
    reason: z.string(),
    at: z.string(),
  })
  .strict();
export type HeldDay = z.output<typeof heldDaySchema>;

/**
 * A day an operator dropped for good (`wdp days drop`): never read again, late files included.
 * `from` is what it was: held, untrained, or `new` (no finished run read it: a day whose run
 * failed at Ingest, Train or Validate).
 */
export const droppedDaySchema = z.object({ day: date, at: z.string(), from: z.enum(['held', 'untrained', 'new']) }).strict();
export type DroppedDay = z.output<typeof droppedDaySchema>;

/**
 * Where the data stands (docs/workflow.md, "Days"): the newest partition already seen, the days
 * seen but never in a promoted model (`untrained`: trained in the next run), the days a rejection
 * set aside (`held`) or an operator dropped, and per partition the files a finished run read, so
 * a file added or rewritten later in an old partition is found at Ingest.
 */
export const watermarkSchema = z
  .object({
    through: date.nullable(),
    untrained: z.array(date).default([]),
    held: z.array(heldDaySchema).default([]),
    dropped: z.array(droppedDaySchema).default([]),
    /**
     * Files read per partition by runs that finished. A partition without an entry (a watermark
     * written before this was kept) counts as fully read.
     */
    files: z.record(date, z.array(fileRefSchema)).default({}),
    runId: z.string().nullable(),
    updatedAt: z.string(),
    /** Present when the local paths in this document are bucket-relative keys (bucket/keys.ts); absent in older documents and on S3. */
    keys: z.literal('bucket-relative').optional(),
  })
  .strict();
export type Watermark = z.output<typeof watermarkSchema>;

/** A log file Ingest set aside because it does not open or lacks the config's columns. */
export const quarantinedFileSchema = z
  .object({
    uri,
    sizeBytes: z.number().int().min(0),
    etag: z.string().optional(),
    modifiedMs: z.number().optional(),
    partition: date.nullable(),
    reason: z.string(),
    runId: z.string(),
    at: z.string(),
  })
  .strict();
export type QuarantinedFile = z.output<typeof quarantinedFileSchema>;

/** `state/quarantine.json`: every file Ingest quarantined (data.onBadFile "quarantine"). */
export const quarantineSchema = z
  .object({
    formatVersion: z.literal(1),
    files: z.array(quarantinedFileSchema),
    /** Present when the local paths in this document are bucket-relative keys (bucket/keys.ts); absent in older documents and on S3. */
    keys: z.literal('bucket-relative').optional(),
  })
  .strict();
export type Quarantine = z.output<typeof quarantineSchema>;

/**
 * A log file Ingest does not read because its name is not a safe key (a backslash, a control
 * character): one in the listing, or one an older wdp recorded in the watermark (kept as history).
 * The URI may hold anything but NUL: print it JSON-quoted, escape it in HTML.
 */
export const skippedFileSchema = z.object({ uri, reason: z.string() }).strict();
export type SkippedFile = z.output<typeof skippedFileSchema>;

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
    /** Log files (or, in manifests written before files were listed, partition folders) to train on. */
    data: z.array(uri).min(1),
    /** Log files (or partition folders) held out for validation. */
    holdout: z.array(uri).min(1),
    /** Files found in already-read partitions since they were read; trained in this run (also in `data`). */
    late: z.array(fileRefSchema).optional(),
    /** Files this Ingest set aside (data.onBadFile "quarantine"); in neither `data` nor `holdout`. */
    quarantined: z.array(quarantinedFileSchema).optional(),
    /** Files never read because their name is not a safe key (steps/ingest.ts); absent when none. */
    skippedFiles: z.array(skippedFileSchema).optional(),
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

/** What the notification says about one quarantined file. */
export const quarantineNoticeSchema = z.object({ uri, reason: z.string() }).strict();

/** A numeric column far off the range the champion was fitted on (steps/ingest-scale.ts): a warning, the file still trains. */
export const scaleWarningSchema = z.object({ uri, column: z.string(), message: z.string() }).strict();
export type ScaleWarning = z.output<typeof scaleWarningSchema>;

export const ingestResultSchema = z.discriminatedUnion('hasNewData', [
  z
    .object({
      hasNewData: z.literal(false),
      reason: z.string(),
      quarantined: z.array(quarantineNoticeSchema).optional(),
      lateFiles: z.array(uri).optional(),
      skippedFiles: z.array(skippedFileSchema).optional(),
    })
    .strict(),
  z
    .object({
      hasNewData: z.literal(true),
      runId: z.string(),
      manifestUri: uri,
      candidateUri: uri,
      trainPartitions: z.array(date),
      holdoutPartitions: z.array(date),
      champion: championRefSchema.nullable(),
      /** Files set aside at this Ingest; always present, as the rejection notification reads it. */
      quarantined: z.array(quarantineNoticeSchema),
      /** Files found late in already-read partitions, trained in this run; always present. */
      lateFiles: z.array(uri),
      /** Numeric columns whose scale jumped against the champion; absent when none. */
      scaleWarnings: z.array(scaleWarningSchema).optional(),
      /** Log files not read because their name is not a safe key; always present, as the rejection notification reads it. */
      skippedFiles: z.array(skippedFileSchema),
    })
    .strict(),
]);
export type IngestResult = z.output<typeof ingestResultSchema>;

/** Events of the steps that act on one run: they only need its manifest. */
export const runEventSchema = z.object({ manifestUri: uri }).passthrough();
export type RunEvent = z.output<typeof runEventSchema>;

/**
 * Holdout metrics as validation.json records them. A metric that is undefined on the holdout is
 * `null`, never a NaN (which JSON cannot hold): AUC on a holdout with one label class, calibration
 * (mean prediction ÷ positive rate) when it has no positive, any of them on an empty holdout.
 */
export const metricsSchema = z
  .object({ rows: z.number(), auc: z.number().nullable(), logloss: z.number().nullable(), calibration: z.number().nullable() })
  .passthrough();
export type RecordedMetrics = z.output<typeof metricsSchema>;

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
    /**
     * The opt-in int8 tower's comparison with float32 (only when the config asks for int8). Its
     * failure does not fail the run: the model promotes and serves float32 (Promote leaves
     * tower-int8.safetensors out of the registry copy).
     */
    int8: z
      .object({
        passed: z.boolean(),
        /** What the promoted model serves. */
        serves: z.enum(['int8', 'fp32']),
        reasons: z.array(z.string()),
        checks: z.array(checkSchema),
        comparison: z.record(z.string(), z.unknown()).nullable(),
      })
      .strict()
      .optional(),
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
    /** Log files this run's Ingest set aside (data.onBadFile "quarantine"), so the model's lineage names what it did not see. */
    quarantined: z.array(z.object({ uri, reason: z.string() }).strict()).optional(),
  })
  .strict();
export type RegistryEntry = z.output<typeof registryEntrySchema>;

/**
 * One change of champion: by a run's Promote (`run`), `wdp models promote` or `wdp models rollback`.
 * `from` is the version that served before (null: none).
 */
export const championMoveSchema = z
  .object({
    action: z.enum(['run', 'promote', 'rollback']),
    version: z.number().int().min(1),
    modelId: z.string(),
    from: z.number().int().min(1).nullable(),
    /** The run whose Promote made it champion (action `run`). */
    runId: z.string().optional(),
    /** Who moved it (an operator's user@host), for `promote` and `rollback`. */
    by: z.string().optional(),
    at: z.string(),
  })
  .strict();
export type ChampionMove = z.output<typeof championMoveSchema>;

export const registrySchema = z
  .object({
    formatVersion: z.literal(1),
    champion: championRefSchema.nullable(),
    history: z.array(registryEntrySchema),
    /**
     * Every change of champion, oldest first: what `wdp models rollback` reads to find the previous
     * champion. Absent in registries written before it was kept (or rebuilt): then the promoted
     * history entries, in order, stand for it (championLog() in steps/champion.ts).
     */
    championLog: z.array(championMoveSchema).optional(),
    /** Present when the local paths in this document are bucket-relative keys (bucket/keys.ts); absent in older documents and on S3. */
    keys: z.literal('bucket-relative').optional(),
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
