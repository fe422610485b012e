/**
 * A minimal reader of Thrift's compact protocol, enough to read Parquet page headers ahead of
 * hyparquet (parquet-pages.ts). hyparquet's own reader is internal to the package, and a page
 * header is untrusted input: this one bounds nesting and never reads past its buffer.
 */

/** A struct's fields by id; nested structs are ThriftStructs, lists arrays, integers numbers. */
export type ThriftStruct = Map<number, unknown>;

/** Deeper nesting than any Parquet header has; a crafted header nested deeper would overflow the stack. */
const MAX_DEPTH = 32;

/** Reads one struct from `bytes` at `offset`; returns it and the offset just past it. Throws Error on bad input. */
export function readThriftStruct(bytes: Uint8Array, offset: number): { struct: ThriftStruct; end: number } {
  const r = { bytes, at: offset };
  const struct = readStruct(r, 0);
  return { struct, end: r.at };
}

type Cursor = { readonly bytes: Uint8Array; at: number };

function byte(r: Cursor): number {
  if (r.at >= r.bytes.length) throw new Error('page header runs past the end of the column chunk');
  return r.bytes[r.at++]!;
}

/** An unsigned LEB128 varint, as a number (exact to 2^53, which covers every size we compare). */
function varint(r: Cursor): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const b = byte(r);
    result += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return result;
    scale *= 128;
  }
  throw new Error('varint longer than 10 bytes');
}

function zigzag(r: Cursor): number {
  const n = varint(r);
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

function skip(r: Cursor, n: number): void {
  if (n < 0 || r.at + n > r.bytes.length) throw new Error('page header runs past the end of the column chunk');
  r.at += n;
}

function readStruct(r: Cursor, depth: number): ThriftStruct {
  if (depth > MAX_DEPTH) throw new Error(`page header nested deeper than ${MAX_DEPTH}`);
  const fields: ThriftStruct = new Map();
  let id = 0;
  for (;;) {
    const head = byte(r);
    const type = head & 0x0f;
    if (type === 0) return fields;
    const delta = head >> 4;
    id = delta === 0 ? zigzag(r) : id + delta;
    fields.set(id, readValue(r, type, depth));
  }
}

function readValue(r: Cursor, type: number, depth: number): unknown {
  switch (type) {
    case 1:
      return true;
    case 2:
      return false;
    case 3:
      return byte(r);
    case 4:
    case 5:
    case 6:
      return zigzag(r);
    case 7:
      skip(r, 8);
      return undefined;
    case 8: {
      const n = varint(r);
      skip(r, n);
      return undefined;
    }
    case 9:
    case 10: {
      const head = byte(r);
      const size = head >> 4 === 15 ? varint(r) : head >> 4;
      const out: unknown[] = [];
      // Every element is at least one byte, so a size past the buffer ends at the bounds check.
      for (let i = 0; i < size; i++)
        out.push((head & 0x0f) === 1 || (head & 0x0f) === 2 ? byte(r) === 1 : readValue(r, head & 0x0f, depth + 1));
      return out;
    }
    case 11: {
      const size = varint(r);
      if (size === 0) return undefined;
      const kv = byte(r);
      for (let i = 0; i < size; i++) {
        readValue(r, kv >> 4, depth + 1);
        readValue(r, kv & 0x0f, depth + 1);
      }
      return undefined;
    }
    case 12:
      return readStruct(r, depth + 1);
    default:
      throw new Error(`bad thrift type ${type}`);
  }
}
