/**
 * Runs the PyTorch reference (shared/peers/torch_wide_deep.py) in the same session, so every
 * benchmark reports a ratio measured on the same machine at the same time.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PeerResult {
  readonly engine: string;
  readonly train_examples_per_s: number;
  readonly score_p50_ms: number;
  readonly score_p99_ms: number;
  readonly runs: number;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The peer script: $WDP_PEER_SCRIPT, else ../shared/peers beside the repository. */
export function peerScript(): string | undefined {
  const p = process.env['WDP_PEER_SCRIPT'] ?? resolve(REPO_ROOT, '../shared/peers/torch_wide_deep.py');
  return existsSync(p) ? p : undefined;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function runOnce(script: string, shape: string, args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolvePromise, reject) => {
    const py = process.env['WDP_PEER_PYTHON'] ?? '/usr/bin/python3';
    const child = spawn(py, [script, '--shape', shape, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`peer exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      try {
        resolvePromise(JSON.parse(out.trim().split('\n').pop()!));
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}

/**
 * Median of `runs` peer runs; undefined (with a logged reason) when Python/PyTorch is missing.
 */
export async function runPeer(shape: string, log?: (m: string) => void, runs = 3, args: string[] = []): Promise<PeerResult | undefined> {
  const script = peerScript();
  if (!script) {
    log?.('peer: torch_wide_deep.py not found (set WDP_PEER_SCRIPT); skipping the comparison');
    return undefined;
  }
  const results: Record<string, unknown>[] = [];
  try {
    for (let i = 0; i < runs; i++) results.push(await runOnce(script, shape, args));
  } catch (e) {
    log?.(`peer: could not run (${(e as Error).message}); apt-get install -y python3-torch`);
    return undefined;
  }
  const num = (k: string) => median(results.map((r) => Number(r[k])));
  return {
    engine: String(results[0]!['engine']),
    train_examples_per_s: Math.round(num('train_examples_per_s')),
    score_p50_ms: +num('score_p50_ms').toFixed(3),
    score_p99_ms: +num('score_p99_ms').toFixed(3),
    runs,
  };
}
