/**
 * Turning raw cells into categorical tokens and numbers, the same way for every source:
 * the log reader gives strings / Float64Array (NaN = null), while a JSON scoring request gives
 * plain JS numbers, bigints, booleans and strings. Canonical strings make `7`, `7n` and `'7'`
 * the same token, so a model trained on Parquet scores a JSON request identically.
 */
import type { Cell } from '../data/row-chunk.ts';

/**
 * Canonical token of a categorical cell, or null when missing.
 * Strings as-is; integers and bigints in decimal; other numbers via String(); booleans
 * 'true'/'false'; NaN (the reader's null in numeric arrays) is missing.
 */
export function cellToToken(v: unknown): string | null {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      // NaN is how typed numeric columns carry null.
      return Number.isNaN(v) ? null : String(v);
    case 'bigint':
      return v.toString(10);
    case 'boolean':
      return v ? 'true' : 'false';
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
