/**
 * Tower-only micro-benchmark: training-step throughput and scoring latency per backend and
 * shape. `wdp bench` calls `benchTower` and prints its JSON; nothing here runs in tests.
 *
 * Timing is wall-clock over several windows; both the median and the best window are reported,
 * because on a shared 2-core machine other processes inflate single measurements (the best
 * window approximates the uncontended speed, the median what a run actually saw).
 */
import { availableParallelism, cpus } from 'node:os';
import { Rng } from '../../util/random.ts';
import { OnnxTower } from './onnx-tower.ts';
import { parameterCount } from './state.ts';
import { TfjsTower } from './tfjs-tower.ts';
import type { TfjsBackendKind } from './tfjs-backend.ts';
import type { TowerBackend, TowerOptions, TowerShape } from './tower.ts';

/** The benchmark shapes, as in the project's Wide & Deep benchmark. */
export const TOWER_BENCH_SHAPES = {
  /** 36 categorical × 32-dim embeddings + 48 numeric; the paper's [1024, 512, 256]. */
  paper: { inputDim: 36 * 32 + 48, hiddenUnits: [1024, 512, 256] },
  /** 8 × 16-dim embeddings + 8 numeric. */
  small: { inputDim: 8 * 16 + 8, hiddenUnits: [256, 128, 64] },
} as const satisfies Record<string, TowerShape>;
export type TowerBenchShape = keyof typeof TOWER_BENCH_SHAPES;

export const TOWER_BENCH_BACKENDS = ['onnx', 'tfjs-wasm', 'tfjs-cpu', 'tfjs-best'] as const;
export type TowerBenchBackend = (typeof TOWER_BENCH_BACKENDS)[number];

export interface TowerBenchOptions {
  /** @default ['paper', 'small'] */
  readonly shapes?: readonly TowerBenchShape[];
  /** @default ['onnx', 'tfjs-wasm'] */
  readonly backends?: readonly TowerBenchBackend[];
  /** Training batch size. @default 512 */
  readonly batchSize?: number;
  /** Rows scored per forward call (one scoring request's candidates). @default 1000 */
  readonly forwardRows?: number;
  /** Wall-clock budget per (backend, shape) for the training measurement. @default 3 */
  readonly trainSeconds?: number;
  /** ONNX Runtime intra-op threads. @default os.availableParallelism() */
  readonly onnxThreads?: number;
  /** ONNX Runtime spin-waiting (see OnnxTowerOptions.allowSpinning). @default true */
  readonly onnxAllowSpinning?: boolean;
  /** @default 1 */
  readonly seed?: number;
}

export interface TowerBenchResult {
  readonly backend: string;
  readonly shape: TowerBenchShape;
  readonly inputDim: number;
  readonly hiddenUnits: readonly number[];
  readonly parameters: number;
  readonly batchSize: number;
  /** Training examples per second: median window and best window. */
  readonly trainExamplesPerSecond: number;
  readonly trainExamplesPerSecondBest: number;
  readonly trainStepMsMedian: number;
  readonly forwardRows: number;
  readonly forwardMsP50: number;
  readonly forwardMsMin: number;
}

export interface TowerBenchReport {
  readonly machine: { readonly cpu: string; readonly threads: number; readonly node: string };
  readonly results: readonly TowerBenchResult[];
}

/**
 * Measures each backend × shape and returns the numbers as plain JSON-able data.
 * @example
 *   const report = await benchTower({ shapes: ['small'], backends: ['onnx'] });
 *   console.log(JSON.stringify(report, null, 2));
 */
