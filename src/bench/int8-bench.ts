/**
 * `wdp bench int8 --shape small|paper`: the opt-in int8 tower's speed against float32 and the
 * PyTorch peer, on `bench score`'s model (the peer's shapes, random weights) and its
 * `score_p50_ms` measure (one user × 1000 candidates from encoded ids, the model alone).
 *
 * The variants run interleaved request by request (fp32, int8 fused, int8 standard, fp32, …), so
 * a load spike from other processes hits all of them alike: compare the ratios of one run. The
 * requests come in rounds, each followed by one peer run, and the ratios to the peer pair each
 * round with its run.
 * The int8 tower is quantized in memory from the model's float32 tower, exactly as
 * `wdp quantize` / a save with `serving.quantize: "int8"` writes it (model/tower/int8.ts).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStoredModel } from '../model/stored-model.ts';
import { quantizeTower } from '../model/tower/int8.ts';
import { configureOnnxRuntime } from '../model/tower/onnx-runtime.ts';
import type { Int8Ops } from '../model/tower/onnx-export.ts';
import { ServingModel } from '../scoring/serving-model.ts';
import { PEER_INSTALL, type PeerResult, pairedP50Ratio, peerRunner } from './peer.ts';
import { ensureModel } from './score-bench.ts';
import { benchRows, benchSplit } from './score-model.ts';
import { BENCH_SHAPES, type BenchShapeName } from './train-bench.ts';
import { type MachineInfo, machineInfo } from './machine.ts';

export interface Int8BenchOptions {
  readonly shape: BenchShapeName;
  /** Timed requests per variant (after 5 warm-ups each). @default 50 */
  readonly requests?: number;
  /** @default 1000 */
  readonly candidates?: number;
  /** Run the PyTorch peer in the same run (when python3-torch is installed). @default true */
  readonly peer?: boolean;
  /**
   * Rounds of interleaved requests (`requests` split across them), each followed by one peer
   * run; a ratio to the peer is the median over the rounds (peer.ts pairedP50Ratio). @default 3
   */
  readonly rounds?: number;
  readonly modelDir?: string;
  readonly log?: (message: string) => void;
}

export interface Int8Variant {
  readonly engine: string;
  readonly score_p50_ms: number;
  readonly score_p99_ms: number;
}

export interface Int8BenchResult {
  readonly shape: BenchShapeName;
  readonly candidates: number;
  readonly requests: number;
  readonly fp32: Int8Variant;
  readonly int8: Record<Int8Ops, Int8Variant>;
  /** The faster int8 form in this run. */
  readonly int8_fastest: Int8Ops;
  /** int8 (fastest form) p50 / fp32 p50, same run. */
  readonly int8_to_fp32: number;
  /** Largest |int8 − fp32| probability over the timed request's candidates (random weights: speed, not quality). */
  readonly max_abs_prob_diff: number;
  readonly peer?: PeerResult;
  /** Each round's p50s and the peer run right after it. */
  readonly peer_rounds?: readonly { fp32_p50_ms: number; int8_p50_ms: number; peer_p50_ms: number }[];
  /** fp32 p50 / the peer's, paired by round (the median of the rounds' ratios). */
  readonly fp32_ratio_to_peer?: number;
  /** int8 (fastest form) p50 / the peer's, paired by round; the target is ≤ 0.4 at paper. */
  readonly int8_ratio_to_peer?: number;
  readonly machine: MachineInfo;
}

