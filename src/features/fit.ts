/**
 * Fitting the transforms: one streaming pass over the training chunks that counts the
 * vocabularies and samples the numerics for their quantile cut points and wide boundaries, then
 * writes the TransformState that the model saves.
 */
import { crossName, embeddingDimFor, embeddingDimOverride, type WdpConfig, wideBucketsOf } from '../config/schema.ts';
import { cellToNumber, cellToToken } from '../data/cells.ts';
import type { RowChunk } from '../data/row-chunk.ts';
import { getColumn, isListValue, referencedFeatures } from './columns.ts';
import { ReservoirSampler, quantileCuts, samplerSeed } from './quantiles.ts';
import { TRANSFORM_FORMAT_VERSION, type FeatureState, type NumericFeatureState, type TransformState } from './state.ts';
import { VocabCounter } from './vocab.ts';

export interface FitOptions {
  /** The previous model's transforms (warm start). */
  readonly parent?: TransformState;
  /**
   * With a parent: refit numeric cut points and wide boundaries anyway. Vocabularies are always
   * refitted. @default false
   */
  readonly refitNumeric?: boolean;
  /** Seeds the reservoir samplers. @default 42 */
  readonly seed?: number;
  /** Called after each chunk with the number of rows read so far. */
  readonly onRows?: (rows: number) => void;
  /** Values sampled per numeric feature for the cut points. @default 100_000 */
  readonly sampleSize?: number;
}

/**
 * The state `FeatureTransforms.fit` builds its transforms from (not yet validated: the caller
 * validates it like a state read from a file). See FeatureTransforms.fit for what is fitted.
 */
export async function fitTransformState(
  config: WdpConfig,
  chunks: AsyncIterable<RowChunk>,
  opts: FitOptions = {},
): Promise<TransformState> {
  const seed = opts.seed ?? config.training.seed;
  const names = referencedFeatures(config);
  const counters = new Map<string, VocabCounter>();
  const samplers = new Map<string, ReservoirSampler>();
  const features: Record<string, FeatureState> = {};
  const pending = new Map<string, { cuts: number[] | null; boundaries: number[] | null }>();

  for (const name of names) {
    const f = config.features[name]!;
    if (f.kind === 'numeric') {
      const parent = opts.parent && !opts.refitNumeric ? opts.parent.features[name] : undefined;
      const p = parent?.kind === 'numeric' ? parent : undefined;
      // Warm start keeps the parent's cut points only when they mean the same thing.
      const cuts = p && p.quantiles === f.quantiles ? p.quantileCuts : null;
      const boundaries = f.boundaries ?? (p && p.wideBuckets === wideBucketsOf(f) ? p.boundaries : null);
      pending.set(name, { cuts, boundaries });
      if (cuts === null || boundaries === null) {
        samplers.set(
          name,
          new ReservoirSampler({ seed: samplerSeed(seed, name), ...(opts.sampleSize ? { capacity: opts.sampleSize } : {}) }),
        );
      }
    } else if (f.hashBuckets === undefined) {
      counters.set(name, new VocabCounter());
    }
  }

  let rows = 0;
  for await (const chunk of chunks) {
    for (const name of names) {
      const counter = counters.get(name);
      const sampler = samplers.get(name);
      if (!counter && !sampler) continue;
      const col = getColumn(chunk, name) as ArrayLike<unknown>;
      const f = config.features[name]!;
      const n = chunk.numRows;
      if (sampler && f.kind === 'numeric') {
        for (let i = 0; i < n; i++) {
          let v = col[i];
          if (typeof v !== 'number') v = cellToNumber(v as never);
          if (typeof v !== 'number') continue;
          if (Number.isNaN(v)) {
            if (f.default === undefined) continue;
            v = f.default;
          }
          if (Number.isFinite(v)) sampler.add(v as number);
        }
      } else if (counter && f.kind === 'categorical') {
        for (let i = 0; i < n; i++) {
          const v = col[i];
          const t = typeof v === 'string' ? v : cellToToken(v);
          if (t !== null) counter.add(t);
        }
      } else if (counter && f.kind === 'categorical_list') {
        for (let i = 0; i < n; i++) {
          const v = col[i];
          if (isListValue(v)) {
            const len = Math.min(v.length, f.maxLength);
            for (let e = 0; e < len; e++) {
              const el = v[e];
              const t = typeof el === 'string' ? el : cellToToken(el);
              if (t !== null) counter.add(t);
            }
          } else {
            const t = cellToToken(v);
            if (t !== null) counter.add(t);
          }
        }
      }
    }
    rows += chunk.numRows;
    opts.onRows?.(rows);
  }

  for (const name of names) {
    const f = config.features[name]!;
    if (f.kind === 'numeric') {
      const p = pending.get(name)!;
      const sorted = samplers.get(name)?.sorted() ?? new Float64Array(0);
      const nf: NumericFeatureState = {
        kind: 'numeric',
        quantiles: f.quantiles,
        quantileCuts: p.cuts ? [...p.cuts] : quantileCuts(sorted, f.quantiles),
        boundaries: p.boundaries ? [...p.boundaries] : quantileCuts(sorted, wideBucketsOf(f)),
        wideBuckets: f.boundaries ? null : wideBucketsOf(f),
      };
      if (f.default !== undefined) nf.default = f.default;
      features[name] = nf;
    } else {
      const enc =
        f.hashBuckets !== undefined
          ? { hashBuckets: f.hashBuckets }
          : {
              tokens: [...counters.get(name)!.build({ minCount: f.vocab?.minCount ?? 1, maxSize: f.vocab?.maxSize ?? 1_000_000 }).tokens],
            };
      features[name] =
        f.kind === 'categorical'
          ? { kind: 'categorical', ...enc }
          : { kind: 'categorical_list', ...enc, combiner: f.combiner, maxLength: f.maxLength };
    }
  }

  const state: TransformState = {
    formatVersion: TRANSFORM_FORMAT_VERSION,
    label: config.label,
    features,
    wide: {
      features: [...config.wide.features],
      crosses: config.wide.crosses.map((c) => ({ name: crossName(c), features: [...c.features], hashBuckets: c.hashBuckets })),
    },
    deep: {
      embeddings: config.deep.embeddings.map((feature) => ({
        feature,
        dim: embeddingDim(config, feature, features[feature]!, opts.parent),
      })),
      numeric: [...config.deep.numeric],
      ...((config.deep.numericPieces ?? 1) > 1 ? { numericPieces: config.deep.numericPieces } : {}),
    },
  };
  return state;
}

/**
 * An embedding's dimension: the config's, with `"auto"` sized from the fitted table (tokens + OOV,
 * or hash buckets). A warm start keeps the parent's dimension for a feature it embedded, so a
 * grown vocabulary does not change the table's shape and its rows carry over.
 */
function embeddingDim(config: WdpConfig, feature: string, state: FeatureState, parent: TransformState | undefined): number {
  const explicit = embeddingDimOverride(config, feature);
  if (explicit === undefined && config.deep.defaultEmbeddingDim === 'auto') {
    const inherited = parent?.deep.embeddings.find((e) => e.feature === feature)?.dim;
    if (inherited !== undefined) return inherited;
  }
  const rows = state.kind === 'numeric' ? 1 : (state.hashBuckets ?? (state.tokens?.length ?? 0) + 1);
  return embeddingDimFor(config, feature, rows);
}
