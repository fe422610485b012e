/** `wdp score-batch`: the batch-scoring state machine over the objects under a prefix. */
import type { Command } from 'commander';
import { consoleLogger } from '../../src/util/log.ts';
import { DEFAULT_STACK, printJson, say } from '../shared.ts';

interface ScoreBatchOptions {
  in: string;
  out: string;
  bucket: string;
  model?: string;
  remote: boolean;
  stack: string;
  stateMachineArn?: string;
  json: boolean;
}

export function addScoreBatchCommand(program: Command): void {
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
    .action(async (o: ScoreBatchOptions) => {
      if (o.remote) {
        const { runRemoteBatch } = await import('../workflow-remote.ts');
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
      const { runLocalBatchScoring } = await import('../../local/run-batch.ts');
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
    });
}
