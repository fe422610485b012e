/**
 * `wdp bench score --shape small|paper`: the scoring engine against the PyTorch peer
 * (shared/peers/torch_wide_deep.py) in the same run.
 *
 * - score_p50_ms / score_p99_ms: one user × 1000 candidates scored from encoded ids (the
 *   user's row once, the candidates' rows), like the peer, whose request is tensors of ids: wide
 *   part, embeddings, the split tower and the sigmoid;
 * - request_p50_ms / request_p99_ms: the same request through the whole request path as the
 *   Lambda runs it, from the body's bytes to the response's (JSON.parse → validation and the
 *   training transforms → the above → ranking → JSON.stringify), which the peer has no
 *   counterpart for; request_breakdown_ms gives each stage's median; request_columnar_* the
 *   same with the columnar candidates shape; request_int8_* and request_columnar_int8_* the
 *   same two served by the opt-in int8 tower (a quantized copy of the model, made once);
 * - batch_rows_per_s: a Parquet file in, a Parquet file of scores out (scoreParquet);
 * - cold_start_ms: spawn a new process (the scoring code bundled with esbuild as the Lambda is)
 *   → model loaded → first request scored; cold_start_tsx_ms the same through tsx, unbundled;
 *   cold_start_fixed_context_ms the bundled one with the request's context features fixed (as
 *   WDP_CONTEXT_FEATURES does), so the load builds the plan ahead (scorer.ts);
 *   cold_start_huge_pages_ms the bundled one with glibc's malloc asked for transparent huge pages
 *   (GLIBC_TUNABLES=glibc.malloc.hugetlb=1, glibc ≥ 2.35): on a VM where the first touch of each
 *   4 KiB page is costly, most of the load is page faults on the weights' buffer, not the read;
 *   cold_start_copied_tables_ms the bundled one with the embedding tables copied into memory
 *   (WDP_MAP_TABLES=0) instead of mapped from the local file (model/mapped-tables.ts), which is
 *   also what a model read from S3 costs beyond the download; provisioned_first_score_ms the
 *   first request of a provisioned Lambda, whose init loads with fixed context features and
 *   warms up (Scorer.warmUp) before any traffic.
 *
 * The model is a real artifact (config, fitted transforms, random weights) with the peer's
 * shapes (score-model.ts); half the categoricals and half the numerics are user context.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileWriter, ParquetWriter, type SchemaElement } from 'hyparquet-writer';
import { INT8_TOWER_FILE } from '../model/artifact.ts';
import { writeQuantizedCopy } from '../model/quantize-copy.ts';
import { MODEL_FORMAT_VERSION, readManifest } from '../model/manifest.ts';
import { MAP_TABLES_ENV } from '../model/mapped-tables.ts';
import { scoreParquet } from '../scoring/batch.ts';
import { type RequestTimings, Scorer } from '../scoring/scorer.ts';
import type { SplitTowerKind } from '../scoring/split-tower.ts';
import { asColumnar } from '../scoring/warm-up.ts';
import { Rng } from '../util/random.ts';
import { type MachineInfo, machineInfo } from './machine.ts';
import { median, PEER_INSTALL, type PeerResult, pairedP50Ratio, peerRunner } from './peer.ts';
import { benchRows, benchSplit, writeBenchModel, zipfToken } from './score-model.ts';
import { BENCH_SHAPES, type BenchShapeName } from './train-bench.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface ScoreBenchOptions {
  readonly shape: BenchShapeName;
  /** @default 'auto' */
  readonly backend?: SplitTowerKind;
  /** Timed requests (after 5 warm-up ones), as the peer. @default 50 */
  readonly requests?: number;
  /** Candidates per request. @default 1000 (the peer's) */
  readonly candidates?: number;
  /** Rows of the batch-scoring file. @default 100_000 (small), 20_000 (paper) */
  readonly batchRows?: number;
  /** Folder for the generated model (kept and reused). @default $TMPDIR/wdp-bench-score-<shape> */
  readonly modelDir?: string;
  /** @default true */
  readonly peer?: boolean;
  /**
   * Rounds of timed blocks (`requests` split across them), each followed by one peer run; the
   * ratios are the median over the rounds of each round's p50 over its peer run's. @default 3
   */
  readonly peerRuns?: number;
  /** @default true */
  readonly coldStart?: boolean;
  /** Also time the request path served by the int8 tower (a quantized copy of the model). @default true */
  readonly int8?: boolean;
  readonly log?: (m: string) => void;
}

