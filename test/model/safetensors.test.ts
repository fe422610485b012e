import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeTensors, encodeTensors, TensorFileError } from '../../src/model/safetensors.ts';

test('tensors round-trip by name with shapes', () => {
  const t = new Map([
    ['a/weights', { shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) }],
    ['b', { shape: [1], data: Float32Array.of(-0.5) }],
  ]);
  const bytes = encodeTensors(t, { note: 'x' });
  // data starts 8-byte aligned
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLen) % 8, 0);
  const back = decodeTensors(bytes, 'mem');
  assert.deepEqual([...back.keys()], ['a/weights', 'b']);
  assert.deepEqual(Array.from(back.get('a/weights')!.data), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(back.get('a/weights')!.shape, [2, 3]);
  assert.deepEqual(Array.from(back.get('b')!.data), [-0.5]);
});

test('a truncated file is refused with a clear error', () => {
  const bytes = encodeTensors(new Map([['a', { shape: [4], data: new Float32Array(4) }]]));
  assert.throws(
    () => decodeTensors(bytes.subarray(0, bytes.length - 4), 'w.safetensors'),
    (e: unknown) => e instanceof TensorFileError && /w\.safetensors: tensor "a"/.test((e as Error).message),
  );
  assert.throws(() => decodeTensors(bytes.subarray(0, 5), 'w.safetensors'), /too short/);
});

test('shape and data length must agree when writing', () => {
  assert.throws(() => encodeTensors(new Map([['a', { shape: [3], data: new Float32Array(4) }]])), /has 4 values but shape \[3\]/);
});
