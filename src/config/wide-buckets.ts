/**
 * The default of a numeric feature's `wideBuckets`, applied where it is read rather than filled
 * into the parsed config: a parsed config must parse again unchanged, and `boundaries` with
 * `wideBuckets` is refused, so a filled-in default would make every config with boundaries
 * refuse itself.
 */

/** Equal-frequency wide buckets of a numeric feature that sets neither `boundaries` nor `wideBuckets`. */
export const DEFAULT_WIDE_BUCKETS = 10;

/** The number of equal-frequency wide buckets fitted for a numeric feature without explicit boundaries. */
export function wideBucketsOf(feature: { readonly wideBuckets?: number | undefined }): number {
  return feature.wideBuckets ?? DEFAULT_WIDE_BUCKETS;
}

/**
 * A saved config (a model manifest's) as this schema reads it: manifests written before
 * `boundaries` and `wideBuckets` were exclusive carry the filled-in default `wideBuckets: 10`
 * beside explicit boundaries, where it was ignored (boundaries win in the fit); it is dropped so
 * those models still load. Anything else passes through untouched, for the schema to judge.
 */
export function withoutFilledWideBuckets(config: unknown): unknown {
  if (!isRecord(config) || !isRecord(config.features)) return config;
  let features: Record<string, unknown> | undefined;
  for (const [name, f] of Object.entries(config.features)) {
    if (!isRecord(f) || f.kind !== 'numeric' || f.boundaries === undefined || f.wideBuckets === undefined) continue;
    const { wideBuckets: _ignored, ...rest } = f;
    features ??= { ...config.features };
    features[name] = rest;
  }
  return features ? { ...config, features } : config;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
