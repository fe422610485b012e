/**
 * Human-facing progress/status lines for the CLI and the local runner, on stderr so stdout stays
 * clean for --json output. (Lambdas log through Powertools instead.)
 */
import { escapeControls } from './terminal-text.ts';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  /** Something failed that the user must act on (printed whatever `quiet` says, marked ERROR). */
  error(message: string): void;
}

/** Lines on stderr, control characters escaped: messages name tokens, keys and files from data (terminal-text.ts). */
export function consoleLogger(options: { quiet?: boolean } = {}): Logger {
  const stamp = () => new Date().toISOString().slice(11, 19);
  const write = (prefix: string, m: string) => process.stderr.write(`${stamp()} ${prefix}${escapeControls(m)}\n`);
  return {
    info: (m) => {
      if (!options.quiet) write('', m);
    },
    warn: (m) => write('WARN ', m),
    error: (m) => write('ERROR ', m),
  };
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
