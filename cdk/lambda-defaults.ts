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
  /**
   * Ship ONNX Runtime's linux-x64 CPU binary beside the bundle, for functions that score (the
   * tower then runs on ONNX Runtime, ~8× the plain-JS fallback). @default false
   */
  readonly onnxRuntime?: boolean;
}

/**
 * Shell commands that copy onnxruntime-node (its JS, and only the linux-x64 binaries: the npm
 * package carries every platform's, ~290 MB) and onnxruntime-common from the local node_modules
 * into the bundle. Offline, no Docker: NodejsFunction's `nodeModules` would run npm install.
 */
export function onnxRuntimeCopyCommands(inputDir: string, outputDir: string): string[] {
  const from = `${inputDir}/node_modules`;
  const to = `${outputDir}/node_modules`;
  return [
    `mkdir -p "${to}/onnxruntime-node/bin/napi-v6/linux"`,
    `cp -R "${from}/onnxruntime-node/package.json" "${from}/onnxruntime-node/dist" "${to}/onnxruntime-node/"`,
    `cp -R "${from}/onnxruntime-node/bin/napi-v6/linux/x64" "${to}/onnxruntime-node/bin/napi-v6/linux/"`,
    `cp -R "${from}/onnxruntime-common" "${to}/"`,
  ];
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
      // esbuild's per-bundle size table is noise in `cdk synth`; its warnings still print.
      logLevel: nodejs.LogLevel.WARNING,
      // Some bundled CommonJS packages call require(); ESM output needs it defined.
      banner: "import { createRequire as __wdpCreateRequire } from 'node:module'; const require = __wdpCreateRequire(import.meta.url);",
      // The SDK is bundled (the runtime's copy lags). Native tower backends stay external: scoring
      // functions get ONNX Runtime copied in (onnxRuntime), others never load a tower natively.
      externalModules: ['onnxruntime-node', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
      forceDockerBundling: false,
      ...(props.onnxRuntime
        ? {
            commandHooks: {
              beforeBundling: () => [],
              beforeInstall: () => [],
              afterBundling: (inputDir: string, outputDir: string) => onnxRuntimeCopyCommands(inputDir, outputDir),
            },
          }
        : {}),
    },
  });
}
