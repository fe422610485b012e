/**
 * One NodejsFunction recipe for every wdp Lambda: latest Node runtime, ESM bundle built by the
 * local esbuild (no Docker), native and optional packages left out.
 */
import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import path from 'node:path';
import { LAMBDAS_DIR, REPO_ROOT } from './paths.ts';

export interface WdpFunctionProps {
  /** File in lambdas/, e.g. 'ingest.ts'. */
  readonly entry: string;
  readonly description: string;
  /** @default 512 */
  readonly memoryMiB?: number;
  /** @default 1 minute */
  readonly timeout?: Duration;
  readonly environment?: Record<string, string>;
}

/** The runtime every function uses (AwsSolutions-L1 wants the latest). */
export const WDP_RUNTIME = lambda.Runtime.NODEJS_24_X;

export function wdpFunction(scope: Construct, id: string, props: WdpFunctionProps): nodejs.NodejsFunction {
  return new nodejs.NodejsFunction(scope, id, {
    entry: path.join(LAMBDAS_DIR, props.entry),
    handler: 'handler',
    description: props.description,
    runtime: WDP_RUNTIME,
    architecture: lambda.Architecture.X86_64,
    memorySize: props.memoryMiB ?? 512,
    timeout: props.timeout ?? Duration.minutes(1),
    tracing: lambda.Tracing.ACTIVE,
    logGroup: new logs.LogGroup(scope, `${id}Logs`, { retention: logs.RetentionDays.ONE_MONTH }),
    environment: { NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_SERVICE_NAME: 'wdp', ...props.environment },
    projectRoot: REPO_ROOT,
    depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
    bundling: {
      format: nodejs.OutputFormat.ESM,
      target: 'node22',
      minify: true,
      sourceMap: true,
      // Some bundled CommonJS packages call require(); ESM output needs it defined.
      banner: "import { createRequire as __wdpCreateRequire } from 'node:module'; const require = __wdpCreateRequire(import.meta.url);",
      // The SDK is bundled (the runtime's copy lags). Native/optional tower backends are absent in Lambda: the
      // tower falls back to tfjs on plain JS CPU, which needs nothing native.
      externalModules: ['onnxruntime-node', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
      forceDockerBundling: false,
    },
  });
}
