/** Picks the split tower implementation for a scoring model. */
import { dequantizeTower } from '../model/tower/int8.ts';
import type { TowerWeights } from '../model/tower/weights.ts';
import { JsSplitTower } from './js-split-tower.ts';
import type { SplitTower, SplitTowerKind, SplitTowerOptions } from './split-tower.ts';

/**
 * Starts loading ONNX Runtime (the tower module and its native library) without waiting, so a
 * tower created later finds it loaded: a cold start calls this while its weights are still being
 * read. A failure is not reported here; createSplitTower meets it and falls back as always.
 */
export function preloadOnnxRuntime(): void {
  import('./onnx-split-tower.ts').then((m) => m.loadOnnxRuntime()).catch(() => undefined);
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
