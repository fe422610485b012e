/** Picks the split tower implementation for a scoring model. */
import { dequantizeTower } from '../model/tower/int8.ts';
import type { TowerWeights } from '../model/tower/weights.ts';
import { JsSplitTower } from './js-split-tower.ts';
import type { SplitTower, SplitTowerKind, SplitTowerOptions } from './split-tower.ts';

let preloaded = false;

/**
 * Starts loading ONNX Runtime (the tower module and its native library) and opens one tiny
 * session of the same operators, without waiting, so that a tower created later finds ONNX
 * Runtime loaded and its environment and kernels set up: a cold start calls this while its
 * weights are still being read. Measured on the paper-shape tower, a process's first session
 * costs ~100 ms more than a later one (under load on the project's 2-core VM: 248–311 ms cold
 * vs 140–222 ms after the tiny one). A failure is not reported here; createSplitTower meets it
 * and falls back as always.
 */
export function preloadOnnxRuntime(options: Pick<SplitTowerOptions, 'intraOpNumThreads' | 'allowSpinning'> = {}): void {
  // Once per process: later model loads find ONNX Runtime warm already.
  if (preloaded) return;
  preloaded = true;
  import('./onnx-split-tower.ts').then((m) => m.warmUpOnnxRuntime(options)).catch(() => undefined);
}

/**
 * A split tower of `kind`; 'auto' is ONNX Runtime when onnxruntime-node loads, else plain JS.
 * onnxruntime-node is imported lazily, so a missing or broken native binary costs nothing but
 * the fallback.
 */
export async function createSplitTower(
  kind: SplitTowerKind,
  weights: TowerWeights,
  options: SplitTowerOptions,
  log?: (message: string) => void,
): Promise<SplitTower> {
  const js = () => new JsSplitTower(options.int8 ? dequantizeTower(options.int8) : weights, options);
  if (kind === 'js') return js();
  try {
    const { OnnxSplitTower } = await import('./onnx-split-tower.ts');
    return await OnnxSplitTower.create(weights, options);
  } catch (e) {
    if (kind === 'onnx') throw e;
    log?.(`scoring tower: onnxruntime-node did not load (${(e as Error).message}); using plain JS`);
    return js();
  }
}
