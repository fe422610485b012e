/**
 * The one way raw cells become categorical tokens and numbers, whatever they come from: the log
 * reader (Parquet values, CSV text), a JSON scoring request (numbers, booleans, strings), or the
 * hash split. Fit, encode, the reader and the split all call `cellToToken`, so `7`, `7n` and `'7'`
 * are one token and a model trained on Parquet scores a JSON request identically.
 */
import type { Cell } from './row-chunk.ts';

const utf8 = new TextDecoder();

/**
 * Canonical token of a categorical cell, or null when the cell is missing.
 *
 * - strings as they are (CSV text and Parquet strings are never reinterpreted: `'007'` stays);
 * - bigints in decimal;
 * - numbers via String(), except integers of magnitude ≥ 1e21, which String() would write as
 *   `1e+21`: they are written in plain decimal (`1000000000000000000000`), the exact value;
 * - booleans `'true'` / `'false'`;
 * - NaN, null and undefined are missing: NaN is how numeric columns carry null, so a value that
 *   is missing when its column is read as numeric is missing when it is read as categorical;
 * - bytes (a Parquet BYTE_ARRAY without a string annotation) as UTF-8 text, dates as ISO 8601;
 * - lists and other objects are not one token: missing (list features take their elements one
 *   by one).
 *
 * Why plain decimal for big integers: saved vocabularies hold the tokens fit saw, and fit sees
 * what the log reader hands it. The reader has always written these numbers in plain decimal
 * (Parquet DOUBLE columns read as categorical), while JSON requests went through a `String(v)`
 * that gave `1e+21`, so such a request missed the trained token. Keeping the reader's form keeps
 * every stored token reachable; only the request side changes.
 *
 * @example cellToToken(7) === cellToToken(7n) && cellToToken(7n) === '7'
 * @example cellToToken(1e21) === '1000000000000000000000'
 */
export function cellToToken(v: unknown): string | null {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      if (Number.isNaN(v)) return null;
      return Number.isInteger(v) && Math.abs(v) >= 1e21 ? BigInt(v).toString() : String(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      if (v instanceof Uint8Array) return utf8.decode(v);
      if (v instanceof Date) return v.toISOString();
      return null;
    default:
      return null;
  }
}

/**
 * A numeric cell as a number, or NaN when missing (null/undefined/NaN, or an empty string),
 * or undefined when it is not a number at all (a non-numeric string, an array, ±Infinity).
 */
export function cellToNumber(v: Cell): number | undefined {
  switch (typeof v) {
    case 'number':
      if (Number.isNaN(v)) return NaN;
      return Number.isFinite(v) ? v : undefined;
    case 'bigint':
      return Number(v);
    case 'boolean':
      return v ? 1 : 0;
    case 'string': {
      // Number('') and Number('  ') are 0; an empty CSV cell is missing, not zero.
      if (v.trim() === '') return NaN;
      const n = Number(v);
      return Number.isFinite(n) ? n : undefined;
    }
    default:
      return v === null || v === undefined ? NaN : undefined;
  }
}
