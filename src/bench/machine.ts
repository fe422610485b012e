/**
 * The machine a benchmark ran on, printed in every benchmark's JSON (`machine`): speed numbers
 * are only comparable on the same CPU, and the VMs these run on change from run to run (an
 * AVX2-only EPYC one day, an AVX-512 Xeon the next). From `lscpu` where it exists, else
 * /proc/cpuinfo and os.cpus().
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { availableCpus } from '../model/tower/onnx-runtime.ts';
import { cpuFlags } from './peer.ts';

export interface MachineInfo {
  /** lscpu's "Model name", e.g. "AMD EPYC" or "Intel(R) Xeon(R) Platinum 8488C". */
  readonly cpu_model: string;
  /** lscpu's "CPU family" and "Model" (what tells EPYC generations apart when the name does not). */
  readonly cpu_family?: string;
  readonly cpu_model_number?: string;
  readonly cores: number;
  /** The CPUs ONNX Runtime sizes its thread pool to (cgroup quota, else cores). */
  readonly available_cpus: number;
  /** The SIMD subset of the flags (sse*, ssse3, avx*, fma, f16c, amx*), sorted. */
  readonly simd_flags: string[];
  /** Every flag lscpu (or /proc/cpuinfo) lists, in its order. */
  readonly flags: string[];
  /** 1-minute load average when the benchmark finished: others sharing the machine show here. */
  readonly load_average_1m: number;
}

function lscpu(): Map<string, string> {
  const out = new Map<string, string>();
  try {
    const text = execFileSync('lscpu', [], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'ignore'] });
    for (const line of text.split('\n')) {
      const at = line.indexOf(':');
      if (at > 0) out.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
    }
  } catch {
    // No lscpu (minimal images): /proc/cpuinfo and os.cpus() below.
  }
  return out;
}

/** The machine now; cheap (one lscpu call), so benches call it at the end of a run. */
export function machineInfo(): MachineInfo {
  const l = lscpu();
  const flags = l.get('Flags')?.split(/\s+/).filter(Boolean) ?? [...cpuFlags()];
  return {
    cpu_model: l.get('Model name') ?? cpus()[0]?.model ?? 'unknown',
    ...(l.get('CPU family') ? { cpu_family: l.get('CPU family')! } : {}),
    ...(l.get('Model') ? { cpu_model_number: l.get('Model')! } : {}),
    cores: cpus().length,
    available_cpus: availableCpus(),
    simd_flags: flags.filter((f) => /^(sse|ssse3|avx|fma|f16c|amx)/.test(f)).sort(),
    flags,
    load_average_1m: +loadavg()[0]!.toFixed(2),
  };
}
