/**
 * Process entry for measuring a cold start (`wdp bench score`): load the model, score one
 * request, print one JSON line, exit. Bundled with esbuild the way the Lambda is, so the time
 * includes module loading as deployed.
 *   node cold-start.mjs <model-uri> <request.json>
 */
import { readFileSync } from 'node:fs';
import { Scorer } from './scorer.ts';

const [modelUri, requestFile, backend] = process.argv.slice(2);
const t0 = performance.now();
const scorer = await Scorer.load(modelUri!, { backend: (backend ?? 'auto') as 'auto' });
const t1 = performance.now();
const res = await scorer.score(JSON.parse(readFileSync(requestFile!, 'utf8')));
const t2 = performance.now();
process.stdout.write(
  `${JSON.stringify({ modules_ms: t0, load_ms: t1 - t0, first_score_ms: t2 - t1, since_process_start_ms: t2, scores: res.scores.length })}\n`,
);
scorer.dispose();
process.exit(0);
