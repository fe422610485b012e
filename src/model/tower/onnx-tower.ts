/**
 * The tower on ONNX Runtime (onnxruntime-node, CPU). Each training step is ONE session.run of
 * the whole-step model from onnx-graph.ts.
 *
 * Copies per step, measured to matter at the 'small' shape where a step is ~1 ms:
 * - inputs: onnxruntime-node wraps a Float32Array's memory as an OrtValue without copying,
 *   so X/offset/labels and all weights go in zero-copy;
 * - outputs: every output is pre-allocated and passed as a fetch, so ORT writes straight into
 *   our buffers instead of allocating and then copying into a new JS ArrayBuffer. The weights
 *   and accumulators ping-pong between two buffer sets: step t reads set A and writes set B,
 *   step t+1 reads B and writes A. Inputs and outputs never alias, so ORT's node order cannot
 *   overwrite a weight a later node still reads. The ort.Tensor wrappers of both sets are built
 *   once and reused.
 */
import * as ort from 'onnxruntime-node';
import { onnxSessionOptions } from './onnx-runtime.ts';
import { TowerBackendUnavailableError } from './errors.ts';
import { buildTowerForwardModel, buildTowerTrainModel, maskName, nextName } from './onnx-graph.ts';
import { checkForwardInput, checkStepInput, checkTowerState, copyTowerState, initialTowerState, tensorSizes } from './state.ts';
import type { TowerBackend, TowerOptions, TowerShape, TowerState, TowerStepInput, TowerStepResult } from './tower.ts';

export interface OnnxTowerOptions extends TowerOptions {
  /** ORT intra-op threads. @default os.availableParallelism() */
  readonly intraOpNumThreads?: number;
  /**
   * Rows per session.run in `forward`; larger inputs are scored in chunks to bound ORT's
   * activation memory. @default 16384
   */
  readonly forwardChunkRows?: number;
  /**
   * Let ORT's idle intra-op threads spin-wait for work. Spinning saves the wake-up latency
   * between the ~50 small kernels of a step on an otherwise idle machine, but burns the core
   * a busy machine's other processes need. @default the host's setting (configureOnnxRuntime), true if unset
   */
  readonly allowSpinning?: boolean;
}

interface BufferSet {
  readonly arrays: Record<string, Float32Array>;
  /** Tensor wrappers around `arrays` (as inputs, keyed by state name). */
  readonly asInputs: Record<string, ort.Tensor>;
  /** The same wrappers keyed by output name (next_W0, …), for use as pre-allocated fetches. */
  readonly asOutputs: Record<string, ort.Tensor>;
}

/** TowerBackend on onnxruntime-node. Create with `OnnxTower.create`. */
export class OnnxTower implements TowerBackend {
  readonly name: string;
  readonly shape: TowerShape;
  readonly #train: ort.InferenceSession;
  readonly #forward: ort.InferenceSession;
  readonly #forwardChunkRows: number;
  readonly #dims: Map<string, readonly number[]>;
  readonly #dropout: number;
  #cur: BufferSet;
  #spare: BufferSet;
  #dx = new Float32Array(0);

  private constructor(options: OnnxTowerOptions, train: ort.InferenceSession, forward: ort.InferenceSession, threads: number) {
    this.shape = options.shape;
    this.name = `onnxruntime-node ${ort.env.versions.common} (cpu, ${threads} threads)`;
    this.#train = train;
    this.#forward = forward;
    this.#forwardChunkRows = options.forwardChunkRows ?? 16384;
    this.#dims = stateDims(options.shape);
    this.#dropout = options.dropout ?? 0;
    const state = initialTowerState(options);
    this.#cur = this.#wrap(state.tensors);
    this.#spare = this.#wrap(copyTowerState(state).tensors);
  }

  /**
   * Builds the two models and opens their sessions.
   * @example
   *   const tower = await OnnxTower.create({ shape: { inputDim: 136, hiddenUnits: [256, 128, 64] },
   *     adagrad: { learningRate: 0.05, initialAccumulator: 0.1, epsilon: 1e-7 }, seed: 1 });
   */
  static async create(options: OnnxTowerOptions): Promise<OnnxTower> {
    const { options: sessionOptions, threads } = onnxSessionOptions(options);
    try {
      const train = await ort.InferenceSession.create(
        buildTowerTrainModel(options.shape, options.adagrad, {
          ...(options.dropout ? { dropout: options.dropout } : {}),
          ...(options.l2 ? { l2: options.l2 } : {}),
        }).bytes,
        sessionOptions,
      );
      const forward = await ort.InferenceSession.create(buildTowerForwardModel(options.shape).bytes, sessionOptions);
      return new OnnxTower(options, train, forward, threads);
    } catch (cause) {
      throw new TowerBackendUnavailableError('onnxruntime-node could not open the tower models', { cause });
    }
  }

