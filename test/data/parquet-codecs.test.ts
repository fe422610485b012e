import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { brotliCompressSync, deflateSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { type CompressionCodec, parquetMetadata } from 'hyparquet';
import type { DataError } from '../../src/data/errors.ts';
import { checkLogFile } from '../../src/data/logs.ts';
import { READABLE_CODECS } from '../../src/data/parquet-codecs.ts';
import { MAX_PAGE_BYTES } from '../../src/data/parquet-pages.ts';
import type { ColumnRequirement, RowChunk } from '../../src/data/row-chunk.ts';
import { CODEC_ROW_GROUP_SIZE, CODEC_ROWS, codecColumns } from '../fixtures/parquet-codecs/columns.ts';
import { type WriteParquetOptions, encodeParquet } from '../helpers/parquet-write.ts';
import { collect, freshFolders, isDataError, oneFile } from '../helpers/log-fixtures.ts';

const fresh = freshFolders();
const fixtures = join(import.meta.dirname, '..', 'fixtures', 'parquet-codecs');
const NEW_CODECS = ['GZIP', 'ZSTD', 'BROTLI', 'LZ4', 'LZ4_RAW'] as const;

const REQUIRE: ColumnRequirement[] = [
  { name: 'user', kind: 'string' },
  { name: 'country', kind: 'string' },
  { name: 'tags', kind: 'list' },
  { name: 'x', kind: 'numeric' },
  { name: 'f', kind: 'numeric' },
  { name: 'y', kind: 'label' },
  { name: 'n', kind: 'numeric' },
  { name: 'flag', kind: 'numeric' },
];

/** Every row of the requested columns, as plain arrays, across the chunks. */
function rows(chunks: readonly RowChunk[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const c of chunks)
    for (const [name, values] of c.columns) {
      const column = out[name] ?? [];
      column.push(...Array.from(values as ArrayLike<unknown>));
      out[name] = column;
    }
  return out;
}

async function readAll(uri: string, columns = REQUIRE): Promise<Record<string, unknown[]>> {
  return rows(await collect(await oneFile(uri), columns));
}

/** The codec each column chunk of a file is written in. */
async function codecsOf(uri: string): Promise<Set<string>> {
  const bytes = await readFile(uri);
  const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return new Set(meta.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data!.codec)));
}

describe('Parquet codecs beyond SNAPPY (parquet-codecs.ts)', () => {
  it('reads each codec fixture to the same values as the rows written in SNAPPY', async () => {
    const snappy = join(fresh(), 'snappy.parquet');
    await mkdir(join(snappy, '..'), { recursive: true });
    await writeFile(snappy, encodeParquet(snappy, codecColumns(), { rowGroupSize: CODEC_ROW_GROUP_SIZE }));
    const expected = await readAll(snappy);
    assert.equal(expected.user!.length, CODEC_ROWS);
    // The list column holds empty and null lists, the string and number columns nulls.
    assert.ok(expected.tags!.some((t) => t === null) && expected.tags!.some((t) => Array.isArray(t) && t.length === 0));
    assert.ok(expected.user!.includes(null) && expected.x!.some((v) => Number.isNaN(v)));
    for (const codec of NEW_CODECS) {
      const uri = join(fixtures, `${codec.toLowerCase()}.parquet`);
      assert.deepEqual(await codecsOf(uri), new Set([codec]), uri);
      assert.deepEqual(await readAll(uri), expected, codec);
      // The footer check (Ingest's) passes it too.
      await checkLogFile((await oneFile(uri))[0]!, REQUIRE);
    }
    assert.deepEqual(READABLE_CODECS, ['UNCOMPRESSED', 'SNAPPY', ...NEW_CODECS]);
  });

  it('GZIP and BROTLI written now (node:zlib) read back too, and GZIP with a zlib header', async () => {
    const expected = await readAll(join(fixtures, 'gzip.parquet'));
    const cases: [CompressionCodec, (page: Uint8Array) => Uint8Array][] = [
      ['GZIP', (p) => gzipSync(p)],
      // A zlib header instead of gzip's (Arrow reads both).
      ['GZIP', (p) => deflateSync(p)],
      // Two gzip members in one page: a reader must go on past the first.
      ['GZIP', (p) => Buffer.concat([gzipSync(p.subarray(0, 7)), gzipSync(p.subarray(7))])],
      ['BROTLI', (p) => brotliCompressSync(p, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 } })],
    ];
    for (const [codec, compress] of cases) {
      const uri = await writeWith(codec, compress, { rowGroupSize: CODEC_ROW_GROUP_SIZE });
      assert.deepEqual(await readAll(uri), expected, codec);
    }
  });
});

/** A file of one STRING column "country" (a few rows), its pages compressed by `compress`. */
async function writeWith(codec: CompressionCodec, compress: (page: Uint8Array) => Uint8Array, options: WriteParquetOptions = {}) {
  const uri = join(fresh(), `${codec.toLowerCase()}.parquet`);
  await mkdir(join(uri, '..'), { recursive: true });
  // A long value makes the first page a few hundred bytes, room for the 1.4 KB ZSTD bomb (a page's
  // compressed bytes may not exceed what any zstd encoding of its declared size would take).
  const columns = options.rowGroupSize
    ? codecColumns()
    : [{ name: 'country', type: 'STRING' as const, data: ['fr', 'de', 'x'.repeat(600), 'us'] }];
  await writeFile(uri, encodeParquet(uri, columns, { ...options, codec, compressors: { [codec]: compress } }));
  return uri;
}

