/**
 * The fitted transforms as plain JSON, saved inside the model. It is self-contained: scoring
 * rebuilds the exact encoder from it without the config, so training and serving cannot drift.
 * It comes back from a file, so `parseTransformState` validates it with zod.
 */
import { z } from 'zod';
import { MAX_NUMERIC_PIECES } from '../config/schema.ts';
import { TransformStateError } from './errors.ts';

/** Bump when the state's shape or meaning changes; add the old version to KNOWN_FORMATS if still readable. */
export const TRANSFORM_FORMAT_VERSION = 1;
const KNOWN_FORMATS = [1] as const;

const name = z.string().min(1).max(128);
const count = z.number().int().min(1);

/** How a categorical token becomes an id: a fitted vocabulary, or a hash bucket. */
const categoricalEncoding = {
  /** Kept tokens; tokens[i] has id i + 1 (id 0 = OOV). Present iff the feature uses a vocabulary. */
  tokens: z.array(z.string()).optional(),
  /** Present iff the feature is hashed. */
  hashBuckets: count.optional(),
};

const categoricalState = z.object({ kind: z.literal('categorical'), ...categoricalEncoding }).strict();

const categoricalListState = z
  .object({
    kind: z.literal('categorical_list'),
    ...categoricalEncoding,
    combiner: z.enum(['sum', 'mean']),
    maxLength: count,
  })
  .strict();

const numericState = z
  .object({
    kind: z.literal('numeric'),
    /** n_q of the config; the cut points are the deduplicated j/n_q quantiles. */
    quantiles: z.number().int().min(2),
    quantileCuts: z.array(z.number()),
    /** Wide-side bucket boundaries (ascending); bucket id in [0, boundaries.length]. */
    boundaries: z.array(z.number()),
    /** The config's wideBuckets when the boundaries were fitted; null when they were explicit. */
    wideBuckets: z.number().int().min(2).nullable(),
    default: z.number().optional(),
  })
  .strict();

const featureState = z.discriminatedUnion('kind', [categoricalState, categoricalListState, numericState]);

export const transformStateSchema = z
  .object({
    formatVersion: z.number().int(),
    label: name,
    /** Every feature the model reads, by name. */
    features: z.record(name, featureState),
    wide: z
      .object({
        features: z.array(name),
        crosses: z.array(z.object({ name, features: z.array(name).min(2), hashBuckets: count }).strict()),
      })
      .strict(),
    deep: z
      .object({
        embeddings: z.array(z.object({ feature: name, dim: count }).strict()),
        numeric: z.array(name),
        /**
         * Tower inputs per numeric (config `deep.numericPieces`); absent = 1, as saved before it
         * existed. Capped as the config is: the layout names every piece, so a state file must
         * not be able to ask for a billion of them.
         */
        numericPieces: count.max(MAX_NUMERIC_PIECES).optional(),
      })
      .strict(),
  })
  .strict();

export type TransformState = z.output<typeof transformStateSchema>;
export type FeatureState = z.output<typeof featureState>;
export type NumericFeatureState = z.output<typeof numericState>;
export type CategoricalFeatureState = z.output<typeof categoricalState> | z.output<typeof categoricalListState>;

function isAscending(a: readonly number[]): boolean {
  for (let i = 1; i < a.length; i++) if (!(a[i]! > a[i - 1]!)) return false;
  return a.every(Number.isFinite);
}

/**
 * Validates a state read from a file: shape (zod), known format version, and consistency
 * (references resolve, cut points ascending, tokens distinct). Throws TransformStateError.
 */
export function parseTransformState(input: unknown): TransformState {
  const parsed = transformStateSchema.safeParse(input);
  if (!parsed.success) {
    throw new TransformStateError(`invalid transform state: ${z.prettifyError(parsed.error)}`, { cause: parsed.error });
  }
  const s = parsed.data;
  const problems: string[] = [];
  if (!(KNOWN_FORMATS as readonly number[]).includes(s.formatVersion)) {
    problems.push(`unknown formatVersion ${s.formatVersion} (known: ${KNOWN_FORMATS.join(', ')})`);
  }
  for (const [n, f] of Object.entries(s.features)) {
    if (f.kind === 'numeric') {
      if (!isAscending(f.quantileCuts)) problems.push(`features.${n}.quantileCuts must be finite and strictly ascending`);
      if (!isAscending(f.boundaries)) problems.push(`features.${n}.boundaries must be finite and strictly ascending`);
    } else {
      if ((f.tokens === undefined) === (f.hashBuckets === undefined))
        problems.push(`features.${n} needs exactly one of tokens or hashBuckets`);
      if (f.tokens && new Set(f.tokens).size !== f.tokens.length) problems.push(`features.${n}.tokens has duplicates`);
    }
  }
  const kindOf = (n: string) => s.features[n]?.kind;
  if (kindOf(s.label)) problems.push(`label "${s.label}" is also a feature`);
  for (const n of s.wide.features) if (!kindOf(n)) problems.push(`wide feature "${n}" is not in features`);
  for (const c of s.wide.crosses)
    for (const n of c.features) if (!kindOf(n)) problems.push(`cross "${c.name}" feature "${n}" is not in features`);
  for (const e of s.deep.embeddings) {
    const k = kindOf(e.feature);
    if (!k || k === 'numeric') problems.push(`embedding "${e.feature}" is not a categorical feature`);
  }
  for (const n of s.deep.numeric) if (kindOf(n) !== 'numeric') problems.push(`deep numeric "${n}" is not a numeric feature`);
  const segNames = [...s.wide.features, ...s.wide.crosses.map((c) => c.name)];
  if (new Set(segNames).size !== segNames.length) problems.push('wide segment names must be distinct');
  if (problems.length > 0) throw new TransformStateError(`invalid transform state: ${problems.join('; ')}`);
  return s;
}