export interface ScoreBenchResult {
  readonly shape: BenchShapeName;
  readonly engine: string;
  /** ONNX Runtime's idle threads spin-wait: the serving default, or off when the int8 scorer runs beside the float32 one. */
  readonly ort_spinning: 'serving default' | 'off';
  readonly candidates: number;
  readonly score_p50_ms: number;
  readonly score_p99_ms: number;
  readonly request_p50_ms: number;
  readonly request_p99_ms: number;
  /** Medians per stage of the row-shaped request (they need not add up to request_p50_ms exactly). */
  readonly request_breakdown_ms: RequestBreakdown;
  /** The same request with columnar candidates. */
  readonly request_columnar_p50_ms: number;
  readonly request_columnar_p99_ms: number;
  readonly request_columnar_breakdown_ms: RequestBreakdown;
  /**
   * The same two requests served by the int8 tower (`serving.quantize: "int8"`), timed in the
   * same run, interleaved with the float32 ones.
   */
  readonly request_int8_p50_ms?: number;
  readonly request_int8_p99_ms?: number;
  readonly request_int8_breakdown_ms?: RequestBreakdown;
  readonly request_columnar_int8_p50_ms?: number;
  readonly request_columnar_int8_p99_ms?: number;
  readonly request_columnar_int8_breakdown_ms?: RequestBreakdown;
  /** Bytes of the request body, row-shaped and columnar. */
  readonly request_bytes: { readonly rows: number; readonly columnar: number };
  readonly batch_rows_per_s: number;
  readonly batch_rows: number;
  readonly cold_start_ms?: number;
  readonly cold_start_tsx_ms?: number;
  readonly cold_start_detail?: Record<string, number>;
  /** The same with the request's context features fixed (WDP_CONTEXT_FEATURES): the plan is built during the load. */
  readonly cold_start_fixed_context_ms?: number;
  readonly cold_start_fixed_context_detail?: Record<string, number>;
  /** The same as cold_start_ms with malloc's transparent huge pages on (HUGE_PAGES_TUNABLE). */
  readonly cold_start_huge_pages_ms?: number;
  readonly cold_start_huge_pages_detail?: Record<string, number>;
  /** The same as cold_start_ms with the tables copied into memory (WDP_MAP_TABLES=0), not mapped. */
  readonly cold_start_copied_tables_ms?: number;
  readonly cold_start_copied_tables_detail?: Record<string, number>;
  /**
   * A provisioned Lambda's first request: fixed context features, the model loaded and warmed up
   * in init (Scorer.warmUp), then the request (median of three processes); with the warm-up's
   * time and the second request's.
   */
  readonly provisioned_first_score_ms?: number;
  readonly provisioned_detail?: Record<string, number>;
  readonly peer?: PeerResult;
  /** Each round's p50s and the peer run that followed it (the pairs behind the ratios below). */
  readonly peer_rounds?: readonly PeerRound[];
  /**
   * The model alone against the peer (lower is better; the targets are ≤ 0.5 at paper, ≤ 1 at
   * small): the median over the rounds of the round's score p50 / its peer run's p50. So are the
   * other `*_ratio_to_peer` below, each for its own latency.
   */
  readonly p50_ratio_to_peer?: number;
  /** The whole request (rows) against the peer. */
  readonly request_p50_ratio_to_peer?: number;
  /** score_p50_ms / the p50 of the peer exactly as its script runs (when that is not the peer compared against). */
  readonly p50_ratio_to_peer_as_shipped?: number;
  readonly request_columnar_p50_ratio_to_peer?: number;
  readonly request_int8_p50_ratio_to_peer?: number;
  readonly request_columnar_int8_p50_ratio_to_peer?: number;
  readonly machine: MachineInfo;
}