export async function benchTower(options: TowerBenchOptions = {}): Promise<TowerBenchReport> {
  const shapes = options.shapes ?? ['paper', 'small'];
  const backends = options.backends ?? ['onnx', 'tfjs-wasm'];
  const batchSize = options.batchSize ?? 512;
  const forwardRows = options.forwardRows ?? 1000;
  const trainSeconds = options.trainSeconds ?? 3;
  const results: TowerBenchResult[] = [];
  for (const shapeName of shapes) {
    const shape = TOWER_BENCH_SHAPES[shapeName];
    const towerOptions: TowerOptions = {
      shape,
      adagrad: { learningRate: 0.01, initialAccumulator: 0.1, epsilon: 1e-7 },
      seed: options.seed ?? 1,
    };
    for (const backend of backends) {
      const tower = await open(backend, towerOptions, options);
      try {
        results.push(await measure(tower, shapeName, shape, batchSize, forwardRows, trainSeconds, options.seed ?? 1));
      } finally {
        tower.dispose();
      }
    }
  }
  return {
    machine: { cpu: cpus()[0]?.model ?? 'unknown', threads: availableParallelism(), node: process.version },
    results,
  };
}

async function open(backend: TowerBenchBackend, options: TowerOptions, bench: TowerBenchOptions): Promise<TowerBackend> {
  if (backend === 'onnx') {
    return OnnxTower.create({
      ...options,
      ...(bench.onnxThreads === undefined ? {} : { intraOpNumThreads: bench.onnxThreads }),
      ...(bench.onnxAllowSpinning === undefined ? {} : { allowSpinning: bench.onnxAllowSpinning }),
    });
  }
  const kinds: Record<Exclude<TowerBenchBackend, 'onnx'>, readonly TfjsBackendKind[] | undefined> = {
    'tfjs-wasm': ['wasm'],
    'tfjs-cpu': ['cpu'],
    'tfjs-best': undefined,
  };
  const order = kinds[backend];
  return TfjsTower.create(order ? { ...options, backends: order } : options);
}

async function measure(
  tower: TowerBackend,
  shapeName: TowerBenchShape,
  shape: TowerShape,
  B: number,
  forwardRows: number,
  trainSeconds: number,
  seed: number,
): Promise<TowerBenchResult> {
  const rng = new Rng(seed);
  // A few distinct batches, generated up front so only the tower's work is timed.
  const batches = Array.from({ length: 4 }, () => ({
    x: Float32Array.from({ length: B * shape.inputDim }, () => rng.normal()),
    offset: Float32Array.from({ length: B }, () => 0.5 * rng.normal()),
    labels: Float32Array.from({ length: B }, () => (rng.next() < 0.25 ? 1 : 0)),
    batchSize: B,
  }));

  // Warm-up: first runs allocate ORT's arenas / tfjs kernels and JIT the JS.
  let step = 0;
  const warmEnd = performance.now() + Math.min(1000, trainSeconds * 200);
  do await tower.trainStep(batches[step++ % batches.length]!);
  while (performance.now() < warmEnd || step < 3);

  // Windows of ≥ ~150 ms each, until the budget is spent (at least 3 windows).
  const perWindow: number[] = [];
  const end = performance.now() + trainSeconds * 1000;
  while (perWindow.length < 3 || performance.now() < end) {
    const t0 = performance.now();
    let n = 0;
    do {
      await tower.trainStep(batches[step++ % batches.length]!);
      n++;
    } while (performance.now() - t0 < 150);
    perWindow.push((performance.now() - t0) / n);
  }
  const stepMsMedian = median(perWindow);
  const stepMsBest = Math.min(...perWindow);

  const x = Float32Array.from({ length: forwardRows * shape.inputDim }, () => rng.normal());
  for (let i = 0; i < 3; i++) await tower.forward(x, forwardRows);
  const lat: number[] = [];
  const fEnd = performance.now() + Math.max(500, trainSeconds * 300);
  while (lat.length < 5 || (performance.now() < fEnd && lat.length < 200)) {
    const t0 = performance.now();
    await tower.forward(x, forwardRows);
    lat.push(performance.now() - t0);
  }

  return {
    backend: tower.name,
    shape: shapeName,
    inputDim: shape.inputDim,
    hiddenUnits: [...shape.hiddenUnits],
    parameters: parameterCount(shape),
    batchSize: B,
    trainExamplesPerSecond: Math.round((B / stepMsMedian) * 1000),
    trainExamplesPerSecondBest: Math.round((B / stepMsBest) * 1000),
    trainStepMsMedian: round3(stepMsMedian),
    forwardRows,
    forwardMsP50: round3(median(lat)),
    forwardMsMin: round3(Math.min(...lat)),
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