const MIB16 = 16 << 20;

/** A Zstandard frame of RLE blocks (no content size) inflating to `bytes` zeros, made by hand. */
function zstdRleFrame(bytes: number): Uint8Array {
  const parts = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58])]; // magic, descriptor, 8 MiB window
  for (let left = bytes; left > 0; left -= 128 << 10) {
    const size = Math.min(left, 128 << 10);
    const header = (size << 3) | (1 << 1) | (left <= 128 << 10 ? 1 : 0);
    parts.push(Buffer.from([header & 255, (header >> 8) & 255, (header >> 16) & 255, 0]));
  }
  return Buffer.concat(parts);
}

/** A Zstandard frame of one compressed block: no literals, 98,303 sequences (RLE-coded, match length code 52). */
function zstdSequenceBomb(): Uint8Array {
  const body = [0x00, 0xff, 0xff, 0xff, 0x54, 0x00, 0x00, 52, 0x01];
  const header = (body.length << 3) | (2 << 1) | 1;
  return Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58, header & 255, (header >> 8) & 255, header >> 16, ...body]);
}

/** An LZ4 block inflating to about `bytes`: one literal, then a match of offset 1 repeating it, then 5 literals. */
function lz4Bomb(bytes: number): Uint8Array {
  const out = [0x1f, 0x61, 0x01, 0x00];
  for (let left = bytes - 19; left >= 0; left -= 255) out.push(Math.min(left, 255));
  out.push(0x50, 0x61, 0x61, 0x61, 0x61, 0x61);
  return Buffer.from(out);
}

