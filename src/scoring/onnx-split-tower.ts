/**
 * The split tower on ONNX Runtime: one session per (model, user/item split), whose graph has the
 * weights baked in as initializers so ORT can pre-pack them for its GEMM kernels. Output buffers
 * are passed as pre-allocated fetches so ORT writes straight into them.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { buildTowerForwardOnnx, type TowerWeights } from '../model/tower/onnx-export.ts';
import { TowerBackendUnavailableError } from '../model/tower/errors.ts';
import type { SplitTower, SplitTowerOptions } from './split-tower.ts';

export class OnnxSplitTower implements SplitTower {
  readonly name: string;
  readonly itemDim: number;
  readonly userDim: number;
  readonly #session: ort.InferenceSession;

  private constructor(session: ort.InferenceSession, itemDim: number, userDim: number, threads: number) {
    this.#session = session;
    this.itemDim = itemDim;
    this.userDim = userDim;
    this.name = `onnxruntime-node ${ort.env.versions.common} (cpu, ${threads} threads)`;
  }

  /**
   * @example
   *   const tower = await OnnxSplitTower.create(state.tower, { itemRows: Int32Array.of(3, 4, 5), userRows: Int32Array.of(0, 1, 2) });
   *   const logits = await tower.forward(xUser, xItem, 1000);
   */
  static async create(weights: TowerWeights, options: SplitTowerOptions): Promise<OnnxSplitTower> {
    const threads = options.intraOpNumThreads ?? availableParallelism();
    const model = buildTowerForwardOnnx(weights, { itemRows: options.itemRows, userRows: options.userRows });
    try {
      const session = await ort.InferenceSession.create(model.bytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        extra: { session: { intra_op: { allow_spinning: options.allowSpinning === false ? '0' : '1' } } },
      });
      return new OnnxSplitTower(session, model.xDim, model.userDim, threads);
    } catch (cause) {
      throw new TowerBackendUnavailableError('onnxruntime-node could not open the scoring tower', { cause });
    }
  }

  async forward(xUser: Float32Array, xItem: Float32Array, batchSize: number): Promise<Float32Array> {
    const out = new Float32Array(batchSize);
    const feeds: Record<string, ort.Tensor> = { X: new ort.Tensor('float32', xItem, [batchSize, this.itemDim]) };
    if (this.userDim > 0) feeds['Xu'] = new ort.Tensor('float32', xUser, [1, this.userDim]);
    await this.#session.run(feeds, { logits: new ort.Tensor('float32', out, [batchSize]) });
    return out;
  }

  dispose(): void {
    void this.#session.release();
  }
}
