/**
 * Shared helpers for the tower's named state: the layer list, Glorot-uniform initialisation
 * from a seed (so every backend starts from identical weights) and shape checks at the
 * module boundary.
 */
import { Rng } from '../../util/random.ts';
import { TowerShapeError } from './errors.ts';
import type { TowerOptions, TowerShape, TowerState, TowerStepInput } from './tower.ts';

/** One dense layer: `W{index}` [inDim × outDim] row-major, `b{index}` [outDim]. */
export interface TowerLayer {
  readonly index: number;
  readonly inDim: number;
  readonly outDim: number;
  /** Whether a ReLU follows (every layer except the final 1-unit logit layer). */
  readonly relu: boolean;
}

/** The layers of a tower, input to logit. The last one has outDim = 1 and no ReLU. */
export function towerLayers(shape: TowerShape): TowerLayer[] {
  const dims = [shape.inputDim, ...shape.hiddenUnits, 1];
  const layers: TowerLayer[] = [];
  for (let k = 0; k + 1 < dims.length; k++) {
    layers.push({ index: k, inDim: dims[k]!, outDim: dims[k + 1]!, relu: k + 2 < dims.length });
  }
  return layers;
}

/** Parameter names in a fixed order: W0, b0, W1, b1, … */
export function paramNames(shape: TowerShape): string[] {
  return towerLayers(shape).flatMap((l) => [`W${l.index}`, `b${l.index}`]);
}

/** Element count of every tensor in a state (weights and `acc_` accumulators) by name. */
export function tensorSizes(shape: TowerShape): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const l of towerLayers(shape)) {
    sizes.set(`W${l.index}`, l.inDim * l.outDim);
    sizes.set(`b${l.index}`, l.outDim);
  }
  for (const [name, n] of [...sizes]) sizes.set(`acc_${name}`, n);
  return sizes;
}

/** Total trainable parameters (weights + biases). */
export function parameterCount(shape: TowerShape): number {
  return towerLayers(shape).reduce((n, l) => n + (l.inDim + 1) * l.outDim, 0);
}

/**
 * The starting state for `options`: `options.state` (checked, copied) if given, else
 * Glorot-uniform weights drawn in layer order from `Rng(seed)`, zero biases, and accumulators
 * filled with `adagrad.initialAccumulator`. Both backends start here, so the same seed gives
 * the same tower on tfjs and ONNX Runtime.
 */
export function initialTowerState(options: TowerOptions): TowerState {
  if (options.state) return copyTowerState(checkTowerState(options.shape, options.state));
  const rng = new Rng(options.seed);
  const tensors: Record<string, Float32Array> = {};
  for (const l of towerLayers(options.shape)) {
    // Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fanIn + fanOut)).
    const limit = Math.sqrt(6 / (l.inDim + l.outDim));
    const w = new Float32Array(l.inDim * l.outDim);
    for (let i = 0; i < w.length; i++) w[i] = (2 * rng.next() - 1) * limit;
    tensors[`W${l.index}`] = w;
    tensors[`b${l.index}`] = new Float32Array(l.outDim);
  }
  for (const name of paramNames(options.shape)) {
    tensors[`acc_${name}`] = new Float32Array(tensors[name]!.length).fill(options.adagrad.initialAccumulator);
  }
  return { shape: copyShape(options.shape), tensors };
}

/** Throws TowerShapeError unless `state` has exactly the tensors `shape` needs, of the right sizes. */
export function checkTowerState(shape: TowerShape, state: TowerState): TowerState {
  if (state.shape.inputDim !== shape.inputDim) {
    throw new TowerShapeError('inputDim', shape.inputDim, state.shape.inputDim);
  }
  if (state.shape.hiddenUnits.length !== shape.hiddenUnits.length) {
    throw new TowerShapeError('hiddenUnits.length', shape.hiddenUnits.length, state.shape.hiddenUnits.length);
  }
  shape.hiddenUnits.forEach((u, i) => {
    if (state.shape.hiddenUnits[i] !== u) throw new TowerShapeError(`hiddenUnits[${i}]`, u, state.shape.hiddenUnits[i]!);
  });
  for (const [name, n] of tensorSizes(shape)) {
    const t = state.tensors[name];
    if (!(t instanceof Float32Array)) throw new TowerShapeError(name, n, 0);
    if (t.length !== n) throw new TowerShapeError(name, n, t.length);
  }
  return state;
}

/** A deep copy, so callers and backends never share mutable buffers. */
export function copyTowerState(state: TowerState): TowerState {
  const tensors: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(state.tensors)) tensors[name] = t.slice();
  return { shape: copyShape(state.shape), tensors };
}

/** Throws TowerShapeError unless x is [batchSize × inputDim]. */
export function checkForwardInput(shape: TowerShape, x: Float32Array, batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new TowerShapeError('batchSize', 1, batchSize);
  if (x.length !== batchSize * shape.inputDim) throw new TowerShapeError('x', batchSize * shape.inputDim, x.length);
}

/**
 * Throws TowerShapeError unless x, offset and labels agree with batchSize and the shape, and
 * dropout masks are given (one per hidden layer, [B × units]) exactly when `dropout > 0`.
 */
export function checkStepInput(shape: TowerShape, input: TowerStepInput, dropout = 0): void {
  checkForwardInput(shape, input.x, input.batchSize);
  if (input.offset.length !== input.batchSize) throw new TowerShapeError('offset', input.batchSize, input.offset.length);
  if (input.labels.length !== input.batchSize) throw new TowerShapeError('labels', input.batchSize, input.labels.length);
  const masks = input.dropoutMasks;
  if (dropout > 0) {
    if (!masks) throw new TowerShapeError('dropoutMasks (the tower has dropout)', shape.hiddenUnits.length, 0);
    if (masks.length !== shape.hiddenUnits.length) throw new TowerShapeError('dropoutMasks', shape.hiddenUnits.length, masks.length);
    shape.hiddenUnits.forEach((u, k) => {
      if (masks[k]!.length !== input.batchSize * u) throw new TowerShapeError(`dropoutMasks[${k}]`, input.batchSize * u, masks[k]!.length);
    });
  } else if (masks) {
    throw new TowerShapeError('dropoutMasks (the tower has no dropout)', 0, masks.length);
  }
}

/**
 * Inverted-dropout masks for one step: per hidden layer k a Float32Array [B × hiddenUnits[k]]
 * of 0 (probability p) or 1/(1−p), drawn in layer then row-major order from `rng`, so the
 * expected activation is unchanged and serving needs no rescaling.
 */
export function makeDropoutMasks(shape: TowerShape, batchSize: number, p: number, rng: Rng): Float32Array[] {
  const keep = 1 / (1 - p);
  return shape.hiddenUnits.map((u) => {
    const m = new Float32Array(batchSize * u);
    for (let i = 0; i < m.length; i++) m[i] = rng.next() < p ? 0 : keep;
    return m;
  });
}

function copyShape(shape: TowerShape): TowerShape {
  return { inputDim: shape.inputDim, hiddenUnits: [...shape.hiddenUnits] };
}
