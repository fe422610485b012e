/**
 * Row gathering over EncodedBatches: the trainer's streaming shuffle buffer picks rows from
 * several encoded chunks, and mini-batches are slices of the result. Every output owns fresh
 * arrays (no views into the inputs), so a caller may drop the inputs.
 */
import type { EmbeddingInput, EncodedBatch } from './encoded-batch.ts';
import { BatchShapeError } from './errors.ts';

/** Rows to gather: pick i is row `row[i]` of `batches[batch[i]]`. */
export type RowPicks =
  | readonly { readonly batch: number; readonly row: number }[]
  | { readonly batch: Int32Array; readonly row: Int32Array };

interface Shape {
  readonly embeddings: number;
  readonly numericWidth: number;
  readonly labels: boolean;
}

/** Common shape of the batches; throws BatchShapeError when they disagree. */
function shapeOf(batches: readonly EncodedBatch[]): Shape {
  if (batches.length === 0) throw new BatchShapeError('batches', 'at least one', 0);
  const first = batches[0]!;
  let numericWidth = -1;
  for (const b of batches) {
    if (b.embeddingInputs.length !== first.embeddingInputs.length) {
      throw new BatchShapeError('embedding inputs per batch', first.embeddingInputs.length, b.embeddingInputs.length);
    }
    if ((b.labels !== undefined) !== (first.labels !== undefined))
      throw new BatchShapeError('labels', 'all or none of the batches', 'a mix');
    if (b.size > 0) {
      const w = b.numeric.length / b.size;
      if (numericWidth === -1) numericWidth = w;
      else if (w !== numericWidth) throw new BatchShapeError('numeric width', numericWidth, w);
    }
  }
  return { embeddings: first.embeddingInputs.length, numericWidth: Math.max(numericWidth, 0), labels: first.labels !== undefined };
}

/**
 * Gathers rows from several batches into one new batch, in pick order.
 *
 * @example takeRows([a, b], [{ batch: 1, row: 0 }, { batch: 0, row: 3 }]) // size 2
 */
export function takeRows(batches: readonly EncodedBatch[], picks: RowPicks): EncodedBatch {
  const shape = shapeOf(batches);
  const n = Array.isArray(picks) ? picks.length : (picks as { batch: Int32Array }).batch.length;
  const pb = new Int32Array(n);
  const pr = new Int32Array(n);
  if (Array.isArray(picks)) {
    (picks as readonly { batch: number; row: number }[]).forEach((p, i) => {
      pb[i] = p.batch;
      pr[i] = p.row;
    });
  } else {
    const p = picks as { batch: Int32Array; row: Int32Array };
    if (p.row.length !== n) throw new BatchShapeError('picks.row length', n, p.row.length);
    pb.set(p.batch);
    pr.set(p.row);
  }
  for (let i = 0; i < n; i++) {
    const b = batches[pb[i]!];
    if (b === undefined || !(pr[i]! >= 0 && pr[i]! < b.size)) {
      throw new RangeError(`pick ${i} (batch ${pb[i]}, row ${pr[i]}) is out of range`);
    }
  }

  const gatherCsr = (get: (b: EncodedBatch) => { offsets: Int32Array; ids: Int32Array; values?: Float32Array }) => {
    const offsets = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) {
      const o = get(batches[pb[i]!]!).offsets;
      offsets[i + 1] = offsets[i]! + o[pr[i]! + 1]! - o[pr[i]!]!;
    }
    const ids = new Int32Array(offsets[n]!);
    const hasValues = get(batches[0]!).values !== undefined;
    const values = hasValues ? new Float32Array(offsets[n]!) : undefined;
    for (let i = 0; i < n; i++) {
      const src = get(batches[pb[i]!]!);
      const s = src.offsets[pr[i]!]!;
      const e = src.offsets[pr[i]! + 1]!;
      ids.set(src.ids.subarray(s, e), offsets[i]!);
      if (values) values.set(src.values!.subarray(s, e), offsets[i]!);
    }
    return { offsets, ids, values };
  };

  const wide = gatherCsr((b) => ({ offsets: b.wideOffsets, ids: b.wideIds, values: b.wideValues }));
  const embeddingInputs: EmbeddingInput[] = [];
  for (let e = 0; e < shape.embeddings; e++) {
    const g = gatherCsr((b) => b.embeddingInputs[e]!);
    embeddingInputs.push({ offsets: g.offsets, ids: g.ids });
  }
  const w = shape.numericWidth;
  const numeric = new Float32Array(n * w);
  for (let i = 0; i < n; i++) {
    const r = pr[i]!;
    numeric.set(batches[pb[i]!]!.numeric.subarray(r * w, r * w + w), i * w);
  }
  let labels: Float32Array | undefined;
  if (shape.labels) {
    labels = new Float32Array(n);
    for (let i = 0; i < n; i++) labels[i] = batches[pb[i]!]!.labels![pr[i]!]!;
  }
  return {
    size: n,
    ...(labels ? { labels } : {}),
    wideOffsets: wide.offsets,
    wideIds: wide.ids,
    wideValues: wide.values!,
    embeddingInputs,
    numeric,
  };
}

/**
 * Rows [start, end) of a batch (ends are clamped to [0, size]), as a view: ids, values, numerics
 * and labels are subarrays of `batch`'s (shared memory, no copy); only the CSR offsets are new,
 * rebased to start at 0. Batch scoring and evaluation cut every chunk into runs this way.
 */
export function sliceBatch(batch: EncodedBatch, start: number, end: number): EncodedBatch {
  const s = Math.max(0, Math.min(start, batch.size));
  const e = Math.max(s, Math.min(end, batch.size));
  const n = e - s;
  // Single-valued features share one offsets array; rebase each distinct one once.
  const rebased = new Map<Int32Array, Int32Array>();
  const rebase = (offsets: Int32Array): Int32Array => {
    let r = rebased.get(offsets);
    if (!r) {
      r = new Int32Array(n + 1);
      const base = offsets[s]!;
      for (let i = 0; i <= n; i++) r[i] = offsets[s + i]! - base;
      rebased.set(offsets, r);
    }
    return r;
  };
  const w0 = batch.wideOffsets[s]!;
  const w1 = batch.wideOffsets[e]!;
  const w = n > 0 ? batch.numeric.length / batch.size : 0;
  return {
    size: n,
    ...(batch.labels ? { labels: batch.labels.subarray(s, e) } : {}),
    wideOffsets: rebase(batch.wideOffsets),
    wideIds: batch.wideIds.subarray(w0, w1),
    wideValues: batch.wideValues.subarray(w0, w1),
    embeddingInputs: batch.embeddingInputs.map(({ offsets, ids }) => ({
      offsets: rebase(offsets),
      ids: ids.subarray(offsets[s]!, offsets[e]!),
    })),
    numeric: batch.numeric.subarray(s * w, e * w),
  };
}

/** The batches' rows one after another, as one new batch. */
export function concatBatches(batches: readonly EncodedBatch[]): EncodedBatch {
  let n = 0;
  for (const b of batches) n += b.size;
  const pb = new Int32Array(n);
  const pr = new Int32Array(n);
  let i = 0;
  batches.forEach((b, bi) => {
    for (let r = 0; r < b.size; r++, i++) {
      pb[i] = bi;
      pr[i] = r;
    }
  });
  return takeRows(batches, { batch: pb, row: pr });
}
