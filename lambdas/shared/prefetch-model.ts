/**
 * Imported FIRST by the scoring Lambda (lambdas/score.ts): in the init phase, starts reading the
 * pinned model's serving weights (WDP_MODEL_URI) before the rest of the function's code is
 * evaluated, so the read overlaps module loading, the registry check and the manifest
 * (src/model/prefetch.ts; the loader uses the bytes only if they match the checked manifest).
 * Same conditions as the preload in score.ts: inside Lambda, WDP_PRELOAD not 0, and a pinned
 * model (an empty WDP_MODEL_URI means the registry's champion, known only after reading it).
 */
import { prefetchServingWeights } from '../../src/model/prefetch.ts';
import { MODEL_URI_ENV } from '../../src/scoring/env-names.ts';

const modelUri = process.env[MODEL_URI_ENV];
if (process.env.AWS_LAMBDA_FUNCTION_NAME && process.env.WDP_PRELOAD !== '0' && modelUri) prefetchServingWeights(modelUri);
