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
import { availableParallelism } from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';

export interface OnnxRuntimeSettings {
  /**
   * Let ORT's idle intra-op threads spin-wait for work. Spinning saves the wake-up latency
   * between small kernels on an otherwise idle machine, but burns the core a busy machine's
   * other processes need. @default true (ORT's own default)
   */
  readonly allowSpinning?: boolean;
}

let host: Required<OnnxRuntimeSettings> = { allowSpinning: true };

/** Sets the host's defaults for every session opened afterwards; unset fields keep their value. */
export function configureOnnxRuntime(settings: OnnxRuntimeSettings): void {
  host = { allowSpinning: settings.allowSpinning ?? host.allowSpinning };
}

export interface SessionSettings extends OnnxRuntimeSettings {
  /** Intra-op threads. @default os.availableParallelism() */
  readonly intraOpNumThreads?: number;
}

/**
 * CPU session options: sequential execution with `threads` intra-op threads, full graph
 * optimisation; spin-waiting from `settings`, else the host's configuration.
 */
export function onnxSessionOptions(settings: SessionSettings = {}): { options: InferenceSession.SessionOptions; threads: number } {
  const threads = settings.intraOpNumThreads ?? availableParallelism();
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
