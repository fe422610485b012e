/** What the commands share: option parsers, the default stack name, the two output channels, output files. */
import { statSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { FileStore } from '../src/storage/file-store.ts';
import { WdpError } from '../src/util/errors.ts';
import { escapeControls, jsonText, quoted } from '../src/util/terminal-text.ts';

/** The CloudFormation stack `--remote` commands look in by default (cdk/app.ts names it). */
export const DEFAULT_STACK = 'Wdp';

/** An option parser for integers ≥ `min` (and ≤ `max`, when given), naming the option when the value is not one. */
export function int(name: string, min = 1, max?: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || (max !== undefined && n > max))
      throw new InvalidArgumentError(
        max === undefined
          ? `${name} must be an integer ≥ ${min}, got "${v}"`
          : `${name} must be an integer from ${min} to ${max}, got "${v}"`,
      );
    return n;
  };
}

/**
 * The option parser of `--plot <file.svg>`: a plot replaces whatever is at its path (re-running a
 * command redraws it), so the path must name an SVG file. `wdp train --plot wdp.config.json`, a
 * slip of the shell history, would otherwise replace the config with a picture.
 */
export function svgPath(v: string): string {
  if (!/\.svg$/i.test(v)) throw new InvalidArgumentError(`must name an .svg file (it is replaced if there), got ${quoted(v)}`);
  return v;
}

/** Machine-readable output: JSON on stdout, with no raw DEL or C1 control in it (jsonText). */
export function printJson(value: unknown): void {
  process.stdout.write(`${jsonText(value)}\n`);
}

/**
 * Human-readable output: one line on stderr, its control characters escaped (a token, file name
 * or model id from data must not drive the terminal; src/util/terminal-text.ts).
 */
export function say(line: string): void {
  process.stderr.write(`${escapeControls(line)}\n`);
}

/**
 * Writes a file the user named (a plot), creating its folder first (`--plot plots/x.svg` must not
 * fail on a new folder), through a temp file renamed into place: a command killed mid-write
 * leaves the previous plot or none, never half an SVG.
 */
export async function writeOutputFile(path: string, content: string): Promise<void> {
  await new FileStore().write(path, content);
}

/**
 * A local `--bucket` folder, checked to exist: the operator commands read a missing folder as an
 * empty bucket ("no runs yet", "no promoted model yet"), so a mistyped path looked like a bucket
 * where nothing had happened. S3 URIs are returned as given (their commands name a missing bucket).
 */
export function existingBucket(bucket: string): string {
  if (bucket.startsWith('s3://')) return bucket;
  let isDir: boolean;
  try {
    isDir = statSync(bucket).isDirectory();
  } catch {
    throw new WdpError(
      `--bucket ${quoted(bucket)}: no such folder (\`npm start\` creates the default .wdp/bucket; give --bucket the folder your runs use)`,
    );
  }
  if (!isDir) throw new WdpError(`--bucket ${quoted(bucket)}: not a folder`);
  return bucket;
}
