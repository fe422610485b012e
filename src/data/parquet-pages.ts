/**
 * Reads the page headers of a row group's requested column chunks before hyparquet decodes them,
 * and refuses the group when decoding would take memory far beyond the file's size. hyparquet
 * trusts page headers: it allocates `uncompressed_page_size` bytes for each page and arrays of
 * `num_values` entries, and keeps reading a list column's pages to the end of its chunk. So a
 * 420-byte file (one list cell of 10M dictionary-encoded elements) took 645 MB, and a page
 * claiming more values or bytes than a machine has ended the process instead of naming the file.
 * Walking the headers costs nothing extra: the chunk's bytes are already fetched for the decode.
 */
import { DataError } from './errors.ts';
import { type ThriftStruct, readThriftStruct } from './thrift-compact.ts';

/**
 * Largest page once decompressed. Arrow, parquet-mr and Spark cut pages at about 1 MiB, but DuckDB
 * writes a row group's column chunk as one page until its values take 10^8 bytes (DuckDB's
 * MAX_UNCOMPRESSED_PAGE_SIZE; its levels come on top): in its default groups of 122,880 rows, a
 * list of 40 ids of 12 characters a row is one page of 79 MB, 100 ids of 8 characters a page of
 * 107 MB (measured, DuckDB 1.5.6). A bigger claim is a decompression bomb or a lie (hyparquet
 * allocates the claimed size up front).
 */
export const MAX_PAGE_BYTES = 128 << 20;

/**
 * Most values (including nulls and every list element) decoded from one row group over the
 * requested columns. The decode costs roughly 50 bytes a value (hyparquet's level arrays and the
 * values), so this bounds a row group's decode near 3 GB; a group of 2^20 rows (pyarrow's default)
 * with 14 columns and lists of 32 elements stays under it.
 */
export const MAX_ROW_GROUP_VALUES = 1 << 26;

/**
 * Most elements per list cell, on average over a row group: checked from the page headers before
 * the decode, so one cell of a million elements in a small group is refused. Lists are cut to a
 * feature's `maxLength` after the read, far below this.
 */
export const MAX_LIST_LENGTH = 1 << 16;

/** One requested column chunk of a row group: where its bytes are and how its values are laid out. */
export interface ChunkToCheck {
  readonly column: string;
  readonly list: boolean;
  readonly start: number;
  readonly bytes: Uint8Array;
}

/**
 * The page types of the Parquet thrift (PageType) that carry a value count, each with the field id
 * of its sub-header, whose field 1 is the count.
 */
const COUNTED_PAGES: ReadonlyMap<number, { readonly header: number; readonly dictionary: boolean }> = new Map([
  [0, { header: 5, dictionary: false }],
  [2, { header: 7, dictionary: true }],
  [3, { header: 8, dictionary: false }],
]);

/**
 * Throws a DataError naming the file and column when a chunk's page headers are malformed or
 * break a limit above, or when a flat column's pages do not hold exactly the row group's rows.
 */
export function checkRowGroupPages(uri: string, group: number, rows: number, chunks: readonly ChunkToCheck[]): void {
  let total = 0;
  for (const chunk of chunks) {
    const values = chunkValues(uri, group, chunk);
    const fail = (message: string): never => {
      throw new DataError({ source: uri, column: chunk.column }, `row group ${group}: ${message}`);
    };
    if (!chunk.list && values !== rows) fail(`corrupt Parquet data: the pages hold ${values} values for ${rows} rows`);
    if (chunk.list && values > rows * MAX_LIST_LENGTH)
      fail(`${values} list elements in ${rows} rows, over the limit of ${MAX_LIST_LENGTH} elements per list`);
    total += values;
    if (total > MAX_ROW_GROUP_VALUES)
      fail(
        `the requested columns hold more than ${MAX_ROW_GROUP_VALUES} values in this row group, over the limit (write the file with smaller row groups)`,
      );
  }
}

/** Sum of the data pages' value counts of one chunk, checking each header on the way. */
function chunkValues(uri: string, group: number, chunk: ChunkToCheck): number {
  const { bytes } = chunk;
  let at = 0;
  let values = 0;
  while (at < bytes.length) {
    const where = `row group ${group}, page at byte ${chunk.start + at}`;
    const fail = (message: string): never => {
      throw new DataError({ source: uri, column: chunk.column }, `${where}: ${message}`);
    };
    let header: ThriftStruct;
    try {
      const read = readThriftStruct(bytes, at);
      header = read.struct;
      at = read.end;
    } catch (err) {
      return fail(`corrupt Parquet page header: ${err instanceof Error ? err.message : String(err)}`);
    }
    const type = header.get(1);
    const uncompressed = header.get(2);
    const compressed = header.get(3);
    if (typeof compressed !== 'number' || compressed < 0 || at + compressed > bytes.length)
      fail(`corrupt Parquet page header: compressed size ${String(compressed)} runs past the column chunk`);
    if (typeof uncompressed !== 'number' || uncompressed < 0)
      fail(`corrupt Parquet page header: uncompressed size ${String(uncompressed)}`);
    if ((uncompressed as number) > MAX_PAGE_BYTES)
      fail(`a page of ${uncompressed} bytes once decompressed, over the limit of ${MAX_PAGE_BYTES} bytes per page`);
    at += compressed as number;
    const counted = typeof type === 'number' ? COUNTED_PAGES.get(type) : undefined;
    const sub = counted && header.get(counted.header);
    if (!counted || sub === undefined) continue;
    const count = sub instanceof Map ? sub.get(1) : undefined;
    if (typeof count !== 'number' || count < 0) fail(`corrupt Parquet page header: value count ${String(count)}`);
    // A dictionary holds at most one entry per value of the chunk; its memory is that of a data page.
    if (counted.dictionary) {
      if ((count as number) > MAX_ROW_GROUP_VALUES) fail(`a dictionary of ${count} entries, over the limit of ${MAX_ROW_GROUP_VALUES}`);
      continue;
    }
    values += count as number;
    if (values > MAX_ROW_GROUP_VALUES)
      fail(
        `more than ${MAX_ROW_GROUP_VALUES} values in one column of a row group, over the limit (write the file with smaller row groups)`,
      );
  }
  return values;
}
