/**
 * Deployment settings from the CDK context (`cdk.json` or `-c key=value`), validated in one place.
 * `-c` values arrive as strings, so numbers, booleans and JSON are coerced here.
 */
import { z } from 'zod';
import { partialThresholdsSchema } from '../src/workflow/steps/thresholds.ts';

const bool = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
const json = <S extends z.ZodType>(s: S) => z.preprocess((v) => (typeof v === 'string' ? JSON.parse(v) : v), s);
const list = z.preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
      : v,
  z.array(z.string()).min(1),
);

export const settingsSchema = z
  .object({
    /** EventBridge schedule of the nightly retraining. @default 'cron(0 2 * * ? *)' (02:00 UTC) */
    schedule: z
      .string()
      .regex(/^(cron|rate)\(.+\)$/, 'an EventBridge cron(...) or rate(...) expression')
      .default('cron(0 2 * * ? *)'),
    /** Train on Spot instances (cheaper; interrupted jobs are retried). @default false */
    spot: bool.default(false),
    /** GPU instance types of the training compute environment. @default g4dn.xlarge, g5.xlarge */
    gpuInstanceTypes: list.default(['g4dn.xlarge', 'g5.xlarge']),
    /** Upper bound of the compute environment (it scales to 0 when idle). @default 16 */
    maxvCpus: z.coerce.number().int().min(4).default(16),
    /** vCPUs and memory one training job asks for, besides its 1 GPU. @default 4 / 14336 */
    trainVcpus: z.coerce.number().int().min(1).default(4),
    trainMemoryMiB: z.coerce.number().int().min(1024).default(14_336),
    /** Train step timeout (Step Functions and the Batch job). @default 6 */
    trainTimeoutHours: z.coerce.number().positive().default(6),
    /** Attempts of the Batch job on host/Spot failures. @default 3 */
    trainAttempts: z.coerce.number().int().min(1).max(10).default(3),
    /** Add a Function URL (IAM auth) to the scoring alias. @default false */
    functionUrl: bool.default(false),
    /** Subscribe this address to the notification topic. */
    notificationEmail: z.string().email().optional(),
    /** Candidates (models/candidates/) expire after this many days. @default 30 */
    candidateRetentionDays: z.coerce.number().int().min(1).default(30),
    /** Noncurrent object versions expire after this many days. @default 30 */
    noncurrentVersionDays: z.coerce.number().int().min(1).default(30),
    /** Validation thresholds (see src/workflow/thresholds.ts). */
    validation: json(partialThresholdsSchema).default({}),
    /** Batch scoring: objects per item batch, parallel batches, tolerated failed share. */
    batchItemsPerBatch: z.coerce.number().int().min(1).default(4),
    batchMaxConcurrency: z.coerce.number().int().min(1).default(20),
    batchToleratedFailurePercentage: z.coerce.number().min(0).max(100).default(5),
    /**
     * Scoring Lambda memory. Lambda gives CPU in proportion to memory (1,769 MB = 1 vCPU, up to 6
     * vCPUs at 10,240 MB), and ONNX Runtime sizes its thread pool to the CPUs the function really
     * has, so this is the latency knob as much as the memory one (README, "Lambda sizing").
     * @default 2048
     */
    scoringMemoryMiB: z.coerce.number().int().min(128).max(10_240).default(2048),
    /**
     * Execution environments kept initialised on alias `live` (provisioned concurrency): requests
     * up to this many at once never wait for a cold start. Billed while configured. Promote's
     * alias move hands them to the new version (Lambda initialises it before the alias shifts).
     * @default 0 (none: on-demand, cold starts possible)
     */
    scoringProvisionedConcurrency: z.coerce.number().int().min(0).max(1000).default(0),
    /**
     * The only features a scoring request may give in `context`, comma-separated (the scoring
     * function's WDP_CONTEXT_FEATURES): one plan for every request, built during the load, and the
     * one a provisioned environment's warm-up runs (README, "Lambda sizing").
     * @default '' (any feature may be context)
     */
    scoringContextFeatures: z
      .string()
      .max(4096)
      .regex(/^[^,\s][^,]*(,[^,\s][^,]*)*$|^$/, 'comma-separated feature names, none empty')
      .default(''),
  })
  .strict();

export type WdpSettings = z.output<typeof settingsSchema>;
export type WdpSettingsInput = z.input<typeof settingsSchema>;

/** Reads every key of settingsSchema from the node's context. */
export function settingsFromContext(tryGetContext: (key: string) => unknown): WdpSettings {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(settingsSchema.shape)) {
    const v = tryGetContext(key);
    if (v !== undefined) raw[key] = v;
  }
  const r = settingsSchema.safeParse(raw);
  if (!r.success) throw new Error(`invalid CDK context: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}
