/**
 * `wdp bench train --shape small|paper`: training throughput of the whole Wide & Deep step
 * (wide FTRL + embedding gather/AdaGrad + tower step) on random Zipf ids with the same shapes
 * as the PyTorch peer (shared/peers/torch_wide_deep.py), which runs in the same session so
 * the ratio is meaningful on a noisy machine.
 */
import type { DeepLayout, EncodedBatch, WideLayout } from '../features/encoded-batch.ts';
import type { TowerKind } from '../model/tower/kinds.ts';
import { WideDeepModel, type WideDeepSpec } from '../model/wide-deep.ts';
import { Rng } from '../util/random.ts';
import { type MachineInfo, machineInfo } from './machine.ts';
import { median, runPeer, type PeerResult } from './peer.ts';

/** The peer's SHAPES, copied field for field. */
export const BENCH_SHAPES = {
  paper: { cats: 36, vocab: 50_000, dim: 32, nums: 48, wideBuckets: 1 << 20, wideActive: 60, hidden: [1024, 512, 256], batch: 512 },
  small: { cats: 8, vocab: 10_000, dim: 16, nums: 8, wideBuckets: 1 << 18, wideActive: 16, hidden: [256, 128, 64], batch: 512 },
} as const;
export type BenchShapeName = keyof typeof BENCH_SHAPES;
export type BenchShape = (typeof BENCH_SHAPES)[BenchShapeName];

/** Heavy-tailed ids like real categorical logs (the peer's zipf_ids). */
function zipfId(rng: Rng, vocab: number): number {
  return Math.min(Math.floor(vocab ** rng.next() - 1), vocab - 1);
}

export function benchLayouts(s: BenchShape): { wide: WideLayout; deep: DeepLayout } {
  const embeddings = Array.from({ length: s.cats }, (_, i) => ({
    feature: `c${i}`,
    vocabSize: s.vocab,
    dim: s.dim,
    combiner: 'sum' as const,
  }));
  return {
    wide: { segments: [{ name: 'hashed', offset: 0, size: s.wideBuckets }], size: s.wideBuckets },
    deep: { embeddings, numeric: Array.from({ length: s.nums }, (_, i) => `n${i}`), inputDim: s.cats * s.dim + s.nums },
  };
}

export function randomBatch(rng: Rng, s: BenchShape, n: number): EncodedBatch {
  const wideOffsets = new Int32Array(n + 1);
  const wideIds = new Int32Array(n * s.wideActive);
  for (let i = 0; i < n; i++) {
    wideOffsets[i + 1] = (i + 1) * s.wideActive;
    for (let k = 0; k < s.wideActive; k++) wideIds[i * s.wideActive + k] = zipfId(rng, s.wideBuckets);
  }
  const seq = Int32Array.from({ length: n + 1 }, (_, i) => i);
  const embeddingInputs = Array.from({ length: s.cats }, () => ({
    offsets: seq,
    ids: Int32Array.from({ length: n }, () => zipfId(rng, s.vocab)),
  }));
  const numeric = Float32Array.from({ length: n * s.nums }, () => rng.next());
  const labels = Float32Array.from({ length: n }, () => (rng.next() < 0.25 ? 1 : 0));
  return { size: n, labels, wideOffsets, wideIds, wideValues: new Float32Array(wideIds.length).fill(1), embeddingInputs, numeric };
}

export interface TrainBenchOptions {
  readonly shape: BenchShapeName;
  readonly backend?: TowerKind;
  /** Timed batches per repeat. @default 30 (the peer's default) */
  readonly batches?: number;
  /** Timed repeats; the median is reported. @default 5 */
  readonly repeats?: number;
  /** Run the PyTorch peer too. @default true */
  readonly peer?: boolean;
  readonly log?: (m: string) => void;
}

export interface TrainBenchResult {
  readonly shape: BenchShapeName;
  readonly engine: string;
  readonly train_examples_per_s: number;
  readonly runs_examples_per_s: number[];
  /** Median milliseconds per batch in the tower step vs. the rest (wide, embeddings, glue). */
  readonly time_split_ms: { tower_step: number; wide_embeddings_and_glue: number };
  readonly peer?: PeerResult;
  readonly ratio_to_peer?: number;
  /** Our examples/s over those of the peer exactly as its script runs (when that is not the peer compared against). */
  readonly ratio_to_peer_as_shipped?: number;
  readonly machine: MachineInfo;
}

export async function benchTrain(options: TrainBenchOptions): Promise<TrainBenchResult> {
  const s = BENCH_SHAPES[options.shape];
  const { wide, deep } = benchLayouts(s);
  const spec: WideDeepSpec = {
    kind: 'wide_deep',
    wideLayout: wide,
    deepLayout: deep,
    hiddenUnits: [...s.hidden],
    ftrl: { alpha: 0.05, beta: 1, l1: 0.001, l2: 0.001 },
    adagrad: { learningRate: 0.05, initialAccumulator: 0.1, epsilon: 1e-7 },
    seed: 0,
  };
  const model = await WideDeepModel.create(spec, { backend: options.backend ?? 'auto', ...(options.log ? { log: options.log } : {}) });
  try {
    const rng = new Rng(0);
    const batches = Array.from({ length: 8 }, () => randomBatch(rng, s, s.batch));
    const nb = options.batches ?? 30;
    const repeats = options.repeats ?? 5;
    for (let i = 0; i < 3; i++) await model.trainBatch(batches[i % batches.length]!);
    const runs: number[] = [];
    const perBatchMs: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      for (let i = 0; i < nb; i++) await model.trainBatch(batches[i % batches.length]!);
      const ms = performance.now() - t;
      runs.push((nb * s.batch) / (ms / 1000));
      perBatchMs.push(ms / nb);
    }
    // The tower step alone, on the same input width, to show where the time goes.
    const tower = model.tower!;
    const x = new Float32Array(s.batch * deep.inputDim).map(() => rng.next() - 0.5);
    const offset = new Float32Array(s.batch);
    const towerMs: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      for (let i = 0; i < nb; i++) await tower.trainStep({ x, offset, labels: batches[0]!.labels!, batchSize: s.batch });
      towerMs.push((performance.now() - t) / nb);
    }
    const peer = options.peer === false ? undefined : await runPeer(options.shape, options.log);
    const ours = median(runs);
    return {
      shape: options.shape,
      engine: `wdp (${tower.name})`,
      train_examples_per_s: Math.round(ours),
      runs_examples_per_s: runs.map(Math.round),
      time_split_ms: {
        tower_step: +median(towerMs).toFixed(3),
        wide_embeddings_and_glue: +(median(perBatchMs) - median(towerMs)).toFixed(3),
      },
      ...(peer
        ? {
            peer,
            ratio_to_peer: +(ours / peer.train_examples_per_s).toFixed(3),
            ...(peer.as_shipped ? { ratio_to_peer_as_shipped: +(ours / peer.as_shipped.train_examples_per_s).toFixed(3) } : {}),
          }
        : {}),
      machine: machineInfo(),
    };
  } finally {
    model.dispose();
  }
}
