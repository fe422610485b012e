/**
 * Workflow commands: `wdp pipeline` (the retraining state machine, locally or deployed),
 * `wdp score-batch` (the batch-scoring state machine) and `wdp invoke` (one online request to
 * what alias `live` serves). Locally they run the synthesized definitions against a bucket folder.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { readFile } from 'node:fs/promises';
import { consoleLogger } from '../src/util/log.ts';

const DEFAULT_STACK = 'Wdp';

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

const say = (line: string) => process.stderr.write(`${line}\n`);

async function readRequest(arg: string): Promise<unknown> {
  const text = arg.startsWith('@') ? await readFile(arg.slice(1), 'utf8') : arg;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InvalidArgumentError(`--request is not JSON: ${(e as Error).message}`);
  }
}

export function addWorkflowCommands(program: Command): void {
  program
    .command('pipeline')
    .description('run the nightly retraining state machine: locally (the synthesized definition, default) or the deployed one (--remote)')
    .option('--bucket <dir|s3://…>', 'workflow bucket (local runs)', '.wdp/bucket')
    .option('--config <uri>', 'config installed into the bucket on first run (default examples/app-store/wdp.config.json)')
    .option('--rows-per-day <n>', 'rows per sample day generated on first run', (v) => Number(v), 50_000)
    .option('--thresholds <file>', 'validation thresholds JSON (see src/workflow/thresholds.ts)')
    .option('--remote', 'start the deployed state machine and follow it', false)
    .option('--stack <name>', 'deployed stack name (finds the state machine in its outputs)', DEFAULT_STACK)
    .option('--state-machine-arn <arn>', 'deployed state machine (instead of the stack outputs)')
    .option('--json', 'print the result as JSON on stdout', false)
    .action(
      async (o: {
        bucket: string;
        config?: string;
        rowsPerDay: number;
        thresholds?: string;
        remote: boolean;
        stack: string;
        stateMachineArn?: string;
        json: boolean;
      }) => {
        if (o.remote) {
          const { runRemotePipeline } = await import('./workflow-remote.ts');
          const r = await runRemotePipeline({
            stack: o.stack,
            ...(o.stateMachineArn ? { stateMachineArn: o.stateMachineArn } : {}),
            print: say,
          });
          if (o.json) printJson(r);
          if (r.status !== 'SUCCEEDED') process.exitCode = 1;
          return;
        }
        const { runLocalPipeline } = await import('../local/run-retraining.ts');
        const { thresholdsSchema } = await import('../src/workflow/steps/thresholds.ts');
        const thresholds = o.thresholds ? thresholdsSchema.parse(JSON.parse(await readFile(o.thresholds, 'utf8'))) : undefined;
        const r = await runLocalPipeline({
          bucketUri: o.bucket,
          sample: { rowsPerDay: o.rowsPerDay },
          logger: consoleLogger(),
          print: say,
          ...(o.config ? { configUri: o.config } : {}),
          ...(thresholds ? { thresholds } : {}),
        });
        if (o.json) printJson(r);
        if (r.status === 'failed' || r.status === 'rejected') process.exitCode = 1;
      },
    );

  program
    .command('score-batch')
    .description(
      'run the batch-scoring state machine over the Parquet objects under a prefix: locally (inline item processor) or deployed (--remote)',
    )
    .requiredOption('--in <prefix>', 'input key prefix, relative to the bucket (e.g. batch/input/2026-01-05/)')
    .requiredOption('--out <prefix>', 'output key prefix (deployed: must be under batch/output/)')
    .option('--bucket <dir|s3://…>', 'workflow bucket (local runs)', '.wdp/bucket')
    .option('--model <uri>', 'model folder (default: the champion)')
    .option('--remote', 'start the deployed state machine and follow it', false)
    .option('--stack <name>', 'deployed stack name', DEFAULT_STACK)
    .option('--state-machine-arn <arn>', 'deployed state machine (instead of the stack outputs)')
    .option('--json', 'print the result as JSON on stdout', false)
    .action(
      async (o: {
        in: string;
        out: string;
        bucket: string;
        model?: string;
        remote: boolean;
        stack: string;
        stateMachineArn?: string;
        json: boolean;
      }) => {
        if (o.remote) {
          const { runRemoteBatch } = await import('./workflow-remote.ts');
          const r = await runRemoteBatch({
            stack: o.stack,
            inputPrefix: o.in,
            outputPrefix: o.out,
            ...(o.stateMachineArn ? { stateMachineArn: o.stateMachineArn } : {}),
            print: say,
          });
          if (o.json) printJson(r);
          if (r.status !== 'SUCCEEDED') process.exitCode = 1;
          return;
        }
        const { runLocalBatchScoring } = await import('../local/run-batch.ts');
        const r = await runLocalBatchScoring({
          bucketUri: o.bucket,
          inputPrefix: o.in,
          outputPrefix: o.out,
          logger: consoleLogger(),
          print: say,
          ...(o.model ? { modelUri: o.model } : {}),
        });
        if (o.json) printJson(r);
        if (r.status !== 'succeeded') process.exitCode = 1;
      },
    );

  program
    .command('invoke')
    .description(
      'send one online scoring request to what alias `live` serves: the deployed scoring Lambda (--remote) or the local champion',
    )
    .option('--request <json|@file>', 'request body {context, candidates, topK?} (local default: 5 rows of the newest log day)')
    .option('--bucket <dir|s3://…>', 'workflow bucket (local runs)', '.wdp/bucket')
    .option('--remote', 'invoke the deployed scoring function, alias live', false)
    .option('--stack <name>', 'deployed stack name', DEFAULT_STACK)
    .option('--function <name>', 'scoring function name (instead of the stack outputs)')
    .action(async (o: { request?: string; bucket: string; remote: boolean; stack: string; function?: string }) => {
      if (o.remote) {
        if (!o.request) throw new InvalidArgumentError('--remote needs --request');
        const { runRemoteInvoke } = await import('./workflow-remote.ts');
        printJson(
          await runRemoteInvoke({
            stack: o.stack,
            request: await readRequest(o.request),
            ...(o.function ? { functionName: o.function } : {}),
          }),
        );
        return;
      }
      const { invokeLocalChampion } = await import('../src/workflow/invoke-champion.ts');
      printJson(await invokeLocalChampion({ bucketUri: o.bucket, ...(o.request ? { request: await readRequest(o.request) } : {}) }));
    });
}