  async forward(x: Float32Array, batchSize: number): Promise<Float32Array> {
    checkForwardInput(this.shape, x, batchSize);
    const D = this.shape.inputDim;
    const out = new Float32Array(batchSize);
    const feeds: Record<string, ort.Tensor> = { ...this.#paramFeeds() };
    for (let start = 0; start < batchSize; start += this.#forwardChunkRows) {
      const rows = Math.min(this.#forwardChunkRows, batchSize - start);
      feeds['X'] = new ort.Tensor('float32', x.subarray(start * D, (start + rows) * D), [rows, D]);
      const logits = new ort.Tensor('float32', out.subarray(start, start + rows), [rows]);
      await this.#forward.run(feeds, { logits });
    }
    return out;
  }

  async trainStep(input: TowerStepInput): Promise<TowerStepResult> {
    checkStepInput(this.shape, input, this.#dropout);
    const B = input.batchSize;
    const D = this.shape.inputDim;
    const logits = new Float32Array(B);
    // dx is as large as X (2.4 MB a step at the paper shape): one buffer, reused while the batch
    // size holds, instead of a fresh allocation (and its GC) every step.
    if (this.#dx.length !== B * D) this.#dx = new Float32Array(B * D);
    const dx = this.#dx;
    const feeds: Record<string, ort.Tensor> = {
      ...this.#cur.asInputs,
      X: new ort.Tensor('float32', input.x, [B, D]),
      offset: new ort.Tensor('float32', input.offset, [B]),
      labels: new ort.Tensor('float32', input.labels, [B]),
    };
    input.dropoutMasks?.forEach((m, k) => {
      feeds[maskName(k)] = new ort.Tensor('float32', m, [B, this.shape.hiddenUnits[k]!]);
    });
    const fetches: Record<string, ort.Tensor> = {
      ...this.#spare.asOutputs,
      logits: new ort.Tensor('float32', logits, [B]),
      dx: new ort.Tensor('float32', dx, [B, D]),
    };
    await this.#train.run(feeds, fetches);
    const done = this.#spare;
    this.#spare = this.#cur;
    this.#cur = done;
    return { logits, dx };
  }

  getState(): TowerState {
    // A copy: the live buffers are overwritten by the next-but-one step.
    return copyTowerState({ shape: this.shape, tensors: this.#cur.arrays });
  }

  setState(state: TowerState): void {
    checkTowerState(this.shape, state);
    for (const [name, t] of Object.entries(this.#cur.arrays)) t.set(state.tensors[name]!);
  }

  dispose(): void {
    void this.#train.release();
    void this.#forward.release();
  }

  #paramFeeds(): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(this.#cur.asInputs)) if (!name.startsWith('acc_')) feeds[name] = t;
    return feeds;
  }

  #wrap(arrays: Readonly<Record<string, Float32Array>>): BufferSet {
    const owned: Record<string, Float32Array> = {};
    const asInputs: Record<string, ort.Tensor> = {};
    const asOutputs: Record<string, ort.Tensor> = {};
    for (const [name, dims] of this.#dims) {
      const a = arrays[name]!;
      owned[name] = a;
      const t = new ort.Tensor('float32', a, dims);
      asInputs[name] = t;
      asOutputs[nextName(name)] = t;
    }
    return { arrays: owned, asInputs, asOutputs };
  }
}

function stateDims(shape: TowerShape): Map<string, readonly number[]> {
  const dims = new Map<string, readonly number[]>();
  const sizes = tensorSizes(shape);
  const layers = [shape.inputDim, ...shape.hiddenUnits, 1];
  for (const name of sizes.keys()) {
    const m = /^(?:acc_)?([Wb])(\d+)$/.exec(name)!;
    const k = Number(m[2]);
    dims.set(name, m[1] === 'W' ? [layers[k]!, layers[k + 1]!] : [layers[k + 1]!]);
  }
  return dims;
}
