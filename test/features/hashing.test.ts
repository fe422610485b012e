import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MISSING_TOKEN, combineHashes, crossComponentOf, featureSeed, hashBucket } from '../../src/features/hashing.ts';
import { murmur3 } from '../../src/util/murmur3.ts';

test('hashBucket is hash % buckets, and missing values share one fixed bucket', () => {
  assert.equal(hashBucket('hello', 1000), 0x248bfa47 % 1000); // 613153351 % 1000 = 351
  assert.equal(hashBucket('hello', 1000), 351);
  assert.equal(hashBucket(null, 1000), murmur3(MISSING_TOKEN) % 1000);
  assert.equal(hashBucket(undefined, 1000), hashBucket(null, 1000));
});

test('cross components depend on the feature name; combining is order-sensitive', () => {
  const a = crossComponentOf(featureSeed('a'), 'x');
  const b = crossComponentOf(featureSeed('b'), 'x');
  assert.notEqual(a, b);
  assert.notEqual(combineHashes(1, [a, b], 2), combineHashes(1, [b, a], 2));
  assert.equal(combineHashes(1, [a, b], 2), combineHashes(1, new Uint32Array([a, b]), 2));
  assert.ok(combineHashes(1, [a, b], 2) >= 0);
});
