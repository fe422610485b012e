import { test } from 'node:test';
import assert from 'node:assert/strict';
import { murmur3 } from '../../src/util/murmur3.ts';

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
