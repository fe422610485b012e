import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concatBatches, sliceBatch, takeRows } from '../../src/features/batch-ops.ts';
import type { EncodedBatch } from '../../src/features/encoded-batch.ts';
import { BatchShapeError } from '../../src/features/errors.ts';

/**
 * Batch A (2 rows, numeric width 2, one list embedding):
 *   row 0: wide [1, 2], emb [10],       numeric [0.1, 0.2], label 1
 *   row 1: wide [3],    emb [11, 12],   numeric [0.3, 0.4], label 0
 * Batch B (1 row):
 *   row 0: wide [],     emb [],         numeric [0.5, 0.6], label 1
 */
const A: EncodedBatch = {
  size: 2,
  labels: new Float32Array([1, 0]),
  wideOffsets: new Int32Array([0, 2, 3]),
  wideIds: new Int32Array([1, 2, 3]),
  wideValues: new Float32Array([1, 0.5, 1]),
  embeddingInputs: [{ offsets: new Int32Array([0, 1, 3]), ids: new Int32Array([10, 11, 12]) }],
  numeric: new Float32Array([0.1, 0.2, 0.3, 0.4]),
};
const B: EncodedBatch = {
  size: 1,
  labels: new Float32Array([1]),
  wideOffsets: new Int32Array([0, 0]),
  wideIds: new Int32Array([]),
  wideValues: new Float32Array([]),
  embeddingInputs: [{ offsets: new Int32Array([0, 0]), ids: new Int32Array([]) }],
  numeric: new Float32Array([0.5, 0.6]),
};

function plain(b: EncodedBatch) {
  return {
    size: b.size,
    labels: b.labels ? [...b.labels] : undefined,
    wideOffsets: [...b.wideOffsets],
    wideIds: [...b.wideIds],
    wideValues: [...b.wideValues],
    emb: b.embeddingInputs.map((e) => ({ offsets: [...e.offsets], ids: [...e.ids] })),
    numeric: [...b.numeric].map((v) => Math.round(v * 100) / 100),
  };
}

test('takeRows gathers rows from several batches in pick order', () => {
  const out = takeRows(
    [A, B],
    [
      { batch: 0, row: 1 },
      { batch: 1, row: 0 },
      { batch: 0, row: 0 },
    ],
  );
  assert.deepEqual(plain(out), {
    size: 3,
    labels: [0, 1, 1],
    wideOffsets: [0, 1, 1, 3],
    wideIds: [3, 1, 2],
    wideValues: [1, 1, 0.5],
    emb: [{ offsets: [0, 2, 2, 3], ids: [11, 12, 10] }],
    numeric: [0.3, 0.4, 0.5, 0.6, 0.1, 0.2],
  });
  // Parallel Int32Arrays give the same result.
  const same = takeRows([A, B], { batch: new Int32Array([0, 1, 0]), row: new Int32Array([1, 0, 0]) });
  assert.deepEqual(plain(same), plain(out));
});

test('takeRows output owns its arrays', () => {
  const out = takeRows([A], [{ batch: 0, row: 0 }]);
  assert.notEqual(out.wideIds.buffer, A.wideIds.buffer);
  assert.notEqual(out.numeric.buffer, A.numeric.buffer);
});

test('sliceBatch takes rows [start, end), clamped', () => {
  assert.deepEqual(plain(sliceBatch(A, 1, 2)), plain(takeRows([A], [{ batch: 0, row: 1 }])));
  assert.equal(sliceBatch(A, 1, 99).size, 1);
  assert.equal(sliceBatch(A, 2, 2).size, 0);
  assert.deepEqual(plain(sliceBatch(A, 0, 2)), plain(A));
});

test('concatBatches appends rows', () => {
  const out = concatBatches([A, B]);
  assert.deepEqual(
    plain(out),
    plain(
      takeRows(
        [A, B],
        [
          { batch: 0, row: 0 },
          { batch: 0, row: 1 },
          { batch: 1, row: 0 },
        ],
      ),
    ),
  );
  assert.equal(out.size, 3);
});

test('mismatched shapes and out-of-range picks are rejected', () => {
  const { labels: _labels, ...noLabels } = B;
  assert.throws(() => concatBatches([A, noLabels]), BatchShapeError);
  assert.throws(() => concatBatches([A, { ...B, numeric: new Float32Array([1]) }]), /numeric width: expected 2, got 1/);
  assert.throws(() => concatBatches([A, { ...B, embeddingInputs: [] }]), BatchShapeError);
  assert.throws(() => takeRows([A], [{ batch: 0, row: 2 }]), RangeError);
  assert.throws(() => takeRows([A], [{ batch: 1, row: 0 }]), RangeError);
});
