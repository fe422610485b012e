/**
 * The one config file (`wdp.config.json`) that declares the data, the features and the model.
 * Everything is validated here so that a bad config fails once, up front, naming the field.
 */
import { z } from 'zod';
import { modelMemoryProblem } from './memory.ts';

export { DEFAULT_WIDE_BUCKETS, wideBucketsOf, withoutFilledWideBuckets } from './wide-buckets.ts';

/** The largest `training.memoryLimitMiB` accepted: 1 TiB. */
export const MAX_MODEL_MEMORY_LIMIT_MIB = 1024 * 1024;

/**
 * zod's record drops an own `__proto__` key of JSON.parse's output without a word (featureName's
 * refine never sees it): the feature vanished and the config was refused as naming an unknown
 * one. The key is named here. Typed as the record, which it passes through unchanged (a
 * preprocess's own input type is `unknown`, which would untype WdpConfigInput's features).
 */
function noProtoKey<T extends z.ZodType>(inner: T): T {
  return z.preprocess((v, ctx) => {
    if (v !== null && typeof v === 'object' && Object.hasOwn(v, '__proto__'))
      ctx.addIssue({ code: 'custom', message: RESERVED_NAME, path: ['__proto__'], input: v });
    return v;
  }, inner) as unknown as T;
}

const RESERVED_NAME = 'the name __proto__ is reserved (a JavaScript object key with a meaning of its own): rename the column';

const featureName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'feature names are letters, digits, _ . - and start with a letter or _')
  // As a key of an object it sets the prototype instead of a property: the feature vanished
  // from `features`, and the config was then refused as naming an unknown feature.
  .refine(
    (n) => n !== '__proto__',
    'the name __proto__ is reserved (a JavaScript object key with a meaning of its own): rename the column',
  );

/** Vocabulary fitted on the training data: tokens seen fewer than `minCount` times map to the OOV id. */
const vocabSpec = z
  .object({
    /** @default 1 */
    minCount: z.number().int().min(1).default(1),
    /** Keep at most this many tokens (most frequent first). @default 1_000_000 */
    maxSize: z.number().int().min(1).max(50_000_000).default(1_000_000),
  })
  .strict();

/** Strings are hashed into this many buckets instead of looked up in a vocabulary. */
const hashSpec = z
  .object({
    hashBuckets: z
      .number()
      .int()
      .min(1)
      .max(1 << 26),
  })
  .strict();

const categoricalBase = {
  /** Exactly one of `vocab` or `hashBuckets`. @default vocab with minCount 1 */
  vocab: vocabSpec.optional(),
  hashBuckets: hashSpec.shape.hashBuckets.optional(),
};

export const categoricalFeatureSchema = z.object({ kind: z.literal('categorical'), ...categoricalBase }).strict();

export const categoricalListFeatureSchema = z
  .object({
    kind: z.literal('categorical_list'),
    ...categoricalBase,
    /** How a list's embeddings are pooled in the deep part. @default 'mean' */
    combiner: z.enum(['sum', 'mean']).default('mean'),
    /** Lists longer than this are truncated (protects memory against bad logs). @default 256 */
    maxLength: z.number().int().min(1).max(100_000).default(256),
  })
  .strict();

/** The most tower inputs one numeric may feed (`deep.numericPieces`). */
export const MAX_NUMERIC_PIECES = 64;

export const numericFeatureSchema = z
  .object({
    kind: z.literal('numeric'),
    /**
     * Deep side: value in the i-th of n quantiles maps to (i-1)/(n-1), as in the paper.
     * @default 20
     */
    quantiles: z.number().int().min(2).max(10_000).default(20),
    /**
     * Wide side: the value is bucketized. Either explicit ascending boundaries, or
     * `wideBuckets` equal-frequency buckets fitted on the training data; not both (one would be
     * ignored). Left unset in the parsed config (no default filled in), so that parsing a parsed
     * config again passes that check; read it through wideBucketsOf.
     * @default wideBuckets DEFAULT_WIDE_BUCKETS (10) when boundaries are not given
     */
    boundaries: z.array(z.number()).min(1).max(10_000).optional(),
    wideBuckets: z.number().int().min(2).max(10_000).optional(),
    /** Used when the value is null/missing; with no default, a missing value is a bad row. */
    default: z.number().optional(),
  })
  .strict();