/** One round of the online measurement: our p50s in it, and the peer run right after it. */
export interface PeerRound {
  readonly score_p50_ms: number;
  readonly request_p50_ms: number;
  readonly request_columnar_p50_ms: number;
  readonly peer_p50_ms: number;
}

export interface RequestBreakdown {
  readonly parse: number;
  readonly validate_encode: number;
  readonly model: number;
  readonly rank: number;
  readonly serialize: number;
}

/**
 * Runs one request body through the Lambda's path (what handler.ts does for a Function URL
 * event: JSON.parse, Scorer.score, JSON.stringify) `warmups + n` times.
 * @returns sorted latencies and the per-stage medians
 */
async function timeRequests(
  scorer: Scorer,
  body: string,
  warmups: number,
  n: number,
): Promise<{ lat: number[]; breakdown: RequestBreakdown }> {
  const stages: Record<keyof RequestBreakdown, number[]> = { parse: [], validate_encode: [], model: [], rank: [], serialize: [] };
  const lat: number[] = [];
  const t: RequestTimings = { validateEncodeMs: 0, modelMs: 0, rankMs: 0 };
  for (let i = 0; i < warmups + n; i++) {
    const t0 = performance.now();
    const parsed: unknown = JSON.parse(body);
    const t1 = performance.now();
    const res = await scorer.score(parsed, t);
    const t2 = performance.now();
    JSON.stringify(res);
    const t3 = performance.now();
    if (i < warmups) continue;
    lat.push(t3 - t0);
    stages.parse.push(t1 - t0);
    stages.validate_encode.push(t.validateEncodeMs);
    stages.model.push(t.modelMs);
    stages.rank.push(t.rankMs);
    stages.serialize.push(t3 - t2);
  }
  lat.sort((a, b) => a - b);
  const med = (a: number[]) => +median(a).toFixed(3);
  return {
    lat,
    breakdown: {
      parse: med(stages.parse),
      validate_encode: med(stages.validate_encode),
      model: med(stages.model),
      rank: med(stages.rank),
      serialize: med(stages.serialize),
    },
  };
}

function meanBreakdown(b: readonly RequestBreakdown[]): RequestBreakdown {
  const mean = (k: keyof RequestBreakdown) => +(b.reduce((a, x) => a + x[k], 0) / b.length).toFixed(3);
  return {
    parse: mean('parse'),
    validate_encode: mean('validate_encode'),
    model: mean('model'),
    rank: mean('rank'),
    serialize: mean('serialize'),
  };
}

