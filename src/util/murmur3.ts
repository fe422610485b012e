/**
 * MurmurHash3 x86_32 over UTF-8: the stable string hash under hashed features, crosses and the
 * holdout split.
 *
 * Written by hand rather than taken from a package: the hash is part of every saved model (a
 * bucket id is a row in a weight table) and of every hash split (which rows are held out), so it
 * must never change under us with a dependency upgrade, and it must be identical in training and
 * in the scoring Lambda. test/util/murmur3.test.ts pins expected values for the same reason.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

// Reused scratch for the UTF-8 slow path (non-ASCII strings); grown on demand.
let utf8Scratch = new Uint8Array(256);
const encoder = new TextEncoder();

/** One MurmurHash3 mixing round of a 32-bit block into h (exported for inlined cross hashing). */
export function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The tail (1–3 leftover bytes) is mixed into h without the rotate-multiply-add step. */
function mixTail(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

/** MurmurHash3 finaliser: avalanches the last bits. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function murmurBytes(bytes: Uint8Array, len: number, seed: number): number {
  let h = seed | 0;
  const blocks = len & ~3;
  for (let i = 0; i < blocks; i += 4) {
    h = mixBlock(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  }
  const rem = len & 3;
  if (rem > 0) {
    let k = 0;
    if (rem === 3) k ^= bytes[blocks + 2]! << 16;
    if (rem >= 2) k ^= bytes[blocks + 1]! << 8;
    k ^= bytes[blocks]!;
    h ^= mixTail(k);
  }
  return fmix32(h ^ len);
}

/**
 * MurmurHash3 x86_32 of the UTF-8 bytes of `s`. Returns an unsigned 32-bit integer.
 * ASCII strings (the common case for ids and app names) are hashed straight from char codes,
 * with no encoding step or allocation.
 *
 * @example murmur3('hello') === 0x248bfa47
 */
export function murmur3(s: string, seed = 0): number {
  const len = s.length;
  let h = seed | 0;
  const blocks = len & ~3;
  let i = 0;
  for (; i < blocks; i += 4) {
    const a = s.charCodeAt(i);
    const b = s.charCodeAt(i + 1);
    const c = s.charCodeAt(i + 2);
    const d = s.charCodeAt(i + 3);
    if ((a | b | c | d) > 127) return murmurUtf8(s, seed);
    h = mixBlock(h, a | (b << 8) | (c << 16) | (d << 24));
  }
  const rem = len & 3;
  if (rem > 0) {
    const a = s.charCodeAt(i);
    const b = rem >= 2 ? s.charCodeAt(i + 1) : 0;
    const c = rem === 3 ? s.charCodeAt(i + 2) : 0;
    if ((a | b | c) > 127) return murmurUtf8(s, seed);
    h ^= mixTail(a | (b << 8) | (c << 16));
  }
  return fmix32(h ^ len);
}

function murmurUtf8(s: string, seed: number): number {
  // A UTF-16 code unit becomes at most 3 UTF-8 bytes.
  if (utf8Scratch.length < s.length * 3) utf8Scratch = new Uint8Array(s.length * 3);
  const { written } = encoder.encodeInto(s, utf8Scratch);
  return murmurBytes(utf8Scratch, written, seed);
}
