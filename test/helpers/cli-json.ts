/** Runs the real `wdp` command parser in this process and returns its `--json` output. */
import { buildCli } from '../../cli/main.ts';

/**
 * Runs `wdp …args` (the caller adds `--json` and the bucket options) and parses what it printed on
 * stdout; stderr (progress, notes) is dropped. stdout/stderr are restored whatever happens.
 */
export async function wdpJson(args: readonly string[]): Promise<unknown> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  const errWrite = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await buildCli().parseAsync(['node', 'wdp', ...args]);
  } finally {
    process.stdout.write = write;
    process.stderr.write = errWrite;
  }
  return JSON.parse(out) as unknown;
}
