import { WdpError } from '../util/errors.ts';
import { quoted } from '../util/terminal-text.ts';

export interface DataErrorContext {
  /** URI of the file. */
  readonly source: string;
  /** Column at fault, when one is. */
  readonly column?: string;
  /** Row index within the file (0-based, data rows only), when one row is at fault. */
  readonly row?: number;
  /**
   * 1-based line of a text file (CSV: the header is line 1), when one line is at fault. Named in
   * the message instead of `row`: it is the number an editor shows, and a quoted field may span
   * lines, so the row index alone does not find the record.
   */
  readonly line?: number;
}

/**
 * Bad log data: a file that is not Parquet/CSV, empty, missing a column, a column of the wrong
 * type, or a bad value. The message always names the file, and the column/row when known.
 */
export class DataError extends WdpError {
  readonly source: string;
  readonly column: string | undefined;
  readonly row: number | undefined;
  readonly line: number | undefined;
  constructor(context: DataErrorContext, message: string, options?: ErrorOptions) {
    const where = [
      context.source,
      // The column may be a file's own (a CSV header, a Parquet schema): quoted, as data.
      context.column ? `column ${quoted(context.column)}` : '',
      context.line !== undefined ? `line ${context.line}` : context.row !== undefined ? `row ${context.row}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    super(`${where}: ${message}`, options);
    this.source = context.source;
    this.column = context.column;
    this.row = context.row;
    this.line = context.line;
  }
}

/**
 * A log file replaced after it was listed, found by a read pinned to the listed version (etag):
 * the run stops rather than train on a mix of two versions.
 */
export function fileReplacedError(uri: string, cause: unknown): DataError {
  return new DataError(
    { source: uri },
    'the file was replaced while it was being read (another process rewrote it): stopped rather than read a mix of two versions; run again once it is no longer being written',
    { cause },
  );
}
