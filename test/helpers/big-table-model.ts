/**
 * A tiny model whose embedding tables are large enough to be mapped (≥ MAPPED_TABLE_MIN_BYTES):
 * user 1 MiB, item 2 MiB, the tags list 1 MiB; x stays a numeric.
 */
import type { WdpConfigInput } from '../../src/config/index.ts';
import { saveTinyModel } from './tiny-model.ts';

export const BIG_TABLE_OVERRIDES: Partial<WdpConfigInput> = {
  features: {
    user: { kind: 'categorical', hashBuckets: 8192 },
    item: { kind: 'categorical', hashBuckets: 16384 },
    tags: { kind: 'categorical_list', hashBuckets: 8192, combiner: 'mean' },
    x: { kind: 'numeric', quantiles: 10, wideBuckets: 4 },
  },
  deep: { embeddings: ['user', 'item', 'tags'], defaultEmbeddingDim: 32, numeric: ['x'], hiddenUnits: [8, 4] },
};

/** Saves the big-table model at dir/name; returns the folder. */
export function saveBigTableModel(dir: string, name: string): Promise<string> {
  return saveTinyModel(dir, name, { overrides: BIG_TABLE_OVERRIDES, rows: 600 });
}