/** The peer's percentile: lat sorted, index ceil(q·n) − 1. */
function pct(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** A request of one user and `n` candidates, random like the peer's. */
export function benchRequest(
  shape: BenchShapeName,
  n: number,
  seed = 3,
): { context: Record<string, unknown>; candidates: Record<string, unknown>[] } {
  const s = BENCH_SHAPES[shape];
  const sp = benchSplit(s);
  const rng = new Rng(seed);
  const context: Record<string, unknown> = {};
  for (const c of sp.userCats) context[c] = zipfToken(rng, s.vocab);
  for (const x of sp.userNums) context[x] = rng.next();
  const candidates = Array.from({ length: n }, () => {
    const o: Record<string, unknown> = {};
    for (const c of sp.itemCats) o[c] = zipfToken(rng, s.vocab);
    for (const x of sp.itemNums) o[x] = rng.next();
    return o;
  });
  return { context, candidates };
}

/** Writes `rows` bench rows as Parquet, one row group at a time (bounded memory at any size). */
export async function writeBenchParquet(shape: BenchShapeName, path: string, rows: number, rowGroupRows = 65536): Promise<void> {
  const s = BENCH_SHAPES[shape];
  const sp = benchSplit(s);
  const cats = [...sp.userCats, ...sp.itemCats];
  const nums = [...sp.userNums, ...sp.itemNums];
  const schema: SchemaElement[] = [
    { name: 'root', num_children: 2 + cats.length + nums.length },
    { name: 'request_id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
    { name: 'item_id', type: 'INT64', repetition_type: 'REQUIRED' },
    ...cats.map((name): SchemaElement => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' })),
    ...nums.map((name): SchemaElement => ({ name, type: 'DOUBLE', repetition_type: 'OPTIONAL' })),
  ];
  const writer = new ParquetWriter({ writer: fileWriter(path), schema, codec: 'SNAPPY' });
  for (let start = 0; start < rows; start += rowGroupRows) {
    const n = Math.min(rowGroupRows, rows - start);
    const chunk = benchRows(shape, n, 1000 + start, start);
    const col = (name: string) => chunk.columns.get(name)!;
    await writer.write({
      columnData: [
        { name: 'request_id', data: col('request_id') as string[] },
        { name: 'item_id', data: BigInt64Array.from(col('item_id') as Float64Array, (v) => BigInt(v)) },
        ...cats.map((name) => ({ name, data: col(name) as string[] })),
        ...nums.map((name) => ({ name, data: col(name) as Float64Array })),
      ],
      rowGroupSize: n,
    });
  }
  await writer.finish();
}

/** The bench model at `dir`, written once and reused while its id matches. */
export async function ensureModel(shape: BenchShapeName, dir: string, log?: (m: string) => void): Promise<void> {
  if (existsSync(join(dir, 'manifest.json'))) {
    const m = await readManifest(dir).catch(() => undefined);
    // An older format is written again, so the cold start measures what a new model costs to load.
    if (m?.modelId === `bench-${shape}` && m.formatVersion === MODEL_FORMAT_VERSION && m.files['serving.safetensors']) return;
  }
  log?.(`writing the ${shape} benchmark model to ${dir} (once)`);
  await rm(dir, { recursive: true, force: true });
  await writeBenchModel(shape, dir);
}

/**
 * The int8 copy of the bench model at `dir` (`<dir>-int8`, as `wdp quantize` writes it), written
 * once and reused while its float32 weights are the model's.
 */
export async function ensureInt8Model(dir: string, log?: (m: string) => void): Promise<string> {
  const out = `${dir}-int8`;
  const source = await readManifest(dir);
  if (existsSync(join(out, 'manifest.json'))) {
    const m = await readManifest(out).catch(() => undefined);
    const same = (name: string) => m?.files[name]?.sha256 === source.files[name]?.sha256;
    if (m?.files[INT8_TOWER_FILE] && Object.keys(source.files).every(same)) return out;
  }
  log?.(`writing the int8 copy of the benchmark model to ${out} (once)`);
  await rm(out, { recursive: true, force: true });
  await writeQuantizedCopy(dir, out);
  return out;
}

/** The cold-start entry's JSON line: durations in ms, and its performance marks since process start. */
type ColdStartLine = Record<string, number> & { marks?: Record<string, number> };

/**
 * One cold start's stages. The three sequential ones add up to the wall time: process start →
 * scoring code loaded, → model ready, → first request scored. The weights' read overlaps them
 * (model/prefetch.ts), so it is given as when it began and how long it took, and ONNX Runtime
 * as when it was loaded.
 */
function coldStartDetail(run: { wallMs: number; out: ColdStartLine }): Record<string, number> {
  const marks = run.out.marks ?? {};
  const readStart = marks['prefetch-start'];
  const readEnd = marks['prefetch-read'];
  return {
    process_and_modules_ms: Math.round(run.wallMs - run.out['load_ms']! - run.out['first_score_ms']!),
    model_load_ms: Math.round(run.out['load_ms']!),
    first_score_ms: Math.round(run.out['first_score_ms']!),
    ...(run.out['second_score_ms'] !== undefined ? { second_score_ms: Math.round(run.out['second_score_ms']) } : {}),
    ...(readStart !== undefined && readEnd !== undefined
      ? { weights_read_from_ms: Math.round(readStart), weights_read_and_sha256_ms: Math.round(readEnd - readStart) }
      : {}),
    ...(marks['onnxruntime-loaded'] !== undefined ? { onnxruntime_loaded_at_ms: Math.round(marks['onnxruntime-loaded']) } : {}),
  };
}

/**
 * glibc's tunable that makes malloc madvise its large mappings for transparent huge pages (2 MiB),
 * so a 246 MB weights buffer takes ~120 first-touch faults instead of ~60,000. Read by the dynamic
 * loader at process start, so it can only be given to a new process. glibc < 2.35 ignores it.
 */
export const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb=1';

/** `env` with HUGE_PAGES_TUNABLE added to any GLIBC_TUNABLES already set. */
export function withHugePages(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const given = env['GLIBC_TUNABLES'];
  if (given?.split(':').includes(HUGE_PAGES_TUNABLE)) return env;
  return { ...env, GLIBC_TUNABLES: given ? `${given}:${HUGE_PAGES_TUNABLE}` : HUGE_PAGES_TUNABLE };
}

/** Runs `cmd args`, resolving with wall ms from spawn to the child's JSON line, and that line. */
function timeProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ wallMs: number; out: ColdStartLine }> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let wallMs = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!wallMs && out.includes('\n')) wallMs = performance.now() - t0;
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || !wallMs)
        return reject(new Error(`cold-start process exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      // Wall time ends at the first line; later lines (second_score_ms) add their fields.
      const lines = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as ColdStartLine);
      resolvePromise({ wallMs, out: Object.assign({}, ...lines) as ColdStartLine });
    });
  });
}

/**
 * Bundles the cold-start entry like the Lambda: esbuild, minified, onnxruntime-node external
 * (a native module), the AWS SDK bundled in (measured: bundling and minifying the SDK roughly
 * halves module-loading time compared with resolving @aws-sdk/* from node_modules).
 */
async function bundleColdStart(): Promise<{ file: string; bytes: number }> {
  const { build } = await import('esbuild');
  const outdir = join(REPO_ROOT, 'node_modules', '.cache', 'wdp');
  await mkdir(outdir, { recursive: true });
  // One file per bench process: node_modules (and so this folder) may be shared by several
  // checkouts, and two benches must not run each other's bundle.
  const file = join(outdir, `cold-start-${process.pid}.mjs`);
  await build({
    entryPoints: [join(REPO_ROOT, 'src/scoring/cold-start-entry.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outfile: file,
    external: ['onnxruntime-node'],
    minify: true,
    // ESM bundles of CJS dependencies need require().
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'silent',
  });
  return { file, bytes: (await stat(file)).size };
}

export async function benchScore(options: ScoreBenchOptions): Promise<ScoreBenchResult> {
  const { shape } = options;
  const log = options.log;
  const n = options.candidates ?? 1000;
  const dir = options.modelDir ?? join(tmpdir(), `wdp-bench-score-${shape}`);
  await ensureModel(shape, dir, log);
  const backend = options.backend ?? 'auto';
  // With the int8 scorer beside the float32 one, two ONNX Runtime thread pools take turns in this
  // process, and an idle one spin-waiting takes a core from the other's request (measured at
  // paper: the int8 blocks' JSON.parse 4.7 → 7.1 ms), so both stop spinning, as `bench int8`
  // does; with --no-int8 the one scorer keeps the serving default.
  const spin = options.int8 === false ? {} : { allowSpinning: false };
  const scorer = await Scorer.load(dir, { backend, maxCandidates: Math.max(n, 1000), cache: false, ...spin });
  const scorer8 =
    options.int8 === false
      ? undefined
      : await Scorer.load(await ensureInt8Model(dir, log), {
          backend,
          precision: 'int8',
          maxCandidates: Math.max(n, 1000),
          cache: false,
          ...spin,
        });
  const work = join(tmpdir(), `wdp-bench-score-${process.pid}`);
  await mkdir(work, { recursive: true });
  try {
    // Online: the whole request path (rows, then columns; float32, then int8; interleaved in
    // blocks so load drifts hit all of them), then the model alone from encoded ids. Blocks
    // rather than single requests: each scorer's ONNX Runtime pool spin-waits for a moment
    // after its run, and the warm-ups of the next block absorb that.
    const request = benchRequest(shape, n);
    const requests = options.requests ?? 50;
    const rowsBody = JSON.stringify(request);
    const colsBody = JSON.stringify(asColumnar(request));
    type Run = Awaited<ReturnType<typeof timeRequests>>;
    const rowRuns: Run[] = [];
    const colRuns: Run[] = [];
    const rowRuns8: Run[] = [];
    const colRuns8: Run[] = [];
    // The model alone, from encoded ids: the peer's request.
    const sp = benchSplit(BENCH_SHAPES[shape]);
    const user = new Set([...sp.userCats, ...sp.userNums]);
    const plan = await scorer.model.plan(user);
    const chunkOf = (rows: number, seed: number) => benchRows(shape, rows, seed);
    const userBatch = scorer.transforms.encode(chunkOf(1, 11), { withLabels: false }).batch;
    const itemBatch = scorer.transforms.encode(chunkOf(n, 12), { withLabels: false }).batch;
    const timeModel = async (count: number): Promise<number[]> => {
      for (let i = 0; i < 5; i++) await scorer.model.scoreSplit(plan, userBatch, itemBatch);
      const out: number[] = [];
      for (let i = 0; i < count; i++) {
        const t = performance.now();
        await scorer.model.scoreSplit(plan, userBatch, itemBatch);
        out.push(performance.now() - t);
      }
      return out.sort((a, b) => a - b);
    };
    const modelRuns: number[][] = [];
    // Rounds of our blocks, each followed by one peer run, so that each ratio compares two
    // measurements minutes apart at most: on a shared 2-core machine the load drifts (the peer's
    // p50 read 16.6 and 29.9 ms in two runs of one hour here) and a peer run at the end measured
    // another machine than our blocks did.
    let peerRun = options.peer === false ? undefined : await peerRunner(shape, log, ['--train-batches', '1']);
    const rounds = Math.max(2, options.peerRuns ?? 3);
    const perBlock = Math.max(1, Math.ceil(requests / rounds));
    // Untimed first: the first block otherwise ran 2–3× slower than the later ones (JIT tiers,
    // ONNX Runtime's first runs), which the 5 warm-ups per block do not absorb.
    for (const s of [scorer, scorer8]) for (const body of [rowsBody, colsBody]) if (s) await timeRequests(s, body, 20, 1);
    await timeModel(1);
    for (let r = 0; r < rounds; r++) {
      rowRuns.push(await timeRequests(scorer, rowsBody, 5, perBlock));
      colRuns.push(await timeRequests(scorer, colsBody, 5, perBlock));
      if (scorer8) {
        rowRuns8.push(await timeRequests(scorer8, rowsBody, 5, perBlock));
        colRuns8.push(await timeRequests(scorer8, colsBody, 5, perBlock));
      }
      modelRuns.push(await timeModel(perBlock));
      if (peerRun) {
        log?.(`round ${r + 1}/${rounds}: request p50 ${pct(rowRuns[r]!.lat, 0.5).toFixed(2)} ms; the peer's run …`);
        try {
          await peerRun.runOnce();
        } catch (e) {
          log?.(`peer: could not run (${(e as Error).message}); ${PEER_INSTALL}`);
          peerRun = undefined;
        }
      }
    }
    scorer8?.dispose();
    const joinRuns = (runs: Run[]) => ({
      lat: runs.flatMap((x) => x.lat).sort((a, b) => a - b),
      // The rounds' medians, averaged: close to the whole run's median per stage.
      breakdown: meanBreakdown(runs.map((x) => x.breakdown)),
    });
    const rowsRun = joinRuns(rowRuns);
    const colsRun = joinRuns(colRuns);
    const int8Runs = scorer8 ? { rows: joinRuns(rowRuns8), cols: joinRuns(colRuns8) } : undefined;
    const lat = rowsRun.lat;
    const mlat = modelRuns.flat().sort((a, b) => a - b);
    const engine = plan.tower?.name ?? 'wide only';
    log?.(
      `online: p50 ${pct(mlat, 0.5).toFixed(2)} ms from encoded ids, ${pct(lat, 0.5).toFixed(2)} ms for the whole request (${pct(colsRun.lat, 0.5).toFixed(2)} ms columnar), on ${engine}`,
    );
    if (int8Runs)
      log?.(
        `online, int8 tower: ${pct(int8Runs.rows.lat, 0.5).toFixed(2)} ms for the whole request (${pct(int8Runs.cols.lat, 0.5).toFixed(2)} ms columnar)`,
      );

    // Batch: Parquet in → Parquet out.
    const batchRows = options.batchRows ?? (shape === 'paper' ? 20_000 : 100_000);
    const input = join(work, 'in.parquet');
    await writeBenchParquet(shape, input, batchRows);
    const t = performance.now();
    const r = await scoreParquet({ model: scorer, input, output: join(work, 'out.parquet') });
    const batchRowsPerS = r.rows / ((performance.now() - t) / 1000);
    log?.(`batch: ${r.rows} rows at ${Math.round(batchRowsPerS)} rows/s`);
    scorer.dispose();

    // Cold start: new process → first score. Median of 3.
    let cold: Pick<
      ScoreBenchResult,
      | 'cold_start_ms'
      | 'cold_start_tsx_ms'
      | 'cold_start_detail'
      | 'cold_start_fixed_context_ms'
      | 'cold_start_fixed_context_detail'
      | 'cold_start_huge_pages_ms'
      | 'cold_start_huge_pages_detail'
      | 'cold_start_copied_tables_ms'
      | 'cold_start_copied_tables_detail'
      | 'provisioned_first_score_ms'
      | 'provisioned_detail'
    > = {};
    if (options.coldStart !== false) {
      const reqFile = join(work, 'request.json');
      await writeFile(reqFile, JSON.stringify(request));
      const bundle = await bundleColdStart();
      const runs: { wallMs: number; out: ColdStartLine }[] = [];
      const fixedRuns: { wallMs: number; out: ColdStartLine }[] = [];
      const hugeRuns: { wallMs: number; out: ColdStartLine }[] = [];
      const copiedRuns: { wallMs: number; out: ColdStartLine }[] = [];
      const provisionedRuns: { wallMs: number; out: ColdStartLine }[] = [];
      try {
        // Interleaved, so that load drifts on a shared machine fall on all alike.
        for (let i = 0; i < 3; i++) {
          runs.push(await timeProcess(process.execPath, [bundle.file, dir, reqFile, backend]));
          fixedRuns.push(await timeProcess(process.execPath, [bundle.file, dir, reqFile, backend, 'fixed-context']));
          hugeRuns.push(await timeProcess(process.execPath, [bundle.file, dir, reqFile, backend], withHugePages(process.env)));
          copiedRuns.push(
            await timeProcess(process.execPath, [bundle.file, dir, reqFile, backend], { ...process.env, [MAP_TABLES_ENV]: '0' }),
          );
          provisionedRuns.push(await timeProcess(process.execPath, [bundle.file, dir, reqFile, backend, 'provisioned']));
        }
      } finally {
        await rm(bundle.file, { force: true });
      }
      const tsx: number[] = [];
      for (let i = 0; i < 2; i++)
        tsx.push(
          (
            await timeProcess(process.execPath, [
              '--import',
              'tsx',
              join(REPO_ROOT, 'src/scoring/cold-start-entry.ts'),
              dir,
              reqFile,
              backend,
            ])
          ).wallMs,
        );
      const mid = [...runs].sort((a, b) => a.wallMs - b.wallMs)[1]!;
      const fixedMid = [...fixedRuns].sort((a, b) => a.wallMs - b.wallMs)[1]!;
      const hugeMid = [...hugeRuns].sort((a, b) => a.wallMs - b.wallMs)[1]!;
      const copiedMid = [...copiedRuns].sort((a, b) => a.wallMs - b.wallMs)[1]!;
      cold = {
        cold_start_ms: Math.round(mid.wallMs),
        cold_start_tsx_ms: Math.round(median(tsx)),
        cold_start_detail: { ...coldStartDetail(mid), bundle_kb: Math.round(bundle.bytes / 1024) },
        cold_start_fixed_context_ms: Math.round(fixedMid.wallMs),
        cold_start_fixed_context_detail: coldStartDetail(fixedMid),
        cold_start_huge_pages_ms: Math.round(hugeMid.wallMs),
        cold_start_huge_pages_detail: coldStartDetail(hugeMid),
        cold_start_copied_tables_ms: Math.round(copiedMid.wallMs),
        cold_start_copied_tables_detail: coldStartDetail(copiedMid),
        // The first request's own time is what a provisioned environment's first caller waits for.
        provisioned_first_score_ms: Math.round(median(provisionedRuns.map((r) => r.out['first_score_ms']!))),
        provisioned_detail: {
          warm_up_ms: Math.round(median(provisionedRuns.map((r) => r.out['warm_up_ms']!))),
          second_score_ms: Math.round(median(provisionedRuns.map((r) => r.out['second_score_ms']!))),
        },
      };
      log?.(
        `cold start: ${cold.cold_start_ms} ms bundled (${cold.cold_start_copied_tables_ms} ms with the tables copied, ${cold.cold_start_huge_pages_ms} ms with malloc huge pages), ${cold.cold_start_tsx_ms} ms through tsx; a provisioned environment's first request ${cold.provisioned_first_score_ms} ms`,
      );
    }

    const peerResult = peerRun?.result();
    const p50 = pct(mlat, 0.5);
    const rp50 = pct(lat, 0.5);
    const pairedRatio = (runs: readonly (readonly number[])[]) => pairedP50Ratio(runs, peerResult!.run_p50_ms);
    const { run_p50_ms: peerRunP50s, ...peer } = peerResult ?? { run_p50_ms: [] };
    return {
      shape,
      engine: `wdp scoring (${engine})`,
      ort_spinning: options.int8 === false ? 'serving default' : 'off',
      candidates: n,
      score_p50_ms: +p50.toFixed(3),
      score_p99_ms: +pct(mlat, 0.99).toFixed(3),
      request_p50_ms: +rp50.toFixed(3),
      request_p99_ms: +pct(lat, 0.99).toFixed(3),
      request_breakdown_ms: rowsRun.breakdown,
      request_columnar_p50_ms: +pct(colsRun.lat, 0.5).toFixed(3),
      request_columnar_p99_ms: +pct(colsRun.lat, 0.99).toFixed(3),
      request_columnar_breakdown_ms: colsRun.breakdown,
      ...(int8Runs
        ? {
            request_int8_p50_ms: +pct(int8Runs.rows.lat, 0.5).toFixed(3),
            request_int8_p99_ms: +pct(int8Runs.rows.lat, 0.99).toFixed(3),
            request_int8_breakdown_ms: int8Runs.rows.breakdown,
            request_columnar_int8_p50_ms: +pct(int8Runs.cols.lat, 0.5).toFixed(3),
            request_columnar_int8_p99_ms: +pct(int8Runs.cols.lat, 0.99).toFixed(3),
            request_columnar_int8_breakdown_ms: int8Runs.cols.breakdown,
          }
        : {}),
      request_bytes: { rows: Buffer.byteLength(rowsBody), columnar: Buffer.byteLength(colsBody) },
      batch_rows_per_s: Math.round(batchRowsPerS),
      batch_rows: r.rows,
      ...cold,
      ...(peerResult
        ? {
            peer: peer as PeerResult,
            peer_rounds: peerRunP50s.map((peerP50, i) => ({
              score_p50_ms: +pct(modelRuns[i]!, 0.5).toFixed(3),
              request_p50_ms: +pct(rowRuns[i]!.lat, 0.5).toFixed(3),
              request_columnar_p50_ms: +pct(colRuns[i]!.lat, 0.5).toFixed(3),
              peer_p50_ms: +peerP50.toFixed(3),
            })),
            p50_ratio_to_peer: pairedRatio(modelRuns),
            request_p50_ratio_to_peer: pairedRatio(rowRuns.map((x) => x.lat)),
            request_columnar_p50_ratio_to_peer: pairedRatio(colRuns.map((x) => x.lat)),
            ...(int8Runs
              ? {
                  request_int8_p50_ratio_to_peer: pairedRatio(rowRuns8.map((x) => x.lat)),
                  request_columnar_int8_p50_ratio_to_peer: pairedRatio(colRuns8.map((x) => x.lat)),
                }
              : {}),
            ...(peerResult.as_shipped ? { p50_ratio_to_peer_as_shipped: +(p50 / peerResult.as_shipped.score_p50_ms).toFixed(3) } : {}),
          }
        : {}),
      machine: machineInfo(),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
