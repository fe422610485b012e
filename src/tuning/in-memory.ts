/**
 * Training and scoring on rows already encoded in memory: what a search trial runs. The joint
 * step is the model's own `trainBatch` (the same one `wdp train` runs); only the reading differs
 * (a full shuffle of the in-memory rows each epoch instead of the streaming windowed shuffle).
 */
import { batchBounds } from '../training/batch-bounds.ts';
import { sliceBatch, takeRows } from '../features/batch-ops.ts';
import type { EncodedBatch } from '../features/encoded-batch.ts';
import type { WideDeepModel } from '../model/wide-deep.ts';
import { hash32, Rng } from '../util/random.ts';

/** One epoch over `rows` in a seeded order; returns the mean training loss. */
export async function trainEpochInMemory(
  model: WideDeepModel,
  rows: EncodedBatch,
  options: { batchSize: number; seed: number; epoch: number; onBatch?: (examples: number) => void },
): Promise<number> {
  const order = new Int32Array(rows.size);
  for (let i = 0; i < order.length; i++) order[i] = i;
  // The order depends on (seed, epoch) only, so a trial resumed at a later rung sees the same
  // sequence as one run straight through.
  new Rng(hash32(options.seed ^ hash32(options.epoch + 1))).shuffle(order);
  let loss = 0;
  let batches = 0;
  for (const { start, end } of batchBounds(rows.size, options.batchSize)) {
    const pick = order.subarray(start, end);
    const batch = takeRows([rows], { batch: new Int32Array(pick.length), row: pick });
    const r = await model.trainBatch(batch);
    if (!Number.isFinite(r.loss)) throw new RangeError(`training diverged: loss is ${r.loss} in epoch ${options.epoch + 1}`);
    loss += r.loss;
    batches++;
    options.onBatch?.(pick.length);
  }
  return loss / Math.max(1, batches);
}

/** Predictions for every row, in order. */
export async function predictInMemory(model: WideDeepModel, rows: EncodedBatch, step = 4096): Promise<Float32Array> {
  const out = new Float32Array(rows.size);
  for (let start = 0; start < rows.size; start += step) {
    out.set(await model.predict(sliceBatch(rows, start, Math.min(rows.size, start + step))), start);
  }
  return out;
}
