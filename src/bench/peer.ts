/**
 * Runs the PyTorch reference (shared/peers/torch_wide_deep.py) in the same session, so every
 * benchmark reports a ratio measured on the same machine at the same time.
 *
 * The peer is compared at its strongest. Its matrix work runs on OpenBLAS, which picks its
 * kernels by CPU model; Debian 12's OpenBLAS 0.3.21 does not know newer Xeons (Sapphire/Emerald
 * Rapids, family 6 model 143/207) and falls back to its SSE3 "Prescott" kernels, ~4.5× slower
 * than its AVX-512 ones on the same CPU (measured here: 64 vs 295 GFLOP/s on the peer's GEMMs).
 * When the detected core is weaker than the CPU's flags allow, the peer is also run with
 * OpenBLAS forced to the right kernels and the faster run is the one compared against; the
 * run as shipped is reported beside it.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PeerRun {
  readonly train_examples_per_s: number;
  readonly score_p50_ms: number;
  readonly score_p99_ms: number;
  /** OpenBLAS's kernel set for this run, e.g. 'SkylakeX' (undefined when it could not be read). */
  readonly openblas_core?: string;
}

export interface PeerResult extends PeerRun {
  readonly engine: string;
  readonly runs: number;
  /** The peer exactly as its script runs it, when that differs from the run compared against. */
  readonly as_shipped?: PeerRun;
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

/** OpenBLAS x86-64 core names by the widest vector kernels they use: 0 SSE, 1 AVX, 2 AVX2, 3 AVX-512. */
const CORE_TIER: Readonly<Record<string, number>> = {
  sandybridge: 1,
  bulldozer: 1,
  piledriver: 1,
  steamroller: 1,
  excavator: 1,
  haswell: 2,
  zen: 2,
  skylakex: 3,
  cooperlake: 3,
  sapphirerapids: 3,
};

export function openblasTier(core: string): number {
  return CORE_TIER[core.toLowerCase()] ?? 0;
}

/** The OpenBLAS core whose kernels these CPU flags (from /proc/cpuinfo) can run, best first. */
export function bestCoreFor(flags: ReadonlySet<string>): string | undefined {
  if (flags.has('avx512f') && flags.has('avx512bw') && flags.has('avx512vl') && flags.has('avx512dq')) return 'SkylakeX';
  if (flags.has('avx2') && flags.has('fma')) return 'Haswell';
  if (flags.has('avx')) return 'Sandybridge';
  return undefined;
}

/** The core to force, or undefined when OpenBLAS's own choice is already as strong as the CPU allows. */
export function coreToForce(detected: string | undefined, flags: ReadonlySet<string>): string | undefined {
  const best = bestCoreFor(flags);
  if (!best || !detected) return undefined;
  return openblasTier(detected) < openblasTier(best) ? best : undefined;
}

/** The CPU's flags from /proc/cpuinfo (empty where it cannot be read). */
export function cpuFlags(): Set<string> {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('flags'));
    return new Set(line?.split(':')[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return new Set();
  }
}

function python(): string {
  return process.env['WDP_PEER_PYTHON'] ?? '/usr/bin/python3';
}

function runPython(args: string[], env: NodeJS.ProcessEnv): Promise<{ out: string; err: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(python(), args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`peer exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      resolvePromise({ out, err });
    });
  });
}

/** The kernel set OpenBLAS picks when numpy loads it (OPENBLAS_VERBOSE=2 prints "Core: <name>"). */
async function detectedCore(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  try {
    const { out, err } = await runPython(['-c', 'import numpy'], { ...env, OPENBLAS_VERBOSE: '2' });
    return /Core:\s*(\S+)/.exec(out + err)?.[1];
  } catch {
    return undefined;
  }
}

/*
 * The peer drops OPENBLAS_CORETYPE before it imports numpy (to undo a forced *older* set), so a
 * forced core has to be in place before the script runs: this launcher sets it, loads OpenBLAS
 * through numpy (torch then shares the same libblas.so.3), and runs the script unchanged.
 */
const LAUNCHER = [
  'import os, runpy, sys',
  'core, script, *args = sys.argv[1:]',
  'os.environ["OPENBLAS_CORETYPE"] = core',
  'threads = next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "--threads"), str(os.cpu_count() or 1))',
  'os.environ["OPENBLAS_NUM_THREADS"] = threads',
  'import numpy',
  'sys.argv = [script, *args]',
  'runpy.run_path(script, run_name="__main__")',
].join('\n');

async function runScript(script: string, args: string[], forceCore: string | undefined): Promise<Record<string, unknown>> {
  const env = { ...process.env };
  const argv = forceCore ? ['-c', LAUNCHER, forceCore, script, ...args] : [script, ...args];
  const { out } = await runPython(argv, env);
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
}

function summarise(results: readonly Record<string, unknown>[], core: string | undefined): PeerRun {
  const num = (k: string) => median(results.map((r) => Number(r[k])));
  return {
    train_examples_per_s: Math.round(num('train_examples_per_s')),
    score_p50_ms: +num('score_p50_ms').toFixed(3),
    score_p99_ms: +num('score_p99_ms').toFixed(3),
    ...(core ? { openblas_core: core } : {}),
  };
}

/**
 * The peer, ready to run one at a time: a benchmark that interleaves its own measurements with
 * peer runs (so both see the same load on a shared machine) calls `runOnce` between its blocks,
 * then `result` for the median and each run's p50.
 */
export interface PeerRunner {
  runOnce(): Promise<void>;
  /** The median over the runs so far, and each run's score p50 (of the variant compared against). */
  result(): PeerResult & { readonly run_p50_ms: readonly number[] };
}

/**
 * A PeerRunner for `shape`, or undefined (with a logged reason) when the script is missing.
 * The runner's `runOnce` rejects when Python/PyTorch cannot run it.
 */
export async function peerRunner(shape: string, log?: (m: string) => void, args: string[] = []): Promise<PeerRunner | undefined> {
  const script = peerScript();
  if (!script) {
    log?.('peer: torch_wide_deep.py not found (set WDP_PEER_SCRIPT); skipping the comparison');
    return undefined;
  }
  const fullArgs = ['--shape', shape, ...args];
  const env = { ...process.env };
  delete env['OPENBLAS_CORETYPE'];
  const detected = await detectedCore(env);
  const force = coreToForce(detected, cpuFlags());
  const shipped: Record<string, unknown>[] = [];
  const forced: Record<string, unknown>[] = [];
  let told = false;
  return {
    async runOnce() {
      shipped.push(await runScript(script, fullArgs, undefined));
      if (force) forced.push(await runScript(script, fullArgs, force));
    },
    result() {
      if (shipped.length === 0) throw new Error('peer: no run yet');
      const engine = String(shipped[0]!['engine']);
      const runs = shipped.length;
      const asShipped = summarise(shipped, detected);
      const p50s = (rs: readonly Record<string, unknown>[]) => rs.map((r) => Number(r['score_p50_ms']));
      if (!force) return { engine, runs, ...asShipped, run_p50_ms: p50s(shipped) };
      const tuned = summarise(forced, force);
      if (!told)
        log?.(
          `peer: OpenBLAS chose its ${detected} kernels on this CPU; also ran it with ${force} kernels: ` +
            `p50 ${asShipped.score_p50_ms} → ${tuned.score_p50_ms} ms (the faster is compared against)`,
        );
      told = true;
      const useTuned = tuned.score_p50_ms <= asShipped.score_p50_ms;
      const best = useTuned ? tuned : asShipped;
      return { engine, runs, ...best, as_shipped: asShipped, run_p50_ms: p50s(useTuned ? forced : shipped) };
    },
  };
}

/**
 * Median of `runs` peer runs at its strongest (see the module comment); undefined (with a logged
 * reason) when Python/PyTorch is missing.
 */
export async function runPeer(shape: string, log?: (m: string) => void, runs = 3, args: string[] = []): Promise<PeerResult | undefined> {
  const runner = await peerRunner(shape, log, args);
  if (!runner) return undefined;
  try {
    for (let i = 0; i < runs; i++) await runner.runOnce();
  } catch (e) {
    log?.(`peer: could not run (${(e as Error).message}); ${PEER_INSTALL}`);
    return undefined;
  }
  const { run_p50_ms: _, ...result } = runner.result();
  return result;
}

/**
 * Ours against the peer, paired by round: each round's p50 (`ours[i]`, sorted latencies) over
 * the p50 of the peer run right after it (p50 as the peer computes it: index ceil(n/2) − 1), and the median of those ratios, so a load drift
 * between rounds moves both sides of each ratio alike.
 */
export function pairedP50Ratio(ours: readonly (readonly number[])[], peerP50s: readonly number[]): number {
  if (ours.length !== peerP50s.length || ours.length === 0)
    throw new Error(`pairedP50Ratio: ${ours.length} rounds of ours against ${peerP50s.length} peer runs`);
  return +median(ours.map((sorted, i) => sorted[Math.min(sorted.length - 1, Math.ceil(0.5 * sorted.length) - 1)]! / peerP50s[i]!)).toFixed(
    3,
  );
}

/** What to install when the peer cannot run. */
export const PEER_INSTALL = 'apt-get install -y python3-torch libopenblas0-pthread';
