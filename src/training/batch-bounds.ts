/**
 * Where an epoch's mini-batches start and end. The step is a batch mean, so a short last batch
 * (the rows left after the full ones) would give each of its rows the weight of several: a
 * 49-row tail in 512-row batches takes a full-size step from 49 rows, right before the epoch's
 * validation pass. Instead the tail joins the last full batch (one batch of size batchSize +
 * tail). Only when there is no full batch at all is the tail a batch of its own.
 */
export function batchBounds(rows: number, batchSize: number): { start: number; end: number }[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const full = Math.floor(rows / batchSize);
  const bounds: { start: number; end: number }[] = [];
  if (full === 0) {
    if (rows > 0) bounds.push({ start: 0, end: rows });
    return bounds;
  }
  for (let k = 0; k < full; k++) bounds.push({ start: k * batchSize, end: (k + 1) * batchSize });
  bounds[full - 1]!.end = rows;
  return bounds;
}