describe('decompression bombs and corrupt pages, codec by codec', async () => {
  const zstdBomb = await readFile(join(fixtures, 'bomb-16mib.zst'));
  const zeros = Buffer.alloc(MIB16);
  const bombs: [CompressionCodec, string, (page: Uint8Array) => Uint8Array][] = [
    ['GZIP', 'deflate of 16 MiB', () => gzipSync(zeros, { level: 1 })],
    ['BROTLI', 'brotli of 16 MiB', () => brotliCompressSync(zeros, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 1 } })],
    ['ZSTD', 'compressed blocks of 16 MiB, no content size', () => zstdBomb],
    ['ZSTD', 'RLE blocks of 16 MiB', () => zstdRleFrame(MIB16)],
    // 18 bytes: one block of 98,303 sequences of 65,539-byte matches. fzstd (hyparquet-compressors'
    // ZSTD) spent over two minutes on it; libzstd refuses it at once.
    ['ZSTD', 'one 9-byte block of 98,303 long matches', () => zstdSequenceBomb()],
    ['LZ4_RAW', 'one match of 16 MiB', () => lz4Bomb(MIB16)],
    ['LZ4', 'one match of 16 MiB, no Hadoop framing', () => lz4Bomb(MIB16)],
    [
      'LZ4',
      'a Hadoop frame declaring the page size around a 16 MiB block',
      (page) => {
        const block = lz4Bomb(MIB16);
        const head = Buffer.alloc(8);
        head.writeUInt32BE(page.length, 0);
        head.writeUInt32BE(block.length, 4);
        return Buffer.concat([head, block]);
      },
    ],
  ];

  for (const [codec, what, bomb] of bombs) {
    it(`${codec}: a page inflating past its declared size (${what}) fails fast, naming file and column`, async () => {
      const uri = await writeWith(codec, bomb);
      const before = process.memoryUsage().arrayBuffers;
      const t0 = performance.now();
      await assert.rejects(
        readAll(uri, [{ name: 'country', kind: 'string' }]),
        (err: unknown) =>
          isDataError(uri, 'country')(err) &&
          new RegExp(
            `row group 0: ${codec} page: (it inflates to more than|libzstd could not decode it into) the \\d+ bytes its page header declares`,
          ).test((err as DataError).message),
      );
      const ms = performance.now() - t0;
      // Stopped at the declared size: nowhere near the 16 MiB the data inflates to was held.
      assert.ok(
        process.memoryUsage().arrayBuffers - before < 4 << 20,
        `${codec}: arrayBuffers grew by ${process.memoryUsage().arrayBuffers - before}`,
      );
      assert.ok(ms < 2000, `${codec}: ${ms} ms`);
    });
  }

  it('each codec: a page declaring more than MAX_PAGE_BYTES is refused before it is decompressed', async () => {
    // Zigzag varint of the compact protocol.
    const zz = (n: number): number[] => {
      const out: number[] = [];
      let v = 2 * n;
      for (; v >= 128; v = Math.floor(v / 128)) out.push((v % 128) | 128);
      return [...out, v];
    };
    const size = MAX_PAGE_BYTES + 1;
    for (const codec of NEW_CODECS) {
      const uri = join(fresh(), `${codec}-big.parquet`);
      await mkdir(join(uri, '..'), { recursive: true });
      const bytes = Buffer.from(
        encodeParquet(uri, [{ name: 'country', type: 'STRING', data: ['x'.repeat(1 << 20)] }], {
          codec,
          compressors: { [codec]: () => Buffer.from([1, 2, 3]) },
        }),
      );
      const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      const chunk = meta.row_groups[0]!.columns[0]!.meta_data!;
      const at = Number(chunk.dictionary_page_offset || chunk.data_page_offset);
      const total = Number(chunk.total_compressed_size);
      // The chunk's bytes replaced by one page of the same length (so the footer stays right): a
      // DATA_PAGE_V2 header of one value declaring `size` bytes once decompressed, then its bytes.
      const header = (compressed: number) => [0x15, ...zz(3), 0x15, ...zz(size), 0x15, ...zz(compressed), 0x5c, 0x15, ...zz(1), 0x00, 0x00];
      const compressed = total - header(0).length;
      assert.equal(header(compressed).length, header(0).length);
      bytes.set([...header(compressed), ...new Array<number>(compressed).fill(0)], at);
      await writeFile(uri, bytes);
      await assert.rejects(
        readAll(uri, [{ name: 'country', kind: 'string' }]),
        (err: unknown) =>
          isDataError(uri, 'country')(err) &&
          (err as DataError).message.includes(`a page of ${size} bytes once decompressed, over the limit of ${MAX_PAGE_BYTES}`),
      );
    }
  });

  const corrupt: [CompressionCodec, string, (page: Uint8Array) => Uint8Array][] = [
    ['GZIP', 'cut in half', (p) => gzipSync(p).subarray(0, 12)],
    ['GZIP', 'not gzip at all', () => Buffer.from('definitely not deflate data')],
    ['GZIP', 'shorter than declared', (p) => gzipSync(p.subarray(0, p.length - 1))],
    ['BROTLI', 'cut in half', (p) => brotliCompressSync(p).subarray(0, 3)],
    ['BROTLI', 'shorter than declared', (p) => brotliCompressSync(p.subarray(1))],
    ['ZSTD', 'cut short', () => zstdBomb.subarray(0, 700)],
    ['ZSTD', 'not a frame', () => Buffer.from('definitely not zstd data')],
    ['ZSTD', 'RLE blocks shorter than declared', (p) => zstdRleFrame(p.length - 1)],
    ['ZSTD', 'a reserved block type', () => Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58, 0x07, 0x00, 0x00])],
    ['ZSTD', 'more compressed bytes than any encoding of the page', (p) => Buffer.concat([zstdRleFrame(p.length), Buffer.alloc(4096)])],
    ['LZ4_RAW', 'cut in the literals', (p) => Buffer.concat([Buffer.from([0xf0, p.length - 15 + 10]), p.subarray(0, 20)])],
    ['LZ4_RAW', 'a match before the start', () => Buffer.from([0x14, 0x61, 0x09, 0x00, 0x50, 0x61, 0x61, 0x61, 0x61, 0x61])],
    ['LZ4_RAW', 'shorter than declared (literals only)', (p) => Buffer.concat([Buffer.from([0x50]), p.subarray(0, 5)])],
    ['LZ4', 'garbage', () => Buffer.from('definitely not lz4 data at all!')],
  ];
  for (const [codec, what, compress] of corrupt) {
    it(`${codec}: corrupt compressed data (${what}) is a DataError naming file, column and codec`, async () => {
      const uri = await writeWith(codec, compress);
      const t0 = performance.now();
      await assert.rejects(
        readAll(uri, [{ name: 'country', kind: 'string' }]),
        (err: unknown) =>
          isDataError(uri, 'country')(err) && new RegExp(`row group 0: ${codec} page: corrupt`).test((err as DataError).message),
      );
      assert.ok(performance.now() - t0 < 2000);
    });
  }
});

describe('the ZSTD training day (frames without a content size)', () => {
  it('reads the committed ZSTD day to the same rows as the same day in SNAPPY', async () => {
    const { tinyChunk } = await import('../helpers/tiny-data.ts');
    const { writeTinyParquet } = await import('../helpers/tiny-files.ts');
    const snappy = join(fresh(), 'day', 'part-0.parquet');
    await writeTinyParquet(snappy, tinyChunk({ rows: 400, seed: 5 }));
    const columns: ColumnRequirement[] = [
      { name: 'user', kind: 'string' },
      { name: 'item', kind: 'string' },
      { name: 'tags', kind: 'list' },
      { name: 'x', kind: 'numeric' },
      { name: 'y', kind: 'label' },
    ];
    const zstd = join(fresh(), 'day', 'part-0.parquet');
    await mkdir(join(zstd, '..'), { recursive: true });
    await copyFile(join(fixtures, 'tiny-day-zstd.parquet'), zstd);
    assert.deepEqual(await codecsOf(zstd), new Set(['ZSTD']));
    assert.deepEqual(await readAll(zstd, columns), await readAll(snappy, columns));
  });
});