function pct(sorted: readonly number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

export async function benchInt8(options: Int8BenchOptions): Promise<Int8BenchResult> {
  const { shape, log } = options;
  const n = options.candidates ?? 1000;
  const requests = options.requests ?? 50;
  const dir = options.modelDir ?? join(tmpdir(), `wdp-bench-score-${shape}`);
  await ensureModel(shape, dir, log);
  const artifact = await readStoredModel(dir, { weightsOnly: true });
  if (!artifact.state.tower) throw new RangeError(`bench model ${dir} has no tower`);
  const int8Tower = quantizeTower(artifact.state.tower);
  // Three ONNX Runtime sessions take turns here, each with its own thread pool: idle pools that
  // spin-wait steal the cores from the one running (float32 measured 25–30 ms instead of ~10 ms
  // at paper on 2 cores), so this bench turns spinning off, as WDP_ORT_SPIN=0 does.
  configureOnnxRuntime({ allowSpinning: false });
  const models = {
    fp32: new ServingModel(artifact, { backend: 'onnx', precision: 'fp32' }),
    fused: new ServingModel({ ...artifact, int8Tower }, { backend: 'onnx', precision: 'int8', int8Ops: 'fused' }),
    standard: new ServingModel({ ...artifact, int8Tower }, { backend: 'onnx', precision: 'int8', int8Ops: 'standard' }),
  };
  try {
    const sp = benchSplit(BENCH_SHAPES[shape]);
    const user = new Set([...sp.userCats, ...sp.userNums]);
    const userBatch = artifact.transforms.encode(benchRows(shape, 1, 11), { withLabels: false }).batch;
    const itemBatch = artifact.transforms.encode(benchRows(shape, n, 12), { withLabels: false }).batch;
    const names = Object.keys(models) as (keyof typeof models)[];
    const plans = Object.fromEntries(await Promise.all(names.map(async (k) => [k, await models[k].plan(user)] as const)));
    const lat = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<keyof typeof models, number[]>;
    // Per round and variant, for the ratios paired with the peer run after each round.
    const roundLat = Object.fromEntries(names.map((k) => [k, [] as number[][]])) as Record<keyof typeof models, number[][]>;
    const last: Partial<Record<keyof typeof models, Float32Array>> = {};
    let peer = options.peer === false ? undefined : await peerRunner(shape, log, ['--train-batches', '1']);
    const rounds = Math.max(2, options.rounds ?? 3);
    const perRound = Math.max(1, Math.ceil(requests / rounds));
    for (let r = 0; r < rounds; r++) {
      for (const k of names) roundLat[k].push([]);
      for (let i = r === 0 ? -5 : 0; i < perRound; i++) {
        for (const k of names) {
          const t = performance.now();
          last[k] = await models[k].scoreSplit(plans[k]!, userBatch, itemBatch);
          if (i >= 0) roundLat[k][r]!.push(performance.now() - t);
        }
      }
      for (const k of names) {
        roundLat[k][r]!.sort((a, b) => a - b);
        lat[k].push(...roundLat[k][r]!);
      }
      if (peer) {
        try {
          await peer.runOnce();
        } catch (e) {
          log?.(`peer: could not run (${(e as Error).message}); ${PEER_INSTALL}`);
          peer = undefined;
        }
      }
    }
    const variant = (k: keyof typeof models): Int8Variant => {
      const s = [...lat[k]].sort((a, b) => a - b);
      return {
        engine: plans[k]!.tower?.name ?? 'wide only',
        score_p50_ms: +pct(s, 0.5).toFixed(3),
        score_p99_ms: +pct(s, 0.99).toFixed(3),
      };
    };
    const fp32 = variant('fp32');
    const int8 = { fused: variant('fused'), standard: variant('standard') };
    const fastest: Int8Ops = int8.fused.score_p50_ms <= int8.standard.score_p50_ms ? 'fused' : 'standard';
    let maxDiff = 0;
    for (let i = 0; i < n; i++) maxDiff = Math.max(maxDiff, Math.abs(last[fastest]![i]! - last.fp32![i]!));
    log?.(
      `fp32 ${fp32.score_p50_ms} ms, int8 fused ${int8.fused.score_p50_ms} ms, int8 standard ${int8.standard.score_p50_ms} ms (p50, ${requests} interleaved requests)`,
    );
    const best = int8[fastest].score_p50_ms;
    const peerResult = peer?.result();
    return {
      shape,
      candidates: n,
      requests,
      fp32,
      int8,
      int8_fastest: fastest,
      int8_to_fp32: +(best / fp32.score_p50_ms).toFixed(3),
      max_abs_prob_diff: maxDiff,
      ...(peerResult
        ? (() => {
            const { run_p50_ms: runP50s, ...summary } = peerResult;
            return {
              peer: summary,
              peer_rounds: runP50s.map((peerP50, r) => ({
                fp32_p50_ms: +pct(roundLat.fp32[r]!, 0.5).toFixed(3),
                int8_p50_ms: +pct(roundLat[fastest][r]!, 0.5).toFixed(3),
                peer_p50_ms: peerP50,
              })),
              fp32_ratio_to_peer: pairedP50Ratio(roundLat.fp32, runP50s),
              int8_ratio_to_peer: pairedP50Ratio(roundLat[fastest], runP50s),
            };
          })()
        : {}),
      machine: machineInfo(),
    };
  } finally {
    for (const m of Object.values(models)) m.dispose();
  }
}
