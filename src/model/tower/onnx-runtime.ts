/**
 * ONNX Runtime session options, built here for both the training tower (tower/onnx-tower.ts) and
 * the scoring tower (scoring/onnx-split-tower.ts), so the two cannot drift.
 *
 * Settings that belong to the host rather than to a model (whether idle threads may spin-wait
 * depends on how busy the machine's cores are) are given once at startup by the process's entry
 * point — bin/wdp.mjs for the CLI, lambdas/shared/runtime.ts for the Lambdas — with
 * configureOnnxRuntime; the library never reads process.env. One call at the edge, rather than a
 * new option on every call, keeps train(), WideDeepModel.create, Scorer.load and the workflow
 * steps unchanged between the entry point and the two sessions. A tower's own `allowSpinning`
 * option still wins (tests and benchmarks set it per tower).
 *
 * Nothing here loads onnxruntime-node (its import is type-only), so entry points can configure
 * it without paying for the native binary.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';

export interface OnnxRuntimeSettings {
  /**
   * Let ORT's idle intra-op threads spin-wait for work. Spinning saves the wake-up latency
   * between small kernels on an otherwise idle machine, but burns the core a busy machine's
   * other processes need. @default true (ORT's own default)
   */
  readonly allowSpinning?: boolean;
  /**
   * CPU time the host really grants, in CPUs, where neither the OS nor a cgroup shows it: a
   * Lambda function sees 2 vCPUs from 128 to 3,008 MB but is given CPU time in proportion to its
   * memory (lambdaCpuShare). Default intra-op threads are capped by it (rounded, at least 1).
   * @default unset (no cap beyond availableCpus())
   */
  readonly cpuShare?: number;
}

let host: { allowSpinning: boolean; cpuShare: number | undefined } = { allowSpinning: true, cpuShare: undefined };

/** Sets the host's defaults for every session opened afterwards; unset fields keep their value. */
export function configureOnnxRuntime(settings: OnnxRuntimeSettings): void {
  host = { allowSpinning: settings.allowSpinning ?? host.allowSpinning, cpuShare: settings.cpuShare ?? host.cpuShare };
}

/** MB of Lambda memory that buy one vCPU-second per second (AWS Lambda developer guide, "Configuring function memory"). */
export const LAMBDA_MB_PER_VCPU = 1769;

/** The CPU share of a Lambda function of `memoryMiB` (AWS_LAMBDA_FUNCTION_MEMORY_SIZE), e.g. 2048 → 1.16. */
export function lambdaCpuShare(memoryMiB: number): number | undefined {
  return Number.isFinite(memoryMiB) && memoryMiB > 0 ? memoryMiB / LAMBDA_MB_PER_VCPU : undefined;
}

/** Default intra-op threads: the CPUs the process has (availableCpus), capped by the host's CPU share. */
export function defaultIntraOpThreads(cpus = processCpus(), share = host.cpuShare): number {
  return share === undefined ? cpus : Math.max(1, Math.min(cpus, Math.round(share)));
}

/**
 * The CPUs this process may really use: os.availableParallelism() (the CPUs it is scheduled on),
 * capped by a cgroup CPU quota where one is set (cgroup v2 `cpu.max`, or v1
 * `cpu.cfs_quota_us` / `cpu.cfs_period_us`). A container or a Lambda function given 1.2 vCPUs of
 * a 2-core host reports 2 to availableParallelism(); two intra-op threads would then share ~1.2
 * cores and ORT's barrier waits get slower, not faster. A fractional quota rounds down (the
 * threads beyond it only wait on throttling), never below 1.
 * @param read reads a file's text (tests give their own; a missing file means no quota there)
 */
export function availableCpus(read: (path: string) => string | undefined = readText): number {
  const cpus = availableParallelism();
  const quota = cgroupCpuQuota(read);
  return quota === undefined ? cpus : Math.max(1, Math.min(cpus, Math.floor(quota)));
}

/** The cgroup CPU quota in CPUs, or undefined when none is set or readable. */
export function cgroupCpuQuota(read: (path: string) => string | undefined = readText): number | undefined {
  const v2 = read('/sys/fs/cgroup/cpu.max')?.trim().split(/\s+/);
  if (v2 && v2.length === 2 && v2[0] !== 'max') {
    const q = Number(v2[0]) / Number(v2[1]);
    if (Number.isFinite(q) && q > 0) return q;
  }
  const quota = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')?.trim());
  const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us')?.trim());
  if (quota > 0 && period > 0) return quota / period;
  return undefined;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Computed once per process: the quota does not change under a running function. */
let cpusOnce: number | undefined;
function processCpus(): number {
  if (cpusOnce === undefined) cpusOnce = availableCpus();
  return cpusOnce;
}

export interface SessionSettings extends OnnxRuntimeSettings {
  /** Intra-op threads. @default defaultIntraOpThreads() (the CPUs the process really has, capped by the host's CPU share) */
  readonly intraOpNumThreads?: number;
}

/**
 * CPU session options: sequential execution with `threads` intra-op threads, full graph
 * optimisation; spin-waiting from `settings`, else the host's configuration.
 */
export function onnxSessionOptions(settings: SessionSettings = {}): { options: InferenceSession.SessionOptions; threads: number } {
  const threads = settings.intraOpNumThreads ?? defaultIntraOpThreads();
  const spin = settings.allowSpinning ?? host.allowSpinning;
  return {
    threads,
    options: {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      extra: { session: { intra_op: { allow_spinning: spin ? '1' : '0' } } },
    },
  };
}
