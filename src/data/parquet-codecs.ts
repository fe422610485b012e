/**
 * Decompressors for the Parquet codecs beyond hyparquet's built-in SNAPPY, each bounded by the
 * page header's `uncompressed_page_size` (at most MAX_PAGE_BYTES, checked in parquet-pages.ts
 * before the decode). A page is attacker-controlled input: its compressed bytes may inflate far
 * past what the header declares (a decompression bomb), or be cut short, or be garbage. Each
 * decompressor here stops at the declared size, allocates nothing larger, and fails with a
 * DataError naming the file, the column and the codec.
 *
 * hyparquet-compressors (the decompressors hyparquet's author publishes) is not used as is, codec
 * by codec, because of what its source does with a page that lies:
 * - GZIP: its pure-JS inflate keeps running past the output buffer (writes dropped), so the time
 *   grows with the bomb's inflated size, and a stream shorter than declared is decoded again from
 *   its first byte until the buffer is full (garbage values, no error). node:zlib is native and
 *   takes a `maxOutputLength`, so GZIP (and zlib-wrapped deflate) go through it instead.
 * - BROTLI: node:zlib too, for the same cap; native, and several times faster than the JS port.
 * - ZSTD: its `compressors.ZSTD` ignores the declared size and lets fzstd allocate what the frame
 *   header claims (up to 2 GiB) or grow without bound; and fzstd checks neither a block's output
 *   against the format's 128 KiB nor its sequences against the input, so an 18-byte page (one
 *   block of 98,303 sequences of 65,539-byte matches) kept it busy for over two minutes, even
 *   with an output buffer of the declared size. ZSTD goes through zstddec instead: the reference
 *   libzstd compiled to WebAssembly, whose ZSTD_decompress stops at the destination's capacity
 *   (the declared size) and validates the frame as the zstd tool does.
 * - LZ4, LZ4_RAW: its decoder runs on past the output (writes dropped) and zero-fills a stream
 *   that is short. The walk below computes a block's exact decoded length from its tokens without
 *   copying, stopping as soon as it passes the declared size; only a block of exactly the right
 *   length is handed to the library's decoder.
 */
import { brotliDecompressSync, unzipSync } from 'node:zlib';
import type { CompressionCodec, Compressors } from 'hyparquet';
// The LZ4 module alone: the package's index also loads fzstd, hysnappy's WebAssembly and the JS
// brotli port (~25 ms of start-up in every process that reads Parquet), none of which is used here.
import { decompressLz4Raw } from 'hyparquet-compressors/src/lz4.js';
import { ZSTDDecoder } from 'zstddec';
import { DataError } from './errors.ts';

/**
 * The codecs wdp reads. UNCOMPRESSED and SNAPPY are hyparquet's own; the others are
 * parquetDecompressors' below. LZO (deprecated in the Parquet spec, no JS decoder) is the one left.
 */
export const READABLE_CODECS: readonly CompressionCodec[] = ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'ZSTD', 'BROTLI', 'LZ4', 'LZ4_RAW'];

/** What the decoding of one column chunk is, for the errors' wording. */
export interface ChunkPlace {
  readonly uri: string;
  readonly column: string;
  /** Row group index in the file. */
  readonly group: number;
}

type Decompress = (input: Uint8Array, declared: number) => Uint8Array;

/**
 * The `compressors` option of hyparquet's parquetRead for one column chunk (hyparquet calls them
 * with a page's compressed bytes and its header's uncompressed size, and SNAPPY stays its own).
 */
