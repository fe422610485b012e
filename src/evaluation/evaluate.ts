/**
 * `wdp evaluate`: stream held-out logs through the model's own transforms and score them.
 */
import type { WdpConfig } from '../config/index.ts';
import { listLogFiles, readLogChunks } from '../data/logs.ts';
import { splitRows, withSplitColumn, type RowSplits } from '../data/row-split.ts';
import { sliceBatch } from '../features/batch-ops.ts';
import type { FeatureTransforms } from '../features/transforms.ts';
import type { WideDeepModel } from '../model/wide-deep.ts';
import { binaryMetrics, type BinaryMetrics } from './metrics.ts';

export interface EvaluateOptions {
  /** @default the model config's data.onBadRow */
  readonly onBadRow?: 'error' | 'skip';
  /** Rows scored per forward pass. @default 4096 */
  readonly batchSize?: number;
  /** Receives every prediction with its label (e.g. for parity checks or plots). */
  readonly onPredictions?: (probs: Float32Array, labels: Float32Array) => void;
  /** Evaluate one side of a hashed row split only (config `holdout.kind: "hash"`), or of several (validation inside it). */
  readonly split?: RowSplits;
}

export interface EvaluationResult extends BinaryMetrics {
  readonly skippedRows: number;
}

export async function evaluateModel(
  loaded: { config: WdpConfig; transforms: FeatureTransforms; model: WideDeepModel },
  data: readonly string[],
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const files = await listLogFiles([...data]);
  const columns = withSplitColumn(loaded.transforms.requiredColumns(true), options.split);
  const step = options.batchSize ?? 4096;
  let probs = new Float32Array(1 << 16);
  let labels = new Float32Array(1 << 16);
  let n = 0;
  let skipped = 0;
  for await (const chunk of splitRows(readLogChunks(files, { columns }), options.split)) {
    const enc = loaded.transforms.encode(chunk, { withLabels: true, onBadRow: options.onBadRow ?? loaded.config.data.onBadRow });
    skipped += enc.skipped;
    for (let start = 0; start < enc.batch.size; start += step) {
      const b = sliceBatch(enc.batch, start, Math.min(enc.batch.size, start + step));
      const p = await loaded.model.predict(b);
      if (n + b.size > probs.length) {
        const grow = (a: Float32Array) => {
          const next = new Float32Array(Math.max(a.length * 2, n + b.size));
          next.set(a.subarray(0, n));
          return next;
        };
        probs = grow(probs);
        labels = grow(labels);
      }
      probs.set(p, n);
      labels.set(b.labels!, n);
      options.onPredictions?.(p, b.labels!);
      n += b.size;
    }
  }
  return { ...binaryMetrics(probs.subarray(0, n), labels.subarray(0, n)), skippedRows: skipped };
}
