/**
 * What the model consumes: a mini-batch after the feature transforms. Produced by
 * `FeatureTransforms.encode` for training and serving alike (one code path, no skew), and by
 * the benchmarks directly from random ids.
 *
 * Sparse parts are CSR: example i owns entries [offsets[i], offsets[i+1]).
 */
export interface EncodedBatch {
  /** Number of examples B. */
  readonly size: number;
  /** Float32Array [B] of 0/1 labels; absent when scoring. */
  readonly labels?: Float32Array;
  /** Int32Array [B+1]. */
  readonly wideOffsets: Int32Array;
  /** Int32Array [nnz]: coordinates in the model's flat wide table [0, WideLayout.size). */
  readonly wideIds: Int32Array;
  /** Float32Array [nnz]: the feature values (1 for indicators). */
  readonly wideValues: Float32Array;
  /** One per embedding feature, in DeepLayout.embeddings order. */
  readonly embeddingInputs: readonly EmbeddingInput[];
  /** Float32Array [B × DeepLayout.numeric.length] (one column per numeric input), row-major, values in [0,1]. */
  readonly numeric: Float32Array;
}

export interface EmbeddingInput {
  /** Int32Array [B+1]; for a single-valued feature offsets[i] === i. */
  readonly offsets: Int32Array;
  /** Int32Array [nnz]: rows of this feature's table [0, vocabSize). */
  readonly ids: Int32Array;
}

/** The flat wide table is cut into one named segment per wide feature or cross. */
export interface WideSegment {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
}

export interface WideLayout {
  readonly segments: readonly WideSegment[];
  /** Total coordinates = sum of segment sizes. */
  readonly size: number;
}

export interface EmbeddingSpec {
  readonly feature: string;
  readonly vocabSize: number;
  readonly dim: number;
  readonly combiner: 'sum' | 'mean';
}

export interface DeepLayout {
  readonly embeddings: readonly EmbeddingSpec[];
  /**
   * The feature of each numeric tower input, in column order of EncodedBatch.numeric: a deep
   * numeric fed in pieces (`deep.numericPieces`) is named once per piece, in adjacent columns.
   */
  readonly numeric: readonly string[];
  /** Tower input width: sum of embedding dims + numeric count. */
  readonly inputDim: number;
}
