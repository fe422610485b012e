import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VocabCounter, Vocabulary } from '../../src/features/vocab.ts';

function counter(tokens: string[]): VocabCounter {
  const c = new VocabCounter();
  for (const t of tokens) c.add(t);
  return c;
}

test('vocab keeps tokens with count ≥ minCount, by descending count then token', () => {
  // counts: b 3, a 3, d 2, c 1 → with minCount 2: a, b (tie → token order), d.
  const v = counter(['b', 'a', 'c', 'd', 'a', 'b', 'd', 'a', 'b']).build({ minCount: 2, maxSize: 100 });
  assert.deepEqual(v.tokens, ['a', 'b', 'd']);
  assert.equal(v.size, 4);
  assert.equal(v.id('a'), 1);
  assert.equal(v.id('b'), 2);
  assert.equal(v.id('d'), 3);
});

test('rare, unseen and missing tokens map to OOV id 0', () => {
  const v = counter(['a', 'a', 'c']).build({ minCount: 2, maxSize: 100 });
  assert.equal(v.id('c'), 0);
  assert.equal(v.id('never'), 0);
  assert.equal(v.id(null), 0);
  assert.equal(v.id(undefined), 0);
});

test('maxSize keeps the most frequent tokens', () => {
  const v = counter(['z', 'z', 'z', 'y', 'y', 'x']).build({ minCount: 1, maxSize: 2 });
  assert.deepEqual(v.tokens, ['z', 'y']);
});

test('order uses code units, not locale (deterministic everywhere)', () => {
  const v = counter(['b', 'B', 'a', 'é']).build({ minCount: 1, maxSize: 10 });
  assert.deepEqual(v.tokens, ['B', 'a', 'b', 'é']);
});

test('duplicate tokens in a Vocabulary are rejected', () => {
  assert.throws(() => new Vocabulary(['a', 'a']));
});
