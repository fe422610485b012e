import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isHoldoutValue, splitChunk, withSplitColumn } from '../../src/data/row-split.ts';
import type { RowChunk } from '../../src/data/row-chunk.ts';

const ids = Array.from({ length: 20_000 }, (_, i) => `u${i}`);
const chunk: RowChunk = {
  source: 'mem',
  rowOffset: 0,
  numRows: ids.length,
  columns: new Map<string, RowChunk['columns'] extends ReadonlyMap<string, infer V> ? V : never>([
    ['user_id', ids],
    ['x', Float64Array.from(ids, (_, i) => i)],
  ]),
};

test('the hash split holds out about `fraction` of rows, the same rows every time', () => {
  const held = splitChunk(chunk, { column: 'user_id', fraction: 0.2, take: 'holdout' });
  const train = splitChunk(chunk, { column: 'user_id', fraction: 0.2, take: 'train' });
  assert.equal(held.numRows + train.numRows, 20_000);
  assert.ok(Math.abs(held.numRows / 20_000 - 0.2) < 0.015, `holdout share ${held.numRows / 20_000}`);
  // complementary and consistent across columns
  const heldX = new Set(held.columns.get('x') as Float64Array);
  for (const v of train.columns.get('x') as Float64Array) assert.ok(!heldX.has(v));
  for (const [k, u] of (held.columns.get('user_id') as string[]).entries())
    assert.equal(`u${(held.columns.get('x') as Float64Array)[k]}`, u);
  assert.equal(isHoldoutValue('u1', 0.2), isHoldoutValue('u1', 0.2));
  assert.deepEqual(
    splitChunk(chunk, { column: 'user_id', fraction: 0.2, take: 'holdout' }).columns.get('user_id'),
    held.columns.get('user_id'),
  );
});

test('a missing split column is a DataError naming it; the column is added to reads', () => {
  assert.throws(
    () => splitChunk(chunk, { column: 'nope', fraction: 0.5, take: 'train' }),
    /mem, column "nope": column for the holdout split is missing/,
  );
  assert.deepEqual(withSplitColumn([{ name: 'x', kind: 'numeric' }], { column: 'user_id', fraction: 0.1, take: 'train' }), [
    { name: 'x', kind: 'numeric' },
    { name: 'user_id', kind: 'string' },
  ]);
});
