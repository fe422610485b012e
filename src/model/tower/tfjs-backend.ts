/**
 * Picks the fastest TensorFlow.js backend present, in the order
 *   tfjs-node-gpu ('tensorflow', CUDA) → tfjs-node ('tensorflow', CPU) → WASM → CPU (plain JS).
 * tfjs-node and tfjs-node-gpu are optionalDependencies: they need a libtensorflow download at
 * install time, so on many machines (this one included) they are simply absent. They are
 * loaded with a dynamic import of a non-literal specifier, so neither the type checker nor a
 * bundler insists on them.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { TowerBackendUnavailableError } from './errors.ts';

/** The tfjs flavours, fastest first. */
export const TFJS_BACKEND_KINDS = ['node-gpu', 'node', 'wasm', 'cpu'] as const;
export type TfjsBackendKind = (typeof TFJS_BACKEND_KINDS)[number];

export interface TfjsBackendInfo {
  readonly kind: TfjsBackendKind;
  /** The tfjs backend name now active: 'tensorflow', 'wasm' or 'cpu'. */
  readonly backendName: string;
  /** True only for tfjs-node-gpu. */
  readonly gpu: boolean;
  /** e.g. 'tfjs 4.22.0 (wasm, simd)'. */
  readonly description: string;
}

const require = createRequire(import.meta.url);

const PACKAGES: Record<'node-gpu' | 'node', string> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
};

/**
 * Whether a tfjs flavour's package can be resolved here, without loading it (loading
 * tfjs-node-gpu initialises CUDA, which takes seconds).
 */
export function isTfjsBackendInstalled(kind: TfjsBackendKind): boolean {
  const pkg = kind === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : kind === 'cpu' ? '@tensorflow/tfjs-backend-cpu' : PACKAGES[kind];
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/**
 * Activates the first backend of `order` that loads, and reports which it got.
 * @param order candidates, fastest first. @default TFJS_BACKEND_KINDS
 * @example
 *   const info = await loadTfjsBackend();            // best available
 *   const cpu = await loadTfjsBackend(['cpu']);      // force plain JS
 */
export async function loadTfjsBackend(order: readonly TfjsBackendKind[] = TFJS_BACKEND_KINDS): Promise<TfjsBackendInfo> {
  const failures: string[] = [];
  for (const kind of order) {
    try {
      const info = await activate(kind);
      if (info) return info;
      failures.push(`${kind}: not installed`);
    } catch (e) {
      failures.push(`${kind}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new TowerBackendUnavailableError(`no tfjs backend could be loaded (${failures.join('; ')})`);
}

async function activate(kind: TfjsBackendKind): Promise<TfjsBackendInfo | undefined> {
  if (kind === 'node-gpu' || kind === 'node') {
    if (!isTfjsBackendInstalled(kind)) return undefined;
    // Both register the 'tensorflow' backend into the shared tfjs-core on import.
    const specifier: string = PACKAGES[kind];
    await import(specifier);
    if (!(await tf.setBackend('tensorflow'))) return undefined;
    await tf.ready();
    return info(kind, 'tensorflow', kind === 'node-gpu' ? 'tensorflow, cuda' : 'tensorflow, cpu');
  }
  if (kind === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the .wasm files are read from disk: point at the package's own dist folder.
    // setWasmPaths may only be called before the backend is first initialised.
    if (tf.findBackend('wasm') === null && tf.getBackend() !== 'wasm') {
      const dist = `${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`;
      wasm.setWasmPaths(dist);
    }
    if (!(await tf.setBackend('wasm'))) return undefined;
    await tf.ready();
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    return info(kind, 'wasm', simd ? 'wasm, simd' : 'wasm');
  }
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) return undefined;
  await tf.ready();
  return info(kind, 'cpu', 'cpu');
}

function info(kind: TfjsBackendKind, backendName: string, detail: string): TfjsBackendInfo {
  return { kind, backendName, gpu: kind === 'node-gpu', description: `tfjs ${tf.version_core} (${detail})` };
}