export const featureSchema = z.discriminatedUnion('kind', [categoricalFeatureSchema, categoricalListFeatureSchema, numericFeatureSchema]);

export const crossSchema = z
  .object({
    /** Two or more categorical / categorical_list / numeric (bucketized) features. */
    features: z.array(featureName).min(2).max(4),
    hashBuckets: z
      .number()
      .int()
      .min(1)
      .max(1 << 26),
    /** Optional explicit name; defaults to the features joined with '_x_'. */
    name: featureName.optional(),
  })
  .strict();

export const ftrlSchema = z
  .object({
    /**
     * Per-coordinate learning rate α/(β + √n). Gradients here are batch means (~1/batch per
     * occurrence), so with β = 1 the step stays about α·g and the wide part converges slowly (the
     * old 0.05 / β 1 was far from converged after 20 epochs on every public dataset); with β 0.01
     * the per-coordinate adaptation takes over. Chosen across Adult, the Criteo and Avazu samples
     * and the generated logs (README, "Defaults"): 0.1 rather than 0.2 because at 0.2 the wide
     * part overfits the small samples after one epoch, where 0.1 reaches the same optimum on
     * the generated logs in a few more epochs.
     * @default 0.1
     */
    alpha: z.number().positive().default(0.1),
    /** Added to √n in the learning rate's denominator; see alpha. @default 0.01 */
    beta: z.number().min(0).default(0.01),
    /** L1 strength; > 0 drives weights to exactly zero. @default 0.001 */
    l1: z.number().min(0).default(0.001),
    /** @default 0.001 */
    l2: z.number().min(0).default(0.001),
  })
  .strict();

/** The defaults of `wide.init: "logistic-regression"` (the shorthand), filled by wideInitOf. */
export const WIDE_INIT_LR_DEFAULTS = { l2: 1e-3, maxRows: 1_000_000 } as const;

/**
 * The smallest `wide.init.maxRows` accepted. A regression fitted on a handful of rows separates
 * them and drives the bias far out, and the joint training does not bring it back: on 50,000
 * training rows (2 epochs), maxRows 1 fitted one row to a train loss of 1.8e-7 and left the model
 * at holdout calibration 0.438 and logloss 0.3284, against 0.947 and 0.3020 from zeros; maxRows
 * 100 still gave calibration 0.908, 1000 gave 0.947. Training data with fewer rows than this is
 * not refused: the regression then fits on all of them (rowSampler keeps every row).
 */
export const WIDE_INIT_MIN_ROWS = 1000;
// The floor is checked by trainingConfigSchema only (a model saved with a smaller maxRows before
// it existed must still load); configSchema itself takes any maxRows ≥ 1, as it always did.

const tooFewWideInitRows = (n: number) =>
  `must be at least ${WIDE_INIT_MIN_ROWS} rows (got ${n}): a regression fitted on fewer rows can start the bias so far off that training does not recover`;

/** The largest `wide.init.maxRows` accepted (the sampled rows' wide ids are held in memory). */
export const WIDE_INIT_MAX_ROWS = 100_000_000;

/**
 * `wide.init.maxRows`: one check, so a bad value gets one message of its own. Through `.int()` a
 * fractional value aborted the object option, and the union then had no option left to report
 * and said only its general "expected ...".
 */
const wideInitMaxRows = z
  .number()
  .superRefine((n, ctx) => {
    const message = !Number.isInteger(n)
      ? `must be an integer number of rows (got ${n})`
      : n < 1
        ? tooFewWideInitRows(n)
        : n > WIDE_INIT_MAX_ROWS
          ? `must be at most ${WIDE_INIT_MAX_ROWS} rows (got ${n}): the sampled rows' wide ids are held in memory`
          : undefined;
    if (message) ctx.addIssue({ code: 'custom', message });
  })
  .default(WIDE_INIT_LR_DEFAULTS.maxRows);

