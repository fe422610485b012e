/**
 * The one observability wrapper every Lambda uses: a Powertools logger (JSON, with the request id)
 * and metrics (EMF, one `<step>Succeeded` / `<step>Failed` count per invocation), plus settings
 * read from the environment once per cold start (loading this module applies the ONNX Runtime ones).
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { configureOnnxRuntime, lambdaCpuShare } from '../../src/model/tower/onnx-runtime.ts';
import type { Logger } from '../../src/util/log.ts';

// Host settings for the library, from the function's environment (the library never reads process.env):
// WDP_ORT_SPIN=0 stops ONNX Runtime's idle threads spin-waiting.
// AWS_LAMBDA_FUNCTION_MEMORY_SIZE (set by Lambda) gives the CPU time the function really gets:
// the OS shows 2 vCPUs up to 3,008 MB, but 2,048 MB buys 1.16 vCPUs of time, so ORT runs 1
// intra-op thread there rather than 2 that would take turns on it.
const cpuShare = lambdaCpuShare(Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE));
configureOnnxRuntime({ allowSpinning: process.env.WDP_ORT_SPIN !== '0', ...(cpuShare !== undefined ? { cpuShare } : {}) });

const powertools = new PowertoolsLogger({ serviceName: 'wdp' });
const metrics = new Metrics({ namespace: 'wdp', serviceName: 'wdp' });

/** Our Logger interface on top of Powertools, so src/ code logs the same way everywhere. */
export const lambdaLogger: Logger = {
  info: (m) => powertools.info(m),
  warn: (m) => powertools.warn(m),
  error: (m) => powertools.error(m),
};

/** A required environment variable, or a clear error naming it. */
export function requireEnv(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`environment variable ${name} is not set`);
  return v;
}

/** Computes `read()` on first use only: env is read at cold start, not per event. */
export function once<T>(read: () => T): () => T {
  let value: { v: T } | undefined;
  return () => {
    value ??= { v: read() };
    return value.v;
  };
}

/**
 * Wraps a step function as a Lambda handler: adds the request id to logs, counts success and
 * failure, and rethrows errors so Step Functions sees the task fail (and its Retry/Catch apply).
 */
export function observe<E, R>(step: string, run: (event: E, logger: Logger) => Promise<R>): (event: E, context?: Context) => Promise<R> {
  return async (event, context) => {
    if (context) powertools.addContext(context);
    try {
      const result = await run(event, lambdaLogger);
      metrics.addMetric(`${step}Succeeded`, MetricUnit.Count, 1);
      return result;
    } catch (e) {
      powertools.error(`${step} failed`, e as Error);
      metrics.addMetric(`${step}Failed`, MetricUnit.Count, 1);
      throw e;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