export function parquetDecompressors(place: ChunkPlace): Compressors {
  const wrap =
    (codec: CompressionCodec, decompress: Decompress) =>
    (input: Uint8Array, declared: number): Uint8Array => {
      const problem = (message: string): DataError =>
        new DataError({ source: place.uri, column: place.column }, `row group ${place.group}: ${codec} page: ${message}`);
      // A DATA_PAGE_V2's size comes from header fields hyparquet subtracts: a lie can make it negative.
      if (!Number.isSafeInteger(declared) || declared < 0) throw problem(`corrupt page header: uncompressed size ${declared}`);
      let out: Uint8Array;
      try {
        out = decompress(input, declared);
      } catch (err) {
        if (err instanceof Inflation) throw problem(`${err.message} (a decompression bomb, or a corrupt page)`);
        if (err instanceof Corrupt) throw problem(`corrupt compressed data: ${err.message}`);
        throw problem(`corrupt compressed data: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (out.length !== declared)
        throw problem(`corrupt compressed data: it holds ${out.length} bytes, not the ${declared} bytes its page header declares`);
      return out;
    };
  return {
    GZIP: wrap('GZIP', gunzip),
    BROTLI: wrap('BROTLI', unbrotli),
    ZSTD: wrap('ZSTD', unzstd),
    LZ4: wrap('LZ4', unlz4Hadoop),
    LZ4_RAW: wrap('LZ4_RAW', unlz4Raw),
  };
}

/** The data inflates past the declared size (the message says by how much is known). */
class Inflation extends Error {}
/** The data is malformed in a way this module finds itself (truncated, bad offsets…). */
class Corrupt extends Error {}

const tooBig = (declared: number, more = ''): Inflation =>
  new Inflation(`it inflates to more than the ${declared} bytes its page header declares${more}`);

/** Node's error when an inflate passes `maxOutputLength` (it stops there, having allocated no more). */
function isOverCap(err: unknown): boolean {
  return err instanceof RangeError && (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
}

function asBytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * GZIP pages: gzip members (what parquet-mr, Arrow and Spark write); unzip also takes a zlib
 * header, which Arrow reads too. `maxOutputLength` must be at least 1, so an empty page asks for 1
 * and the length check in the wrapper does the rest.
 */
function gunzip(input: Uint8Array, declared: number): Uint8Array {
  try {
    return asBytes(unzipSync(input, { maxOutputLength: Math.max(1, declared) }));
  } catch (err) {
    if (isOverCap(err)) throw tooBig(declared);
    throw err;
  }
}

function unbrotli(input: Uint8Array, declared: number): Uint8Array {
  try {
    return asBytes(brotliDecompressSync(input, { maxOutputLength: Math.max(1, declared) }));
  } catch (err) {
    if (isOverCap(err)) throw tooBig(declared);
    throw err;
  }
}

/** The Zstandard format's largest block once decoded (RFC 8878, 3.1.1.2.3, Block_Maximum_Size). */
const ZSTD_MAX_BLOCK = 128 << 10;

const zstd = new ZSTDDecoder();
let zstdReady: Promise<void> | undefined;

/**
 * Loads the ZSTD decoder (compiles its WebAssembly, once per process, about 10 ms): hyparquet calls
 * decompressors synchronously, so the reader awaits this before decoding a file with ZSTD chunks.
 */
export function loadZstd(): Promise<void> {
  zstdReady ??= zstd.init().then(() => {
    zstdLoaded = true;
  });
  return zstdReady;
}
let zstdLoaded = false;

/**
 * ZSTD pages: Zstandard frames (skippable frames allowed), as Arrow, parquet-mr and Polars write
 * a page. The frames' headers are walked first, without decoding: a content size other than the
 * declared one, or raw and RLE blocks adding up past it, give a precise error at once. libzstd then
 * decodes into exactly the declared size. The compressed bytes are bounded too (zstd never expands
 * data by more than 1/128 plus a few bytes): they are copied into the decoder's WebAssembly memory,
 * which does not shrink.
 */
function unzstd(input: Uint8Array, declared: number): Uint8Array {
  if (input.length > declared + (declared >> 7) + 1024)
    throw new Corrupt(
      `${input.length} compressed bytes, more than any Zstandard encoding of the ${declared} bytes its page header declares`,
    );
  let at = 0;
  let exact = 0;
  let compressedBlocks = 0;
  let stated = 0;
  let allStated = true;
  const u32 = (p: number): number => {
    if (p + 4 > input.length) throw new Corrupt('the frame is cut short');
    return (input[p]! | (input[p + 1]! << 8) | (input[p + 2]! << 16) | (input[p + 3]! << 24)) >>> 0;
  };
  while (at < input.length) {
    const magic = u32(at);
    if (magic >>> 4 === 0x184d2a5) {
      at += 8 + u32(at + 4);
      continue;
    }
    if (magic !== 0xfd2fb528) throw new Corrupt(`not a Zstandard frame at byte ${at}`);
    if (at + 5 > input.length) throw new Corrupt('the frame is cut short');
    const descriptor = input[at + 4]!;
    if (descriptor & 8) throw new Corrupt('reserved bit set in the frame header');
    const singleSegment = (descriptor >> 5) & 1;
    const fcsFlag = descriptor >> 6;
    let p = at + 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][descriptor & 3]!;
    const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
    if (p + fcsBytes > input.length) throw new Corrupt('the frame is cut short');
    if (fcsBytes > 0) {
      // Little-endian, up to 8 bytes; a size that does not fit a double is far past any page anyway.
      let size = 0;
      for (let i = fcsBytes - 1; i >= 0; i--) size = size * 256 + input[p + i]!;
      if (fcsBytes === 2) size += 256;
      stated += size;
      if (stated > declared) throw tooBig(declared, ` (its frame header says ${stated})`);
    } else allStated = false;
    p += fcsBytes;
    for (let last = 0; !last; ) {
      if (p + 3 > input.length) throw new Corrupt('the frame is cut short');
      const header = input[p]! | (input[p + 1]! << 8) | (input[p + 2]! << 16);
      p += 3;
      last = header & 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw new Corrupt('reserved block type');
      if (size > ZSTD_MAX_BLOCK) throw new Corrupt(`a block of ${size} bytes, over the format's ${ZSTD_MAX_BLOCK}`);
      if (type === 2) compressedBlocks++;
      else exact += size;
      if (exact > declared) throw tooBig(declared);
      p += type === 1 ? 1 : size;
      if (p > input.length) throw new Corrupt('the frame is cut short');
    }
    if ((descriptor >> 2) & 1) p += 4; // content checksum, which libzstd checks
    if (p > input.length) throw new Corrupt('the frame is cut short');
    at = p;
  }
  if (at === 0) throw new Corrupt('no Zstandard frame');
  if (allStated && stated < declared)
    throw new Corrupt(`its frame headers say ${stated} bytes, not the ${declared} bytes its page header declares`);
  if (exact + compressedBlocks * ZSTD_MAX_BLOCK < declared)
    throw new Corrupt(
      `its blocks hold at most ${exact + compressedBlocks * ZSTD_MAX_BLOCK} bytes, not the ${declared} bytes its page header declares`,
    );
  // zstddec asks libzstd for the frame's own size when given 0; an empty page needs no decoding.
  if (declared === 0) return new Uint8Array(0);
  if (!zstdLoaded) throw new Error('the ZSTD decoder is not loaded (loadZstd)');
  const out = zstd.decode(input, declared);
  // On an error libzstd returns a negative code, and zstddec an empty array.
  if (out.length === 0) throw new Inflation(`libzstd could not decode it into the ${declared} bytes its page header declares`);
  return out;
}

/**
 * Decoded length of one LZ4 block (the LZ4 block format: sequences of literals and a match, the
 * last one literals only), read from its tokens without copying anything. Throws Inflation as
 * soon as the length passes `limit`, so the walk's time is bounded by the input's size. The
 * checks are those of a safe LZ4 decoder: no read past the block, no match before the output's
 * start.
 */
function lz4BlockLength(input: Uint8Array, start: number, end: number, limit: number, declared: number): number {
  let i = start;
  let length = 0;
  const extended = (n: number): number => {
    if (n !== 15) return n;
    for (;;) {
      if (i >= end) throw new Corrupt('the block is cut short');
      const b = input[i++]!;
      n += b;
      if (b !== 255) return n;
    }
  };
  while (i < end) {
    const token = input[i++]!;
    const literals = extended(token >> 4);
    if (i + literals > end) throw new Corrupt('the block is cut short');
    i += literals;
    length += literals;
    if (length > limit) throw tooBig(declared);
    if (i === end) break;
    if (i + 2 > end) throw new Corrupt('the block is cut short');
    const offset = input[i]! | (input[i + 1]! << 8);
    i += 2;
    if (offset === 0 || offset > length) throw new Corrupt(`a match ${offset} bytes back, before the start of the data`);
    length += extended(token & 15) + 4;
    if (length > limit) throw tooBig(declared);
  }
  return length;
}

/** LZ4_RAW pages: one LZ4 block, checked by lz4BlockLength, then decoded by the library. */
function unlz4Raw(input: Uint8Array, declared: number): Uint8Array {
  const length = lz4BlockLength(input, 0, input.length, declared, declared);
  if (length !== declared) throw new Corrupt(`it holds ${length} bytes, not the ${declared} bytes its page header declares`);
  return decompressLz4Raw(input, declared);
}

/**
 * LZ4 pages (the deprecated codec): Hadoop's framing, a sequence of [4-byte big-endian decoded
 * size, 4-byte big-endian block size, LZ4 block], which parquet-mr and Arrow write; when the bytes
 * do not parse as that framing exactly, one bare LZ4 block, as Arrow falls back to reading them.
 */
function unlz4Hadoop(input: Uint8Array, declared: number): Uint8Array {
  const frames: { start: number; end: number; size: number }[] = [];
  let at = 0;
  let total = 0;
  while (at + 8 <= input.length) {
    const view = new DataView(input.buffer, input.byteOffset + at, 8);
    const size = view.getUint32(0);
    const blockBytes = view.getUint32(4);
    if (blockBytes > input.length - at - 8 || total + size > declared) break;
    frames.push({ start: at + 8, end: at + 8 + blockBytes, size });
    total += size;
    at += 8 + blockBytes;
  }
  if (at !== input.length || total !== declared || frames.length === 0) return unlz4Raw(input, declared);
  const out = new Uint8Array(declared);
  let o = 0;
  for (const { start, end, size } of frames) {
    const length = lz4BlockLength(input, start, end, size, declared);
    if (length !== size) throw new Corrupt(`a Hadoop LZ4 block holds ${length} bytes, not the ${size} bytes its frame declares`);
    out.set(decompressLz4Raw(input.subarray(start, end), size), o);
    o += size;
  }
  return out;
}