/**
 * `wide.init`: where the wide part and the bias start when a model trains from scratch (a warm
 * start from a parent model takes precedence). `"zeros"` is FTRL's usual start. The logistic
 * regression start fits the batch L2 logistic regression of `src/baseline` on the wide features
 * of (a sample of) the training rows and starts FTRL at its solution, with the accumulators set
 * so the first steps do not undo it (src/training/wide-init.ts); the joint training then runs as
 * usual. On small data FTRL stops short of that optimum (README, "Wide part convergence"): on the
 * Avazu sample the start closed most of wide & deep's gap to the regression, on Criteo it cost
 * 0.002 AUC, so it is an option `wdp tune` chooses on validation, not the default.
 */
export const wideInitSchema = z.union(
  [
    z.literal('zeros'),
    /** Shorthand for `{ "kind": "logistic-regression" }` with the defaults. */
    z.literal('logistic-regression'),
    z
      .object({
        kind: z.literal('logistic-regression'),
        /**
         * L2 on the regression's mean loss (the baseline's units, not FTRL's). 0 is refused: a
         * coordinate seen with one label only would have no finite optimum.
         * @default 1e-3 (the L2 `bench quality`'s baseline chooses on validation on Avazu and Adult)
         */
        l2: z.number().positive().max(1e3).default(WIDE_INIT_LR_DEFAULTS.l2),
        /**
         * Fit on at most this many training rows (a seeded uniform sample when there are more):
         * their wide ids are held in memory, about rows × wide features × 8 bytes. An integer
         * from WIDE_INIT_MIN_ROWS (1000; fewer rows can start the bias too far off) to 100M.
         * @default 1_000_000
         */
        maxRows: wideInitMaxRows,
      })
      .strict(),
  ],
  {
    // Only the union's own "no option matched": a field's issue (l2 ≤ 0, maxRows out of range or fractional) keeps its own message.
    error: (issue) =>
      issue.code !== 'invalid_union'
        ? undefined
        : `expected "zeros", "logistic-regression" or {"kind": "logistic-regression", "l2"?: number > 0, "maxRows"?: integer ≥ ${WIDE_INIT_MIN_ROWS}}`,
  },
);

export const adagradSchema = z
  .object({
    /** Chosen with FTRL's defaults (README, "Defaults"); 0.05 trained the tower too slowly on the generated logs. @default 0.1 */
    learningRate: z.number().positive().default(0.1),
    /** @default 0.1 */
    initialAccumulator: z.number().min(0).default(0.1),
    /** @default 1e-7 */
    epsilon: z.number().min(0).default(1e-7),
  })
  .strict();

export const holdoutSchema = z.discriminatedUnion('kind', [
  /** The newest `dt=` partition is held out. */
  z.object({ kind: z.literal('newest_partition') }).strict(),
  /** A stable hash of `column` puts `fraction` of rows in the holdout. */
  z
    .object({
      kind: z.literal('hash'),
      fraction: z.number().gt(0).lt(1),
      column: featureName.optional(),
    })
    .strict(),
]);

const tuningParamValue = z.union([z.number(), z.string(), z.array(z.number())]);

