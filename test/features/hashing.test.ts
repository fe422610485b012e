import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MISSING_TOKEN, combineHashes, crossComponentOf, featureSeed, hashBucket, murmur3 } from '../../src/features/hashing.ts';

// Pinned values: bucket ids are rows of saved weight tables, so the hash must never change.
// Reference: MurmurHash3 x86_32 test vectors (SMHasher / mmh3), cross-checked with an
// independent Python implementation.
test('murmur3 matches the published MurmurHash3 x86_32 vectors', () => {
  assert.equal(murmur3(''), 0);
  assert.equal(murmur3('', 1), 0x514e28b7);
  assert.equal(murmur3('hello'), 0x248bfa47);
  assert.equal(murmur3('test'), 0xba6bd213);
  assert.equal(murmur3('abc'), 0xb3dd93fa);
  assert.equal(murmur3('aaaa', 0x9747b28c), 0x5a97808a);
  assert.equal(murmur3('Hello, world!', 0x9747b28c), 0x24884cba);
  assert.equal(murmur3('The quick brown fox jumps over the lazy dog', 0x9747b28c), 0x2fa826cd);
});

test('murmur3 hashes non-ASCII strings as UTF-8 bytes', () => {
  assert.equal(murmur3('ñandú'), 0x3dd70beb);
  assert.equal(murmur3('日本'), 0xc4d9f942);
  // Non-ASCII in the tail (the last 1–3 chars) takes the same UTF-8 path.
  assert.equal(murmur3('abcdñ'), murmur3(new TextDecoder().decode(new TextEncoder().encode('abcdñ'))));
});

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
