/**
 * Feature transforms: fit on training data, save in the model, encode rows for training and
 * serving alike. Only what callers need is exported here.
 */
export { FeatureTransforms, MAX_CROSS_IDS_PER_EXAMPLE } from './transforms.ts';
export type { BadRowPolicy, ColumnKind, EncodeOptions, EncodeResult, FitOptions, RequiredColumn } from './transforms.ts';
export type { TransformState } from './state.ts';
export { TRANSFORM_FORMAT_VERSION } from './state.ts';
export { takeRows, sliceBatch, concatBatches } from './batch-ops.ts';
export type { RowPicks } from './batch-ops.ts';
export { murmur3, hashBucket } from './hashing.ts';
export { BatchShapeError, TransformStateError, UnknownFeatureError } from './errors.ts';
export type { DeepLayout, EmbeddingInput, EmbeddingSpec, EncodedBatch, WideLayout, WideSegment } from './encoded-batch.ts';