/** The record `wdp tune` leaves in the config it writes (src/tuning/tune.ts). */
export const tuningRecordSchema = z
  .object({
    tool: z.literal('wdp tune'),
    seed: z.number().int(),
    /** The validation metric trials were ranked by. */
    metric: z.enum(['auc', 'logloss']),
    kind: z.enum(['wide', 'deep', 'wide_deep']),
    /** Trials in the first rung, epochs of the first and last rung, the halving factor, a time limit. */
    budget: z
      .object({
        trials: z.number().int().min(1),
        minEpochs: z.number().int().min(1),
        maxEpochs: z.number().int().min(1),
        eta: z.number().min(2),
        timeSeconds: z.number().min(0).optional(),
      })
      .strict(),
    /** Where validation rows came from: given files, or a hashed share of the training rows. */
    validation: z.union([
      z.object({ kind: z.literal('files'), uris: z.array(z.string()) }).strict(),
      z.object({ kind: z.literal('hash'), column: z.string(), fraction: z.number() }).strict(),
    ]),
    trainRows: z.number().int().min(0),
    validationRows: z.number().int().min(0),
    best: z.object({ trial: z.number().int().min(0), score: z.number(), epochs: z.number().int().min(1) }).strict(),
    /**
     * The top-scoring trial against the given config (trial 0): its lead on validation, that
     * lead's standard error, and whether the given config was kept (a lead within
     * minImprovementSe standard errors).
     */
    overGiven: z
      .object({
        topTrial: z.number().int().min(0),
        difference: z.number(),
        standardError: z.number().min(0),
        minImprovementSe: z.number().min(0),
        keptGiven: z.boolean(),
      })
      .strict()
      .optional(),
    /** Search-space paths this config schema did not accept (left out of the search). */
    notSearched: z.array(z.string()).default([]),
    trials: z
      .array(
        z
          .object({
            id: z.number().int().min(0),
            /** Config path → value sampled for this trial. */
            params: z.record(z.string(), tuningParamValue),
            epochs: z.number().int().min(0),
            bestEpoch: z.number().int().min(0),
            score: z.number().nullable(),
            stopped: z.enum(['halved', 'completed', 'time budget', 'failed']),
            /** Validation after each epoch. */
            curve: z.array(z.object({ epoch: z.number().int(), trainLoss: z.number(), auc: z.number(), logloss: z.number() }).strict()),
          })
          .strict(),
      )
      .max(10_000),
    seconds: z.number().min(0),
    timedOut: z.boolean(),
  })
  .strict();

/** `training.validation`: a hashed share of the training rows (like `holdout.kind: "hash"`). */
export const validationSchema = z
  .object({
    kind: z.literal('hash'),
    /** Share of the training rows set aside for validation. */
    fraction: z.number().gt(0).lt(1),
    /** Column hashed; @default holdout.column, else the first of data.idColumns */
    column: featureName.optional(),
  })
  .strict();

export const earlyStoppingSchema = z
  .object({
    /** @default 'logloss' (lower is better; AUC higher) */
    metric: z.enum(['logloss', 'auc']).default('logloss'),
    /** Validation passes without improvement before stopping. @default 2 */
    patience: z.number().int().min(1).default(2),
    /** An improvement must exceed this. @default 0 */
    minDelta: z.number().min(0).default(0),
  })
  .strict();

const featuresSchema = noProtoKey(
  z.record(featureName, featureSchema).refine((f) => Object.keys(f).length > 0, 'declare at least one feature'),
);

