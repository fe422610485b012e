/**
 * Checks a Parquet footer's numbers before anything is read or allocated from them. hyparquet
 * trusts the footer: a row count of 2^40 or -5 became a raw RangeError from a typed-array
 * allocation (no file named), a chunk offset past the end of the file read as an empty chunk and
 * gave every row NaN without a word, a negative offset became a storage error. A footer is
 * attacker-controlled input like any other byte of the file, so each number that sizes an
 * allocation or a read is checked here, with an error naming the file and the row group.
 */
import type { FileMetaData } from 'hyparquet';
import { DataError } from './errors.ts';
import { READABLE_CODECS } from './parquet-codecs.ts';

/**
 * Most rows in one row group. The reader decodes a row group whole (memory ∝ its rows), and a
 * footer may claim any count: an all-constant column of 2^30 rows is a few bytes on disk. 2^24
 * (16,777,216) is 16 times what pyarrow writes by default (2^20 rows per group) and Spark's 128 MB
 * groups rarely hold more than a few million rows.
 */
export const MAX_ROW_GROUP_ROWS = 1 << 24;

/**
 * The codecs the reader decompresses (parquet-codecs.ts), checked here so that a file in another
 * one (LZO) is refused by Ingest's footer check, not half-way through a training run's decode.
 */
const READABLE: ReadonlySet<string> = new Set(READABLE_CODECS);

/**
 * Throws a DataError naming `uri` when the footer's row counts or the requested columns' chunk
 * byte ranges are impossible: negative, not integers, row groups that do not add up to the file's
 * count, a row group over MAX_ROW_GROUP_ROWS, a chunk outside the file's data (between the
 * 4-byte magic and the footer) or sharing bytes with another requested chunk, or compressed with
 * a codec the reader has no decompressor for.
 */
export function checkParquetFooter(uri: string, metadata: FileMetaData, fileBytes: number, columnNames: readonly string[]): void {
  const fail = (message: string, column?: string): never => {
    throw new DataError(column === undefined ? { source: uri } : { source: uri, column }, `corrupt Parquet footer: ${message}`);
  };
  const total = count(metadata.num_rows);
  if (total === undefined) fail(`the file's row count ${metadata.num_rows} is not a count`);
  let sum = 0;
  const dataEnd = fileBytes - 8 - metadata.metadata_length;
  const wanted = new Set(columnNames);
  const chunks: { start: number; end: number; group: number; name: string }[] = [];
  metadata.row_groups.forEach((group, g) => {
    const rows = count(group.num_rows);
    if (rows === undefined) fail(`row group ${g} has a row count of ${group.num_rows}`);
    else if (rows > MAX_ROW_GROUP_ROWS)
      fail(
        `row group ${g} has ${rows} rows, over the limit of ${MAX_ROW_GROUP_ROWS} per row group (write the file with smaller row groups)`,
      );
    sum += rows ?? 0;
    for (const chunk of group.columns) {
      const meta = chunk.meta_data;
      if (!meta || !wanted.has(meta.path_in_schema[0] ?? '')) continue;
      const start = count(meta.dictionary_page_offset || meta.data_page_offset);
      const size = count(meta.total_compressed_size);
      const name = meta.path_in_schema.join('.');
      if (!READABLE.has(meta.codec))
        // Not corrupt, unsupported: the message says so.
        throw new DataError(
          { source: uri, column: name },
          `row group ${g}: the chunk is compressed with ${meta.codec}, which wdp cannot read (wdp reads ${READABLE_CODECS.join(', ')}: write the file with one of them)`,
        );
      if (start === undefined || size === undefined || start < 4 || start + size > dataEnd)
        fail(
          `row group ${g}: the chunk's bytes [${meta.dictionary_page_offset || meta.data_page_offset}, +${meta.total_compressed_size}) are not inside the file's data [4, ${dataEnd})`,
          name,
        );
      chunks.push({ start: start!, end: start! + size!, group: g, name });
    }
  });
  if (sum !== total) fail(`the row groups hold ${sum} rows but the file says ${total}`);
  // Every chunk has bytes of its own. A footer that lists one row group many times passes every
  // check above yet claims rows the file does not hold: a 25 MB file listing its one row group
  // 20,000 times claimed 10^9 rows and kept batch scoring busy for hours on the same 50,000.
  chunks.sort((a, b) => a.start - b.start || a.group - b.group);
  let reach: (typeof chunks)[number] | undefined;
  for (const c of chunks) {
    if (reach && c.start < reach.end)
      fail(
        `row group ${c.group}: the chunk's bytes [${c.start}, +${c.end - c.start}) overlap those of row group ${reach.group}'s chunk of ${reach.name}: the chunks of a file never share bytes (a footer listing a row group more than once claims rows the file does not hold)`,
        c.name,
      );
    if (!reach || c.end > reach.end) reach = c;
  }
}

/**
 * Deepest nesting of groups in a file's schema. hyparquet builds its schema tree recursively and
 * copies each node's path from its parent's: 5,000 nested groups (a 50 KB footer) took 12 s and
 * 570 MB, deeper ones overflow the stack. Real schemas nest a few levels (a list of structs is 4).
 */
export const MAX_SCHEMA_DEPTH = 64;

/** Most elements (columns and groups) in a file's schema: 100,000 is far beyond any log table. */
export const MAX_SCHEMA_ELEMENTS = 100_000;

/**
 * Throws a DataError naming `uri` when the schema is too large or too deep to build safely, or
 * when its children counts do not describe exactly its element list (hyparquet would read past it
 * and fail with a TypeError naming nothing). Walks the flat list without recursion.
 */
export function checkParquetSchemaShape(uri: string, metadata: FileMetaData): void {
  const fail = (message: string): never => {
    throw new DataError({ source: uri }, `corrupt Parquet footer: ${message}`);
  };
  const { schema } = metadata;
  if (schema.length > MAX_SCHEMA_ELEMENTS) fail(`the schema has ${schema.length} elements, over the limit of ${MAX_SCHEMA_ELEMENTS}`);
  // Children still to come at each open level; the root is the first element.
  const open: number[] = [];
  for (let i = 0; i < schema.length; i++) {
    if (i > 0 && open.length === 0) fail(`the schema has ${schema.length - i} element(s) after the root's children`);
    const children = schema[i]!.num_children ?? 0;
    if (!Number.isSafeInteger(children) || children < 0) fail(`schema element ${i} has ${children} children`);
    if (open.length > 0) open[open.length - 1]!--;
    if (children > 0) {
      open.push(children);
      if (open.length > MAX_SCHEMA_DEPTH) fail(`the schema nests deeper than ${MAX_SCHEMA_DEPTH} levels`);
    }
    while (open.length > 0 && open.at(-1) === 0) open.pop();
  }
  if (open.length > 0) fail('the schema ends before its groups have all their children');
}

/** A footer integer as a number when it is a non-negative safe integer (thrift gives number or bigint). */
function count(v: bigint | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
