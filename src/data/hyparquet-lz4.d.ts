/**
 * Types for the one module of hyparquet-compressors wdp imports on its own (parquet-codecs.ts):
 * the package types only its index, which loads every codec.
 */
declare module 'hyparquet-compressors/src/lz4.js' {
  /** One bare LZ4 block decoded into `outputLength` bytes. */
  export function decompressLz4Raw(input: Uint8Array, outputLength: number): Uint8Array;
}
