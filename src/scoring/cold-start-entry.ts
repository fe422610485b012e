/**
 * Process entry for measuring a cold start (`wdp bench score`): load the model, score one
 * request and print one JSON line, score it again and print a second, exit. Bundled with esbuild
 * the way the Lambda is, so the time includes module loading as deployed.
 *   node cold-start.mjs <model-uri> <request.json> [backend] [fixed-context | provisioned]
 *
 * As the scoring Lambda does, it starts reading the serving weights first (model/prefetch.ts),
 * and only then loads the scoring code, which esbuild keeps behind the dynamic import below
 * until it runs: the read overlaps module loading, the manifest and ONNX Runtime's start.
 * Printed: modules_ms (process start → scoring code loaded), load_ms (→ Scorer ready: weights
 * checked), first_score_ms (→ first request scored), since_process_start_ms, and `marks`: when
 * the weights' read began and ended and when ONNX Runtime was loaded (ms since process start);
 * then second_score_ms (the same request again).
 */
import { readFileSync } from 'node:fs';
import { prefetchServingWeights } from '../model/prefetch.ts';

const [modelUri, requestFile, backend, contextMode] = process.argv.slice(2);
prefetchServingWeights(modelUri!);
const { Scorer } = await import('./scorer.ts');
const t0 = performance.now();
const body = readFileSync(requestFile!, 'utf8');
// 'fixed-context': a deployment that fixes its context features (WDP_CONTEXT_FEATURES on the
// Lambda), here the request's, so the load builds the one online plan ahead of the weights.
// 'provisioned': the same, then the made-up requests a provisioned Lambda's init scores before any
// traffic (lambdas/score.ts); first_score_ms is then what the first caller of such an environment waits for.
const fixed = contextMode === 'fixed-context' || contextMode === 'provisioned';
const contextFeatures = fixed ? Object.keys((JSON.parse(body) as { context: object }).context) : undefined;
const scorer = await Scorer.load(modelUri!, { backend: (backend ?? 'auto') as 'auto', ...(contextFeatures ? { contextFeatures } : {}) });
const loaded = performance.now();
const warmUpMs = contextMode === 'provisioned' ? (await scorer.warmUp()).ms : undefined;
const t1 = performance.now();
const res = await scorer.score(JSON.parse(body));
const t2 = performance.now();
// The loader's performance marks (prefetch start and end, ONNX Runtime loaded), since process start.
const marks: Record<string, number> = {};
for (const m of performance.getEntriesByType('mark')) if (m.name.startsWith('wdp:')) marks[m.name.slice(4)] ??= m.startTime;
process.stdout.write(
  `${JSON.stringify({ modules_ms: t0, load_ms: loaded - t0, ...(warmUpMs !== undefined ? { warm_up_ms: warmUpMs } : {}), first_score_ms: t2 - t1, since_process_start_ms: t2, scores: res.scores.length, marks })}\n`,
);
// The second request is still slower than a warm one (ONNX Runtime's allocations, JIT tiers): what
// the next caller after a cold start waits for. A line of its own: the bench's wall time ends at the first.
const t3 = performance.now();
await scorer.score(JSON.parse(body));
process.stdout.write(`${JSON.stringify({ second_score_ms: performance.now() - t3 })}\n`);
scorer.dispose();
process.exit(0);
