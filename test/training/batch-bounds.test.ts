import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchBounds } from '../../src/training/batch-bounds.ts';

const sizes = (rows: number, batchSize: number) => batchBounds(rows, batchSize).map((b) => b.end - b.start);

test('an epoch is full batches, the tail joining the last one', () => {
  assert.deepEqual(sizes(1000, 256), [256, 256, 488]);
  assert.deepEqual(batchBounds(1000, 256).at(-1), { start: 512, end: 1000 });
  assert.deepEqual(sizes(512, 256), [256, 256]);
  assert.deepEqual(sizes(257, 256), [257]);
});

test('fewer rows than a batch make one batch; none make none', () => {
  assert.deepEqual(sizes(100, 256), [100]);
  assert.deepEqual(sizes(0, 256), []);
});

test('the batches cover every row once, in order', () => {
  for (const [rows, bs] of [
    [32_561, 64],
    [26_049, 512],
    [7, 3],
  ] as const) {
    const b = batchBounds(rows, bs);
    assert.equal(b[0]!.start, 0);
    for (let i = 1; i < b.length; i++) assert.equal(b[i]!.start, b[i - 1]!.end);
    assert.equal(b.at(-1)!.end, rows);
    assert.ok(
      b.every((x) => x.end - x.start >= bs && x.end - x.start < 2 * bs),
      `${rows}/${bs}: sizes in [bs, 2bs)`,
    );
  }
});

test('a batch size that is not a positive integer is refused by name', () => {
  assert.throws(() => batchBounds(10, 0), /batchSize must be a positive integer, got 0/);
  assert.throws(() => batchBounds(10, 2.5), /batchSize/);
});