export const configSchema = z
  .object({
    /** Column with the 0/1 label. */
    label: featureName,
    features: featuresSchema,
    wide: z
      .object({
        features: z.array(featureName).default([]),
        crosses: z.array(crossSchema).default([]),
        /**
         * How the wide part starts when training from scratch: see wideInitSchema.
         * @default "zeros" (left out of the parsed config when unset, so a manifest saved before
         *   it existed reads back unchanged)
         */
        init: wideInitSchema.optional(),
      })
      .strict()
      .default({ features: [], crosses: [] }),
    deep: z
      .object({
        /** Categorical features that get an embedding table. */
        embeddings: z.array(featureName).default([]),
        /** Per-feature dimension overrides. */
        embeddingDims: z.record(featureName, z.number().int().min(1).max(1024)).default({}),
        /**
         * Dimension of embeddings without an `embeddingDims` entry: a number, or `"auto"` for
         * `autoEmbeddingDim(V)` = round(6·V^¼) clamped to [4, 64], V the table's rows (fitted
         * vocabulary + OOV, or hash buckets). A warm start keeps the parent's dimension. @default 32
         */
        defaultEmbeddingDim: z.union([z.number().int().min(1).max(1024), z.literal('auto')]).default(32),
        /** Numeric features fed (quantile-normalised) to the tower. */
        numeric: z.array(featureName).default([]),
        /**
         * How many tower inputs each numeric feeds. 1 is the paper's single quantile-normalised
         * value q in [0,1]. n > 1 cuts [0,1] into n equal pieces and feeds, for piece t, the share
         * of it below q: clamp(n·q − t, 0, 1) (piecewise-linear encoding, Gorishniy et al. 2022,
         * "On Embeddings for Numerical Features in Tabular Deep Learning"). Each input is still in
         * [0,1] and their mean is q, but the first layer can now give every range of the quantile
         * scale its own slope, where one input allows a single slope per unit. Measured on Adult
         * (validation AUC, README "UCI Adult"). Left out of the parsed config when unset, so a
         * manifest saved before it existed reads back unchanged. @default 1
         */
        numericPieces: z.number().int().min(1).max(MAX_NUMERIC_PIECES).optional(),
        /** @default [1024, 512, 256] */
        hiddenUnits: z.array(z.number().int().min(1).max(16_384)).max(16).default([1024, 512, 256]),
        // The three regularisers below are left out of the parsed config when unset (= 0, off), so
        // a manifest saved before they existed reads back unchanged.
        /**
         * Inverted dropout on the tower's hidden activations during training (kept units scaled by
         * 1/(1−p)); serving and evaluation never drop. @default 0
         */
        dropout: z.number().min(0).lt(1).optional(),
        /**
         * L2 on embedding rows, applied only to the rows a batch touches, as TensorFlow's sparse
         * proximal AdaGrad: w ← (w − η·g) / (1 + η·λ), η = lr/(√acc + ε). @default 0
         */
        embeddingL2: z.number().min(0).optional(),
        /** L2 on the tower's weight matrices (not biases): grad += λ·W. @default 0 */
        towerL2: z.number().min(0).optional(),
      })
      .strict()
      .default({ embeddings: [], embeddingDims: {}, defaultEmbeddingDim: 32, numeric: [], hiddenUnits: [1024, 512, 256] }),
    optimizer: z
      .object({
        ftrl: ftrlSchema.default({ alpha: 0.1, beta: 0.01, l1: 0.001, l2: 0.001 }),
        /** Embeddings and the tower. */
        adagrad: adagradSchema.default({ learningRate: 0.1, initialAccumulator: 0.1, epsilon: 1e-7 }),
      })
      .strict()
      .default({
        ftrl: { alpha: 0.1, beta: 0.01, l1: 0.001, l2: 0.001 },
        adagrad: { learningRate: 0.1, initialAccumulator: 0.1, epsilon: 1e-7 },
      }),
    training: z
      .object({
        /** @default 512 */
        batchSize: z.number().int().min(1).max(65_536).default(512),
        /** @default 1 */
        epochs: z.number().int().min(1).max(1000).default(1),
        /** Rows are shuffled within a buffer of this many rows (streaming shuffle). @default 65536 */
        shuffleBuffer: z.number().int().min(1).max(10_000_000).default(65_536),
        /** @default 42 */
        seed: z.number().int().default(42),
        /**
         * The config is refused when its model can take more memory than this (tables with their
         * optimizer slots, the tower and the save buffer; vocabularies at vocab.maxSize), before
         * anything is fitted. At most MAX_MODEL_MEMORY_LIMIT_MIB (1 TiB): more than any training
         * host this runs on, so a larger value could only switch the check off (a typo such as
         * 1e7 for 1e4). @default 8192 (DEFAULT_MODEL_MEMORY_LIMIT_MIB)
         */
        memoryLimitMiB: z.number().int().min(64).max(MAX_MODEL_MEMORY_LIMIT_MIB).optional(),
        /**
         * Evaluate a validation set while training: a stable hashed share of the training rows
         * (held out of training and of the transforms' fit). `wdp train --validation PATH…` gives a
         * separate set instead. @default absent (no validation)
         */
        validation: validationSchema.optional(),
        /** When to evaluate the validation set: after each epoch, or every this many examples. @default 'epoch' */
        validationEvery: z.union([z.literal('epoch'), z.number().int().min(1)]).optional(),
        /**
         * Stop when the validation metric has not improved by more than `minDelta` for `patience`
         * validation passes, and keep the best pass's weights. Needs a validation set.
         * @default absent (train every epoch, keep the last weights)
         */
        earlyStopping: earlyStoppingSchema.optional(),
      })
      .strict()
      .default({ batchSize: 512, epochs: 1, shuffleBuffer: 65_536, seed: 42 }),
    data: z
      .object({
        /** 'error' stops at the first bad row; 'skip' counts and drops it. @default 'error' */
        onBadRow: z.enum(['error', 'skip']).default('error'),
        /** With 'skip', fail anyway when more than this share of rows is bad. @default 0.01 */
        maxBadRowFraction: z.number().min(0).max(1).default(0.01),
        /** Column(s) copied through to batch-scoring output. */
        idColumns: z.array(featureName).default([]),
        /**
         * The nightly workflow's Ingest checks every new log file's footer/header against the
         * columns this config reads, before any training. 'error' fails the run there, naming the
         * file (the watermark does not move); 'quarantine' sets the file aside (run manifest,
         * `state/watermark.json`, `wdp days`, a notification) and trains on the rest.
         * @default 'error' (left out of the parsed config when unset, so the config saved in a
         *   model manifest before this option existed reads back unchanged)
         */
        onBadFile: z.enum(['error', 'quarantine']).optional(),
      })
      .strict()
      .default({ onBadRow: 'error', maxBadRowFraction: 0.01, idColumns: [] }),
    holdout: holdoutSchema.default({ kind: 'newest_partition' }),
    /**
     * How the model serves. `quantize: "int8"` also saves an int8 copy of the tower
     * (tower-int8.safetensors: int8 weights with per-output-channel scales, activations
     * quantized per request, as ONNX Runtime's dynamic quantization does); Validate compares it
     * with float32 on the holdout and it serves only when it passes. Left out of the parsed
     * config when unset, so manifests saved before it existed read back unchanged.
     * @default float32 serving ("none")
     */
    serving: z
      .object({
        quantize: z.enum(['none', 'int8']).default('none'),
      })
      .strict()
      .optional(),
    /** Written by `wdp tune` into the config it chose: how the search ran and every trial. Not read by training. */
    tuning: tuningRecordSchema.optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const kinds = new Map(Object.entries(cfg.features).map(([n, f]) => [n, f.kind] as const));
    for (const [name, f] of Object.entries(cfg.features)) {
      if (f.kind !== 'numeric' && f.vocab !== undefined && f.hashBuckets !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['features', name], message: 'set either vocab or hashBuckets, not both' });
      }
      if (f.kind === 'numeric' && f.boundaries && f.wideBuckets !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['features', name, 'wideBuckets'],
          message: `numeric feature "${name}" sets both boundaries and wideBuckets: they are two ways to bucketize it (explicit cut points, or that many fitted equal-frequency buckets), so one would be ignored; keep one`,
        });
      }
      if (f.kind === 'numeric' && f.boundaries) {
        for (let i = 1; i < f.boundaries.length; i++) {
          if (!(f.boundaries[i]! > f.boundaries[i - 1]!)) {
            ctx.addIssue({ code: 'custom', path: ['features', name, 'boundaries'], message: 'boundaries must be strictly ascending' });
            break;
          }
        }
      }
    }
    if (kinds.has(cfg.label)) {
      ctx.addIssue({ code: 'custom', path: ['label'], message: `label column "${cfg.label}" is also declared as a feature` });
    }
    cfg.wide.features.forEach((n, i) => {
      if (!kinds.has(n)) ctx.addIssue({ code: 'custom', path: ['wide', 'features', i], message: `unknown feature "${n}"` });
    });
    cfg.wide.crosses.forEach((c, i) => {
      c.features.forEach((n, j) => {
        if (!kinds.has(n)) ctx.addIssue({ code: 'custom', path: ['wide', 'crosses', i, 'features', j], message: `unknown feature "${n}"` });
      });
    });
    // Weights, manifests and warm start find a cross's segment by its name, so two crosses (or a
    // cross and a feature) of one name would share or swap weights, or fail only after the fit.
    const crossAt = new Map<string, number>();
    cfg.wide.crosses.forEach((c, i) => {
      const name = crossName(c);
      const implicit = c.name === undefined ? ' (the default name: its features joined with _x_)' : '';
      const first = crossAt.get(name);
      if (first !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['wide', 'crosses', i, 'name'],
          message: `cross name "${name}"${implicit} is already used by wide.crosses.${first}; give each cross a distinct name`,
        });
      else crossAt.set(name, i);
      if (kinds.has(name) || name === cfg.label)
        ctx.addIssue({
          code: 'custom',
          path: ['wide', 'crosses', i, 'name'],
          message: `cross name "${name}"${implicit} is also the name of ${name === cfg.label ? 'the label' : 'a feature'}; rename the cross`,
        });
      duplicates(c.features, ['wide', 'crosses', i, 'features'], ctx, 'crossed with itself');
    });
    duplicates(cfg.wide.features, ['wide', 'features'], ctx);
    duplicates(cfg.deep.embeddings, ['deep', 'embeddings'], ctx);
    duplicates(cfg.deep.numeric, ['deep', 'numeric'], ctx);
    duplicates(cfg.data.idColumns, ['data', 'idColumns'], ctx);
    cfg.deep.embeddings.forEach((n, i) => {
      const k = kinds.get(n);
      if (!k) ctx.addIssue({ code: 'custom', path: ['deep', 'embeddings', i], message: `unknown feature "${n}"` });
      else if (k === 'numeric')
        ctx.addIssue({ code: 'custom', path: ['deep', 'embeddings', i], message: `"${n}" is numeric; list it in deep.numeric` });
    });
    for (const n of Object.keys(cfg.deep.embeddingDims)) {
      if (!cfg.deep.embeddings.includes(n)) {
        ctx.addIssue({ code: 'custom', path: ['deep', 'embeddingDims', n], message: `"${n}" is not in deep.embeddings` });
      }
    }
    cfg.deep.numeric.forEach((n, i) => {
      const k = kinds.get(n);
      if (!k) ctx.addIssue({ code: 'custom', path: ['deep', 'numeric', i], message: `unknown feature "${n}"` });
      else if (k !== 'numeric') ctx.addIssue({ code: 'custom', path: ['deep', 'numeric', i], message: `"${n}" is ${k}, not numeric` });
    });
    if (cfg.holdout.kind === 'hash' && !cfg.holdout.column && cfg.data.idColumns.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['holdout', 'column'], message: 'a hash holdout needs a column to hash (or data.idColumns)' });
    }
    if (cfg.training.validation && !validationHashColumn(cfg)) {
      ctx.addIssue({
        code: 'custom',
        path: ['training', 'validation', 'column'],
        message: 'a hash validation split needs a column to hash (or holdout.column, or data.idColumns)',
      });
    }
    if (cfg.wide.features.length + cfg.wide.crosses.length + cfg.deep.embeddings.length + cfg.deep.numeric.length === 0) {
      ctx.addIssue({ code: 'custom', path: [], message: 'the model has no inputs: list features under wide and/or deep' });
    }
    // Before any fit: a table that cannot be allocated would otherwise fail after the data pass
    // (`Invalid typed array length`) or take the machine's memory.
    const memory = modelMemoryProblem(cfg);
    if (memory) ctx.addIssue({ code: 'custom', path: memory.path, message: memory.message });
  });

