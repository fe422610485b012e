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
 *
 * Only a runtime that does not load falls back. One that loads but refuses this tower's graph
 * (TowerRefusedError) is thrown, with 'auto' as with 'onnx': the weights were checked against the
 * manifest's tower shape when the model was read (artifact.ts), so a refusal means the graph or
 * the runtime's limits are wrong for this tower, not that this host lacks ONNX Runtime. The
 * plain-JS tower runs the same weights with none of ORT's checks: it would fail at every request
 * the same way (a RangeError deep in denseForward, as it did for a manifest whose hiddenUnits
 * did not fit the weights), or serve what ORT found wrong at a fraction of the speed (seconds per
 * request at the paper shape), under a log line that blamed the install. Thrown, the plan is not
 * cached, the request answers 500 with the refusal in the log, and a load that opens its batch
 * plan (`warmBatchPlan`: batch scoring, the workflow's dry run) fails.
 * @throws TowerRefusedError when ONNX Runtime loaded but refused the tower
 */
export async function createSplitTower(
  kind: SplitTowerKind,
  weights: TowerWeights,
  options: SplitTowerOptions,
  log?: (message: string) => void,
): Promise<SplitTower> {
  const js = () => new JsSplitTower(options.int8 ? dequantizeTower(options.int8) : weights, options);
  if (kind === 'js') return js();
  let onnx: typeof import('./onnx-split-tower.ts');
  try {
    onnx = await import('./onnx-split-tower.ts');
    await onnx.loadOnnxRuntime();
  } catch (e) {
    if (kind === 'onnx') throw e;
    log?.(`scoring tower: onnxruntime-node is not installed or did not load (${(e as Error).message}); using plain JS`);
    return js();
  }
  return onnx.OnnxSplitTower.create(weights, options);
}
