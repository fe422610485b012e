import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReservoirSampler, bucketIndex, numericPiece, quantileCuts, quantileNormalise } from '../../src/features/quantiles.ts';

test('quantile cuts of 1..10 into 5 quantiles are 3, 5, 7, 9', () => {
  // cut j = sorted[floor(j·10/5)] = sorted[2], [4], [6], [8].
  assert.deepEqual(quantileCuts([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5), [3, 5, 7, 9]);
});

test('normalise maps the i-th quantile to (i−1)/(n_q−1); beyond the range to 0 and 1', () => {
  const cuts = [3, 5, 7, 9];
  const cases: [number, number][] = [
    [1, 0],
    [2, 0], // bucket 1
    [3, 0.25],
    [4, 0.25], // bucket 2
    [5, 0.5],
    [7, 0.75],
    [9, 1],
    [10, 1],
    [-1e9, 0],
    [1e9, 1],
  ];
  for (const [v, want] of cases) assert.equal(quantileNormalise(cuts, v), want, `v=${v}`);
});

test('duplicate cut points are deduplicated and the scale is (i−1)/k', () => {
  // sorted[2,4,6,8] of [1,1,1,1,1,1,2,3,4,5] = 1, 1, 2, 4 → unique [1, 2, 4], k = 3.
  const cuts = quantileCuts([1, 1, 1, 1, 1, 1, 2, 3, 4, 5], 5);
  assert.deepEqual(cuts, [1, 2, 4]);
  assert.equal(quantileNormalise(cuts, 0.5), 0);
  assert.equal(quantileNormalise(cuts, 1), 1 / 3);
  assert.equal(quantileNormalise(cuts, 3), 2 / 3);
  assert.equal(quantileNormalise(cuts, 4), 1);
});

test('no data gives no cut points and normalises to 0', () => {
  assert.deepEqual(quantileCuts([], 5), []);
  assert.equal(quantileNormalise([], 42), 0);
});

test('bucketIndex counts boundaries ≤ v', () => {
  const b = [0, 10, 100];
  assert.deepEqual(
    [-1, 0, 5, 10, 99.9, 100, 1e6].map((v) => bucketIndex(b, v)),
    [0, 1, 1, 2, 2, 3, 3],
  );
});

test('bucketIndex counts the same below and above its linear-search length (ties, NaN, infinities)', () => {
  // 1–80 boundaries spans both the counting loop (≤ 32) and the binary search.
  for (let n = 0; n <= 80; n++) {
    const b = Float64Array.from({ length: n }, (_, i) => Math.floor(i / 3)); // runs of equal boundaries
    for (const v of [Number.NaN, -Infinity, -1, 0, 0.5, 1, n / 6, n / 3 - 1, n, Infinity]) {
      assert.equal(bucketIndex(b, v), b.filter((x) => x <= v).length, `n=${n} v=${v}`);
    }
  }
});

test('reservoir sample is bounded, seeded and roughly uniform', () => {
  const a = new ReservoirSampler({ capacity: 1000, seed: 7 });
  const b = new ReservoirSampler({ capacity: 1000, seed: 7 });
  for (let i = 0; i < 100_000; i++) {
    a.add(i);
    b.add(i);
  }
  const s = a.sorted();
  assert.equal(s.length, 1000);
  assert.equal(a.seen, 100_000);
  assert.deepEqual(s, b.sorted());
  // Median of a uniform sample of 0..99999 is near 50000 (sd of the sample median ≈ 1600).
  assert.ok(Math.abs(s[500]! - 50_000) < 8000, `median ${s[500]}`);
});

test('numeric pieces: piece t of n is the share of [t/n, (t+1)/n] below q; one piece is q; the pieces sum to n·q', () => {
  const pieces = (q: number, n: number) => Array.from({ length: n }, (_, t) => numericPiece(q, n, t));
  assert.deepEqual(pieces(0, 4), [0, 0, 0, 0]);
  assert.deepEqual(pieces(1, 4), [1, 1, 1, 1]);
  assert.deepEqual(pieces(0.25, 3), [0.75, 0, 0]);
  assert.deepEqual(pieces(0.5, 3), [1, 0.5, 0]);
  assert.deepEqual(pieces(0.625, 4), [1, 1, 0.5, 0]);
  for (const q of [0, 0.1, 0.37, 0.5, 0.99, 1]) {
    assert.deepEqual(pieces(q, 1), [q]);
    for (const n of [2, 5, 16]) {
      const sum = pieces(q, n).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - n * q) < 1e-12, `q=${q} n=${n}: sum ${sum}`);
    }
  }
});