/** An issue at each repeat of a name in `names`, pointing at the first. */
function duplicates(names: readonly string[], path: (string | number)[], ctx: z.RefinementCtx, what = 'listed twice'): void {
  const first = new Map<string, number>();
  names.forEach((n, i) => {
    const at = first.get(n);
    if (at === undefined) first.set(n, i);
    else ctx.addIssue({ code: 'custom', path: [...path, i], message: `"${n}" is ${what} (also at ${[...path, at].join('.')})` });
  });
}

/**
 * configSchema with the checks that apply only to a config about to train, not to one stored in
 * a model's manifest: a model trained before such a check existed must stay loadable
 * (src/model/manifest.ts reads its config with configSchema). Config files, `--config-patch`
 * and `wdp tune`'s output are read with this one (src/config/load.ts).
 */
export const trainingConfigSchema = configSchema.superRefine((cfg, ctx) => {
  const init = cfg.wide.init;
  // Values under 1 or fractional already have configSchema's own message.
  if (typeof init === 'object' && Number.isInteger(init.maxRows) && init.maxRows >= 1 && init.maxRows < WIDE_INIT_MIN_ROWS) {
    ctx.addIssue({
      code: 'custom',
      path: ['wide', 'init', 'maxRows'],
      message: tooFewWideInitRows(init.maxRows),
    });
  }
});

