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
  readonly #session: ort.InferenceSession;
  readonly #h0: number;

  private constructor(session: ort.InferenceSession, itemDim: number, h0: number, threads: number) {
    this.#session = session;
    this.itemDim = itemDim;
    this.#h0 = h0;
    this.name = `onnxruntime-node ${ort.env.versions.common} (cpu, ${threads} threads)`;
  }

  /**
   * @example
   *   const tower = await OnnxSplitTower.create(state.tower, { itemRows: Int32Array.from([3, 4, 5]) });
   *   const logits = await tower.forward(u, xItem, 1000);
   */
  static async create(weights: TowerWeights, options: SplitTowerOptions): Promise<OnnxSplitTower> {
    const threads = options.intraOpNumThreads ?? availableParallelism();
    const model = buildTowerForwardOnnx(weights, { itemRows: options.itemRows });
    try {
      const session = await ort.InferenceSession.create(model.bytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        extra: { session: { intra_op: { allow_spinning: options.allowSpinning === false ? '0' : '1' } } },
      });
      return new OnnxSplitTower(session, model.xDim, weights.shape.hiddenUnits[0] ?? 1, threads);
    } catch (cause) {
      throw new TowerBackendUnavailableError('onnxruntime-node could not open the scoring tower', { cause });
    }
  }

  async forward(u: Float32Array, xItem: Float32Array, batchSize: number): Promise<Float32Array> {
    const out = new Float32Array(batchSize);
    await this.#session.run(
      {
        X: new ort.Tensor('float32', xItem, [batchSize, this.itemDim]),
        u: new ort.Tensor('float32', u, [1, this.#h0]),
      },
      { logits: new ort.Tensor('float32', out, [batchSize]) },
    );
    return out;
  }

  dispose(): void {
    void this.#session.release();
  }
}
