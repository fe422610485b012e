/**
 * Encode throughput on a realistic feature set (not part of `npm test`: timing is noisy there).
 * Run: npx tsx test/features/encode-bench.ts
 *
 * 15 features: 8 vocab categoricals, 2 hashed, 4 numerics, 1 list of ~10 apps; the wide part
 * also has the paper's installed_apps × impression_app cross and one single × single cross.
 */
import { parseConfig } from '../../src/config/index.ts';
import type { RowChunk } from '../../src/data/row-chunk.ts';
import { FeatureTransforms } from '../../src/features/transforms.ts';
import { Rng } from '../../src/util/random.ts';

const ROWS = 65_536;
const rng = new Rng(1);
const cats = Array.from({ length: 8 }, (_, i) => `c${i}`);
const hashed = ['user', 'device'];
const nums = ['n0', 'n1', 'n2', 'n3'];
const features: Record<string, unknown> = {};
for (const c of cats) features[c] = { kind: 'categorical', vocab: { minCount: 2 } };
for (const h of hashed) features[h] = { kind: 'categorical', hashBuckets: 100_000 };
for (const n of nums) features[n] = { kind: 'numeric', default: 0 };
features.installed_apps = { kind: 'categorical_list', combiner: 'mean' };
features.impression_app = { kind: 'categorical' };
const config = parseConfig({
  label: 'clicked',
  features,
  wide: {
    features: [...cats, ...hashed, ...nums, 'installed_apps', 'impression_app'],
    crosses: [
      { features: ['installed_apps', 'impression_app'], hashBuckets: 1 << 20 },
      { features: ['c0', 'c1'], hashBuckets: 1 << 16 },
    ],
  },
  deep: { embeddings: [...cats, ...hashed, 'installed_apps', 'impression_app'], numeric: nums },
});

function makeChunk(offset: number): RowChunk {
  const cols = new Map<string, unknown>();
  for (const c of cats)
    cols.set(
      c,
      Array.from({ length: ROWS }, () => `${c}_v${rng.int(1000)}`),
    );
  for (const h of hashed)
    cols.set(
      h,
      Array.from({ length: ROWS }, () => `${h}_${rng.int(1_000_000)}`),
    );
  for (const n of nums)
    cols.set(
      n,
      Float64Array.from({ length: ROWS }, () => (rng.next() < 0.01 ? NaN : rng.normal() * 10)),
    );
  cols.set(
    'installed_apps',
    Array.from({ length: ROWS }, () => Array.from({ length: 5 + rng.int(11) }, () => `app${rng.int(5000)}`)),
  );
  cols.set(
    'impression_app',
    Array.from({ length: ROWS }, () => `app${rng.int(5000)}`),
  );
  cols.set(
    'clicked',
    Float64Array.from({ length: ROWS }, () => (rng.next() < 0.1 ? 1 : 0)),
  );
  return { source: 'bench', rowOffset: offset, numRows: ROWS, columns: cols as RowChunk['columns'] };
}

const data = Array.from({ length: 8 }, (_, i) => makeChunk(i * ROWS));
async function* all() {
  yield* data;
}
let t0 = performance.now();
const t = await FeatureTransforms.fit(config, all());
const fitMs = performance.now() - t0;
console.log(`fit: ${((data.length * ROWS) / (fitMs / 1000) / 1e3).toFixed(0)}k rows/s (${fitMs.toFixed(0)} ms)`);

// Warm-up (JIT and token caches), then measure.
for (const c of data.slice(0, 2)) t.encode(c, { withLabels: true, onBadRow: 'skip' });
let rows = 0;
let nnz = 0;
// The fastest chunk: the least disturbed by other processes on a shared machine.
let bestMs = Infinity;
// CPU time as well as wall time: on a shared machine wall time also counts other processes.
const cpu0 = process.cpuUsage();
t0 = performance.now();
for (let rep = 0; rep < Number(process.env.REPS ?? 3); rep++) {
  for (const c of data) {
    const c0 = performance.now();
    const { batch } = t.encode(c, { withLabels: true, onBadRow: 'skip' });
    bestMs = Math.min(bestMs, performance.now() - c0);
    rows += batch.size;
    nnz += batch.wideIds.length;
  }
}
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
console.log(
  `encode: ${(rows / (ms / 1000) / 1e3).toFixed(0)}k rows/s wall, ${(rows / (cpuMs / 1000) / 1e3).toFixed(0)}k rows/s CPU, ` +
    `best chunk ${(ROWS / (bestMs / 1000) / 1e3).toFixed(0)}k rows/s, over ${rows} rows, ${(nnz / rows).toFixed(1)} wide ids/row`,
);

// As in the pipeline: each chunk is encoded right after it is produced (fresh strings whose hash
// V8 has not computed yet, but recently touched in memory), generation time excluded.
let freshRows = 0;
let freshMs = 0;
for (let i = 0; i < 8; i++) {
  const c = makeChunk(i * ROWS);
  const c0 = performance.now();
  freshRows += t.encode(c, { withLabels: true, onBadRow: 'skip' }).batch.size;
  freshMs += performance.now() - c0;
}
console.log(`encode fresh chunks: ${(freshRows / (freshMs / 1000) / 1e3).toFixed(0)}k rows/s wall`);
