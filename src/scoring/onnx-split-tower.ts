/**
 * The split tower on ONNX Runtime: one session per (model, user/item split), whose graph has the
 * tower weights baked in as initializers so ORT can pre-pack them for its GEMM kernels. The
 * embedding tables of gathered features are fed as inputs on every run: ORT wraps a JS buffer in
 * place, so that costs no copy. Output buffers are passed as pre-allocated fetches so ORT writes
 * straight into them.
 */
import type * as Ort from 'onnxruntime-node';
import { onnxSessionOptions } from '../model/tower/onnx-runtime.ts';
import { buildTowerForwardOnnx } from '../model/tower/onnx-export.ts';
import type { GatheredFeature, TowerWeights } from '../model/tower/weights.ts';
import { TowerRefusedError } from './errors.ts';
import type { ItemColumns, SplitTower, SplitTowerOptions } from './split-tower.ts';

/**
 * ONNX Runtime, imported on first use rather than with this module: a static import would make
 * esbuild hoist it to the top of the scoring bundle, so its native library (tens of ms to load)
 * would load before any of the bundle runs, ahead of the model prefetch (model/prefetch.ts).
 * Scorer starts this import while the weights are read (preloadOnnxRuntime).
 */
let ortImport: Promise<typeof Ort> | undefined;
/** performance mark, once per process: ONNX Runtime's module and native library are loaded. */
export const ONNX_RUNTIME_LOADED_MARK = 'wdp:onnxruntime-loaded';
/** Set once ortImport resolves; every OnnxSplitTower is made after that (create awaits it). */
let ort: typeof Ort;

export function loadOnnxRuntime(): Promise<typeof Ort> {
  ortImport ??= import('onnxruntime-node').then((m) => {
    performance.mark(ONNX_RUNTIME_LOADED_MARK);
    ort = m;
    return m;
  });
  return ortImport;
}

/**
 * Loads ONNX Runtime and opens (then releases) one tiny session with the split tower's operators,
 * so the process's one-time setup (ORT's environment, kernel registries) is done before the real
 * tower's session is built (see preloadOnnxRuntime).
 */
export async function warmUpOnnxRuntime(options: Pick<SplitTowerOptions, 'intraOpNumThreads' | 'allowSpinning'> = {}): Promise<void> {
  await loadOnnxRuntime();
  const dims = [4, 2, 1];
  const tensors: Record<string, Float32Array> = {};
  for (let k = 0; k + 1 < dims.length; k++) {
    tensors[`W${k}`] = new Float32Array(dims[k]! * dims[k + 1]!);
    tensors[`b${k}`] = new Float32Array(dims[k + 1]!);
  }
  const model = buildTowerForwardOnnx(
    { shape: { inputDim: 4, hiddenUnits: [2] }, tensors },
    { itemRows: Int32Array.of(0, 1), userRows: Int32Array.of(2, 3), gathered: [{ vocab: 1, dim: 1 }] },
  );
  const session = await ort.InferenceSession.create(model.bytes, onnxSessionOptions(options).options);
  await session.release();
}

export class OnnxSplitTower implements SplitTower {
  readonly name: string;
  readonly itemDim: number;
  readonly restDim: number;
  readonly userDim: number;
  readonly mapsTables: boolean;
  readonly #session: Ort.InferenceSession;
  readonly #dims: number[];
  /** Per gathered feature: whether its table is an external initializer (not fed). */
  readonly #external: boolean[];

  private constructor(
    session: Ort.InferenceSession,
    model: { xDim: number; restDim: number; userDim: number },
    gathered: readonly GatheredFeature[],
    threads: number,
    precision: string,
  ) {
    this.#session = session;
    this.#dims = gathered.map((g) => g.dim);
    this.#external = gathered.map((g) => g.external !== undefined);
    this.mapsTables = this.#external.some(Boolean);
    this.itemDim = model.xDim;
    this.restDim = model.restDim;
    this.userDim = model.userDim;
    this.name = `onnxruntime-node ${ort.env.versions.common} (cpu, ${threads} threads${precision})`;
  }

  /**
   * @example
   *   const tower = await OnnxSplitTower.create(state.tower, { itemRows: Int32Array.of(3, 4, 5), userRows: Int32Array.of(0, 1, 2) });
   *   const logits = await tower.forward(xUser, { gathered: [], rest: xItem }, 1000);
   */
  static async create(weights: TowerWeights, options: SplitTowerOptions): Promise<OnnxSplitTower> {
    await loadOnnxRuntime();
    const { options: sessionOptions, threads } = onnxSessionOptions(options);
    // No memory pattern for scoring: with it, ORT traces the first run's allocations and, on the
    // second run of a shape, allocates one new block for the whole pattern, so the second request
    // after a cold start pays for fresh pages again (paper shape, 5 cold processes each: its model
    // run took 37–50 ms with the pattern, 17–28 ms without). Warm runs are the same either way
    // (10.75 vs 10.66 ms at 1000 candidates, 1.71 vs 1.71 at 100, alternating in one process), and
    // each new candidate count no longer keeps a block of its own. Training keeps it: one shape.
    sessionOptions.enableMemPattern = false;
    const gathered = options.gathered ?? [];
    if (gathered.some((g) => g.external)) {
      if (!options.externalDataFolder) throw new RangeError('mapped tables need externalDataFolder');
      // The session is built from bytes, so ONNX Runtime needs the folder to resolve the file by name (and keeps it within that folder).
      const extra = (sessionOptions.extra ?? {}) as { session?: Record<string, unknown> };
      sessionOptions.extra = {
        ...extra,
        session: { ...extra.session, model_external_initializers_file_folder_path: options.externalDataFolder },
      };
    }
    try {
      const model = buildTowerForwardOnnx(weights, {
        itemRows: options.itemRows,
        userRows: options.userRows,
        gathered,
        ...(options.int8 ? { int8: options.int8, int8Ops: options.int8Ops ?? 'fused' } : {}),
      });
      const session = await ort.InferenceSession.create(model.bytes, sessionOptions);
      return new OnnxSplitTower(session, model, gathered, threads, options.int8 ? `, int8 ${options.int8Ops ?? 'fused'}` : '');
    } catch (cause) {
      throw new TowerRefusedError(`ONNX Runtime refused the scoring tower: ${(cause as Error).message}`, { cause });
    }
  }

  async forward(xUser: Float32Array, items: ItemColumns, batchSize: number): Promise<Float32Array> {
    const out = new Float32Array(batchSize);
    const feeds: Record<string, Ort.Tensor> = {};
    items.gathered.forEach(({ table, ids }, g) => {
      const dim = this.#dims[g]!;
      feeds[`I${g}`] = new ort.Tensor('int32', ids.length === batchSize ? ids : ids.subarray(0, batchSize), [batchSize]);
      if (!this.#external[g]) feeds[`E${g}`] = new ort.Tensor('float32', table, [table.length / dim, dim]);
    });
    if (this.restDim > 0) feeds['Xr'] = new ort.Tensor('float32', items.rest, [batchSize, this.restDim]);
    if (this.userDim > 0) feeds['Xu'] = new ort.Tensor('float32', xUser, [1, this.userDim]);
    await this.#session.run(feeds, { logits: new ort.Tensor('float32', out, [batchSize]) });
    return out;
  }

  dispose(): void {
    void this.#session.release();
  }
}
