/**
 * Human-facing progress/status lines for the CLI and the local runner, on stderr so stdout stays
 * clean for --json output. (Lambdas log through Powertools instead.)
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  /** Something failed that the user must act on (printed whatever `quiet` says, marked ERROR). */
  error(message: string): void;
}

export function consoleLogger(options: { quiet?: boolean } = {}): Logger {
  const stamp = () => new Date().toISOString().slice(11, 19);
  return {
    info: (m) => {
      if (!options.quiet) process.stderr.write(`${stamp()} ${m}\n`);
    },
    warn: (m) => process.stderr.write(`${stamp()} WARN ${m}\n`),
    error: (m) => process.stderr.write(`${stamp()} ERROR ${m}\n`),
  };
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
