/**
 * Chooses the tower backend. `auto` follows what is fastest where it runs:
 * - tfjs on tfjs-node-gpu when that package is installed (a GPU box: CUDA beats any CPU path);
 * - else ONNX Runtime (one native session.run per step, MLAS kernels, all cores);
 * - else tfjs on whatever it has (tfjs-node, WASM, plain JS CPU).
 */
import { TowerBackendUnavailableError } from './errors.ts';
import type { TowerKind } from './kinds.ts';
import { initialTowerState } from './state.ts';
import { isTfjsBackendInstalled } from './tfjs-backend.ts';
import type { TowerBackend, TowerOptions, TowerState } from './tower.ts';

export { initialTowerState };

/**
 * Builds a tower of the requested kind; `auto` logs what it picked and why.
 * Implementations are imported lazily, so scoring code that runs on ONNX never loads tfjs.
 * @example
 *   const tower = await createTower('auto', { shape, adagrad, seed: 1 }, console.log);
 *   // 'tower: onnxruntime-node 1.30.0 (cpu, 2 threads) — auto: no tfjs-node-gpu'
 */
export async function createTower(kind: TowerKind, options: TowerOptions, log?: (msg: string) => void): Promise<TowerBackend> {
  if (kind === 'onnx') return openOnnx(options);
  if (kind === 'tfjs') return openTfjs(options);

  if (isTfjsBackendInstalled('node-gpu')) {
    try {
      const tower = await openTfjs(options, ['node-gpu']);
      log?.(`tower: ${tower.name} — auto: tfjs-node-gpu is installed`);
      return tower;
    } catch (e) {
      log?.(`tower: tfjs-node-gpu is installed but did not load (${message(e)}); trying onnxruntime`);
    }
  }
  try {
    const tower = await openOnnx(options);
    log?.(`tower: ${tower.name} — auto: no GPU tfjs, ONNX Runtime is the fastest CPU path`);
    return tower;
  } catch (e) {
    log?.(`tower: onnxruntime-node did not load (${message(e)}); falling back to tfjs`);
  }
  const tower = await openTfjs(options, ['node', 'wasm', 'cpu']);
  log?.(`tower: ${tower.name} — auto: fallback`);
  return tower;
}

/** A tower of `kind` that continues from `state` (e.g. a loaded model); adagrad comes with it. */
export async function towerFromState(
  kind: TowerKind,
  state: TowerState,
  adagrad: TowerOptions['adagrad'],
  log?: (msg: string) => void,
): Promise<TowerBackend> {
  return createTower(kind, { shape: state.shape, adagrad, seed: 0, state }, log);
}

async function openOnnx(options: TowerOptions): Promise<TowerBackend> {
  try {
    const { OnnxTower } = await import('./onnx-tower.ts');
    return await OnnxTower.create(options);
  } catch (cause) {
    if (cause instanceof TowerBackendUnavailableError) throw cause;
    throw new TowerBackendUnavailableError('onnxruntime-node is not available', { cause });
  }
}

async function openTfjs(
  options: TowerOptions,
  backends?: Parameters<typeof import('./tfjs-backend.ts').loadTfjsBackend>[0],
): Promise<TowerBackend> {
  const { TfjsTower } = await import('./tfjs-tower.ts');
  return TfjsTower.create(backends ? { ...options, backends } : options);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
