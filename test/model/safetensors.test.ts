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

/** A safetensors file with the given header entries over `dataBytes` bytes of data. */
function withHeader(header: Record<string, unknown>, dataBytes: number): Uint8Array {
  const json = Buffer.from(JSON.stringify(header).padEnd(8 * Math.ceil(JSON.stringify(header).length / 8), ' '));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

test('tensors left unread are reported by place, and none may overlap a tensor that is decoded', () => {
  const ok = withHeader(
    { 'embedding/t': { dtype: 'F32', shape: [4, 2], data_offsets: [0, 32] }, W0: { dtype: 'F32', shape: [2], data_offsets: [32, 40] } },
    40,
  );
  const found = new Map<string, { shape: number[]; byteOffset: number }>();
  const out = decodeTensors(ok, 's.safetensors', { view: true, unread: { names: new Set(['embedding/t']), found } });
  assert.deepEqual([...out.keys()], ['W0']);
  assert.deepEqual(found.get('embedding/t')?.shape, [4, 2]);
  assert.equal(found.get('embedding/t')?.byteOffset, ok.length - 40);
  const overlapping = withHeader(
    { 'embedding/t': { dtype: 'F32', shape: [4, 2], data_offsets: [0, 32] }, W0: { dtype: 'F32', shape: [2], data_offsets: [28, 36] } },
    40,
  );
  // Read in full, the overlap goes unseen (as before); left unread, W0 would hold zeros: refused.
  decodeTensors(overlapping, 's.safetensors');
  assert.throws(
    () => decodeTensors(overlapping, 's.safetensors', { view: true, unread: { names: new Set(['embedding/t']), found: new Map() } }),
    (e: unknown) => e instanceof TensorFileError && /tensor "W0" overlaps tensor "embedding\/t"/.test((e as Error).message),
  );
});

test('a header entry whose offsets or shape are malformed is refused naming the file and tensor, never read from elsewhere', () => {
  const refused = (entry: unknown, pattern: RegExp) =>
    assert.throws(
      () => decodeTensors(withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: entry }, 16), 'w.safetensors'),
      (e: unknown) =>
        e instanceof TensorFileError && /^w\.safetensors: tensor "b"/.test((e as Error).message) && pattern.test((e as Error).message),
    );
  // Negative offsets of the right length used to be taken as they were: the tensor then held
  // bytes of the JSON header (a served bias of ~1e18, every score 1).
  refused({ dtype: 'F32', shape: [1], data_offsets: [-8, -4] }, /offsets \[-8, -4\]/);
  refused({ dtype: 'F32', shape: [2], data_offsets: [12, 4] }, /offsets \[12, 4\]/);
  refused({ dtype: 'F32', shape: [1], data_offsets: [8.5, 12.5] }, /offsets/);
  refused({ dtype: 'F32', shape: [1], data_offsets: [8] }, /offsets/);
  refused({ dtype: 'F32', shape: [1], data_offsets: '8,12' }, /offsets/);
  // A shape whose product fits the bytes is not enough: every dimension is a whole number ≥ 0.
  refused({ dtype: 'F32', shape: [-1, -2], data_offsets: [8, 16] }, /shape \[-1,-2\]/);
  refused({ dtype: 'F32', shape: [0.5, 4], data_offsets: [8, 16] }, /shape \[0\.5,4\]/);
  refused({ dtype: 'F32', shape: 'ab', data_offsets: [8, 16] }, /shape "ab"/);
  refused({ dtype: 'F32', data_offsets: [8, 16] }, /shape/);
  // Not an entry at all: named, not "Cannot read properties of null".
  refused(null, /is not a \{dtype, shape, data_offsets\} entry/);
  refused([1, 2], /is not a \{dtype, shape, data_offsets\} entry/);
  assert.throws(() => decodeTensors(withHeader([] as never, 0), 'w.safetensors'), /w\.safetensors: header is not a JSON object/);
  assert.throws(() => decodeTensors(withHeader(7 as never, 0), 'w.safetensors'), /w\.safetensors: header is not a JSON object/);
  // Empty tensors and the offsets the writer produces still decode.
  const ok = decodeTensors(
    withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, e: { dtype: 'F32', shape: [0, 3], data_offsets: [8, 8] } }, 8),
    'w',
  );
  assert.deepEqual(ok.get('e')?.shape, [0, 3]);
});
