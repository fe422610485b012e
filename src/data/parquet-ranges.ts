/**
 * The Parquet range reader: fetches a row group's requested column chunks in a few large range
 * reads (merged across small gaps, prefetched while the previous group decodes) and serves
 * hyparquet's many small reads from them.
 */
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import type { BlobStore } from '../storage/blob-store.ts';
import { StoragePreconditionError } from '../storage/errors.ts';
import { fileReplacedError } from './errors.ts';

/** Requested column chunks closer than this are fetched in one range read. */
const MERGE_GAP_BYTES = 1 << 20;

export type ByteSpan = { start: number; end: number };
export type FetchedSpan = { readonly start: number; readonly end: number; readonly bytes: Promise<Uint8Array> };

/** Byte spans of the requested columns' chunks in one row group, merged across small gaps. */
export function groupSpans(group: FileMetaData['row_groups'][number], columnNames: readonly string[]): ByteSpan[] {
  const wanted = new Set(columnNames);
  const spans: ByteSpan[] = [];
  for (const chunk of group.columns) {
    const meta = chunk.meta_data;
    if (!meta || !wanted.has(meta.path_in_schema[0] ?? '')) continue;
    const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
    spans.push({ start, end: start + Number(meta.total_compressed_size) });
  }
  spans.sort((a, b) => a.start - b.start);
  const merged: ByteSpan[] = [];
  for (const s of spans) {
    const last = merged.at(-1);
    if (last && s.start - last.end <= MERGE_GAP_BYTES) last.end = Math.max(last.end, s.end);
    else merged.push({ ...s });
  }
  return merged;
}

/**
 * Serves hyparquet's many small reads from a few large prefetched ranges, so a row group costs
 * one (or a few) range reads on S3 instead of one per page or column.
 */
export class SpanReader {
  readonly #store: BlobStore;
  readonly #uri: string;
  readonly #byteLength: number;
  readonly #etag: string | undefined;

  /** @param etag the version listed: every range is read from it, or the read fails (LogFile.etag) */
  constructor(store: BlobStore, uri: string, byteLength: number, etag?: string) {
    this.#store = store;
    this.#uri = uri;
    this.#byteLength = byteLength;
    this.#etag = etag;
  }

  /** One range of the listed version; a replaced file is a DataError saying so. */
  async #read(start: number, end: number): Promise<Uint8Array> {
    try {
      return await this.#store.readRange(this.#uri, start, end, this.#etag === undefined ? {} : { ifMatch: this.#etag });
    } catch (e) {
      if (!(e instanceof StoragePreconditionError)) throw e;
      throw fileReplacedError(this.#uri, e);
    }
  }

  prefetch(spans: readonly ByteSpan[]): FetchedSpan[] {
    return spans.map((s) => {
      const bytes = this.#read(s.start, s.end);
      // A prefetch whose group is never decoded (an earlier error) must not be an unhandled rejection.
      bytes.catch(() => undefined);
      return { start: s.start, end: s.end, bytes };
    });
  }

  /** Drops references so the bytes can be collected (the promises may still be held by hyparquet briefly). */
  release(spans: FetchedSpan[]): void {
    spans.length = 0;
  }

  /** Bytes [start, stop) as a view into a fetched span when one holds them, else one range read. */
  async bytes(spans: readonly FetchedSpan[], start: number, stop: number): Promise<Uint8Array> {
    const span = spans.find((s) => s.start <= start && stop <= s.end);
    return span ? (await span.bytes).subarray(start - span.start, stop - span.start) : await this.#read(start, stop);
  }

  asyncBuffer(spans: readonly FetchedSpan[]): AsyncBuffer {
    return {
      byteLength: this.#byteLength,
      slice: async (start: number, end?: number): Promise<ArrayBuffer> => {
        const bytes = await this.bytes(spans, start, end ?? this.#byteLength);
        // hyparquet wants an ArrayBuffer of exactly these bytes; the copy is a memcpy, far cheaper than decoding.
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      },
    };
  }
}
