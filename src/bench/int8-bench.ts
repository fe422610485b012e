/**
 * `wdp bench int8 --shape small|paper`: the opt-in int8 tower's speed against float32 and the
 * PyTorch peer, on `bench score`'s model (the peer's shapes, random weights) and its
 * `score_p50_ms` measure (one user × 1000 candidates from encoded ids, the model alone).
 *
 * The variants run interleaved request by request (fp32, int8 fused, int8 standard, fp32, …), so
 * a load spike from other processes hits all of them alike: compare the ratios of one run.
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
import { type PeerResult, runPeer } from './peer.ts';
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
  readonly fp32_ratio_to_peer?: number;
  /** int8 (fastest form) p50 / the peer's p50; the target is ≤ 0.4 at paper. */
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
    const last: Partial<Record<keyof typeof models, Float32Array>> = {};
    for (let i = -5; i < requests; i++) {
      for (const k of names) {
        const t = performance.now();
        last[k] = await models[k].scoreSplit(plans[k]!, userBatch, itemBatch);
        if (i >= 0) lat[k].push(performance.now() - t);
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
    const peer = options.peer === false ? undefined : await runPeer(shape, log, shape === 'paper' ? 1 : 3, ['--train-batches', '1']);
    const best = int8[fastest].score_p50_ms;
    return {
      shape,
      candidates: n,
      requests,
      fp32,
      int8,
      int8_fastest: fastest,
      int8_to_fp32: +(best / fp32.score_p50_ms).toFixed(3),
      max_abs_prob_diff: maxDiff,
      ...(peer
        ? {
            peer,
            fp32_ratio_to_peer: +(fp32.score_p50_ms / peer.score_p50_ms).toFixed(3),
            int8_ratio_to_peer: +(best / peer.score_p50_ms).toFixed(3),
          }
        : {}),
      machine: machineInfo(),
    };
  } finally {
    for (const m of Object.values(models)) m.dispose();
  }
}
