/**
 * Made-up requests that take the whole request path before real traffic does (Scorer.warmUp).
 *
 * Why: after a load, a scorer's first requests are slow for reasons no load can remove. Its plan's
 * ONNX session is built on first use; V8 has not compiled validate/encode; ONNX Runtime's first
 * runs of a batch size allocate their buffers in fresh pages; the embedding tables left in the
 * serving file are mapped as gathers first touch them. At the paper shape, the first 1,000-candidate
 * request took 226–268 ms after a cold start and the next 33–80. After a made-up request of the
 * same size, the first real one took 56–69 ms (bench model, this project's VM). A provisioned
 * Lambda environment runs its init before any traffic, so there this work costs callers nothing.
 *
 * The values are valid by construction. Tokens come from the feature's vocabulary, or are distinct
 * strings when it is hashed, so gathers spread over the tables as real candidates' would. Numerics
 * are spread across the fitted quantile range. Lists hold up to two tokens.
 */
import type { TransformState } from '../features/state.ts';
import { type ColumnarScoreRequest, DEFAULT_MAX_STRING_LENGTH, type ScoreRequest } from './request.ts';

type FeatureState = TransformState['features'][string];

/** Spreads i over [0, 1) without a pattern a table's layout could line up with (golden-ratio steps). */
function spread(i: number): number {
  return (i * 0.6180339887498949) % 1;
}

function token(f: { readonly tokens?: readonly string[] | undefined }, i: number, maxLength: number): string {
  const tokens = f.tokens;
  if (tokens && tokens.length > 0) {
    const t = tokens[Math.floor(spread(i) * tokens.length)]!;
    // A vocabulary may hold tokens longer than requests may send (URLs, user agents).
    if (t.length <= maxLength) return t;
  }
  return `warm-up-${i}`;
}

/**
 * A valid value of feature `f` for made-up row `i`.
 * @param maxStringLength the longest string the scorer accepts (tokens over it are replaced)
 */
export function warmUpValue(f: FeatureState, i: number, maxStringLength = DEFAULT_MAX_STRING_LENGTH): string | number | string[] {
  switch (f.kind) {
    case 'categorical':
      return token(f, i, maxStringLength);
    case 'categorical_list':
      return [token(f, i, maxStringLength), token(f, i + 1, maxStringLength)].slice(0, Math.min(2, f.maxLength));
    case 'numeric': {
      const cuts = f.quantileCuts;
      if (cuts.length === 0) return f.default ?? 0;
      const lo = cuts[0]!;
      const hi = cuts[cuts.length - 1]!;
      return lo + (hi - lo) * spread(i);
    }
  }
}

/**
 * A request of `candidates` made-up candidates: the `contextFeatures` in `context` (none when
 * undefined, so every feature rides on the candidates), every other feature on each candidate.
 */
export function warmUpRequest(
  state: TransformState,
  contextFeatures: ReadonlySet<string> | undefined,
  candidates: number,
  maxStringLength = DEFAULT_MAX_STRING_LENGTH,
): ScoreRequest {
  const names = Object.keys(state.features);
  const itemNames = names.filter((name) => !contextFeatures?.has(name));
  const value = (name: string, i: number) => warmUpValue(state.features[name]!, i, maxStringLength);
  // fromEntries defines own properties, so even a feature named `__proto__` is a plain key.
  const context = Object.fromEntries(names.filter((name) => contextFeatures?.has(name)).map((name) => [name, value(name, 0)]));
  const rows = Array.from({ length: candidates }, (_, i) => Object.fromEntries(itemNames.map((name) => [name, value(name, i + 1)])));
  return { context, candidates: rows };
}

/** The same request with its candidates as columns. */
export function asColumnar(req: ScoreRequest): ColumnarScoreRequest {
  const names = Object.keys(req.candidates[0] ?? {});
  return { context: req.context, candidates: Object.fromEntries(names.map((n) => [n, req.candidates.map((c) => c[n])])) };
}