/** The validated config, with every default filled in. */
export type WdpConfig = z.output<typeof configSchema>;
/** What a user may write (defaults optional). */
export type WdpConfigInput = z.input<typeof configSchema>;
export type FeatureSpec = z.output<typeof featureSchema>;
export type CategoricalSpec = z.output<typeof categoricalFeatureSchema>;
export type CategoricalListSpec = z.output<typeof categoricalListFeatureSchema>;
export type NumericSpec = z.output<typeof numericFeatureSchema>;
export type CrossSpec = z.output<typeof crossSchema>;
export type FtrlSettings = z.output<typeof ftrlSchema>;
export type AdagradSettings = z.output<typeof adagradSchema>;
export type WideInitSpec = z.output<typeof wideInitSchema>;

/** `wide.init` with the shorthand expanded: undefined for "zeros" (or unset). */
export function wideInitOf(cfg: WdpConfig): { kind: 'logistic-regression'; l2: number; maxRows: number } | undefined {
  const init = cfg.wide.init;
  if (init === undefined || init === 'zeros') return undefined;
  if (init === 'logistic-regression') return { kind: 'logistic-regression', ...WIDE_INIT_LR_DEFAULTS };
  return init;
}
export type ValidationSpec = z.output<typeof validationSchema>;
export type EarlyStoppingSpec = z.output<typeof earlyStoppingSchema>;

/** Which parts of the model train and predict. */
export const MODEL_KINDS = ['wide', 'deep', 'wide_deep'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** The column a hash holdout hashes: holdout.column, else the first id column. */
export function holdoutHashColumn(cfg: WdpConfig): string | undefined {
  return cfg.holdout.kind === 'hash' ? (cfg.holdout.column ?? cfg.data.idColumns[0]) : undefined;
}

/** The column the validation split hashes: training.validation.column, else the holdout's, else the first id column. */
export function validationHashColumn(cfg: WdpConfig): string | undefined {
  const v = cfg.training.validation;
  if (!v) return undefined;
  return v.column ?? (cfg.holdout.kind === 'hash' ? cfg.holdout.column : undefined) ?? cfg.data.idColumns[0];
}

/**
 * The embedding dimension of `deep.defaultEmbeddingDim: "auto"` for a table of `rows` rows
 * (vocabulary + OOV, or hash buckets): round(6·V^¼) clamped to [4, 64] — the rule of thumb of
 * Google's feature-column guide, capped so a million-token id costs 64 floats a row, not 190.
 * e.g. V = 2 → 7, 10 → 11, 1,000 → 34, 10,000 → 60, from 13,000 on → 64.
 */
export function autoEmbeddingDim(rows: number): number {
  return Math.min(64, Math.max(4, Math.round(6 * Math.max(1, rows) ** 0.25)));
}

/**
 * Feature `n`'s `deep.embeddingDims` entry, if the config sets one. An own-key lookup: the
 * record is a plain object, so `embeddingDims[n]` for a feature named `constructor` or
 * `toString` without an entry would find Object.prototype's function instead of undefined.
 */
export function embeddingDimOverride(cfg: WdpConfig, n: string): number | undefined {
  return Object.hasOwn(cfg.deep.embeddingDims, n) ? cfg.deep.embeddingDims[n] : undefined;
}

/** The configured dimension of feature `n`'s embedding, for a table of `rows` rows. */
export function embeddingDimFor(cfg: WdpConfig, n: string, rows: number): number {
  const d = embeddingDimOverride(cfg, n) ?? cfg.deep.defaultEmbeddingDim;
  return d === 'auto' ? autoEmbeddingDim(rows) : d;
}

/** The name a cross goes by in weights and manifests. */
export function crossName(c: CrossSpec): string {
  return c.name ?? c.features.join('_x_');
}
