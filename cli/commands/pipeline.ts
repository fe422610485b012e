/** `wdp pipeline`: the nightly retraining state machine, locally (default) or the deployed one. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { consoleLogger } from '../../src/util/log.ts';
import { DEFAULT_STACK, int, printJson, say } from '../shared.ts';

interface PipelineOptions {
  bucket: string;
  config?: string;
  rowsPerDay: number;
  thresholds?: string;
  remote: boolean;
  stack: string;
  stateMachineArn?: string;
  json: boolean;
}

export function addPipelineCommand(program: Command): void {
  program
    .command('pipeline')
    .description('run the nightly retraining state machine: locally (the synthesized definition, default) or the deployed one (--remote)')
    .option('--bucket <dir|s3://…>', 'workflow bucket (local runs)', '.wdp/bucket')
    .option(
      '--config <uri>',
      'config installed into a new bucket (default examples/app-store/wdp.config.json); refused if the bucket already has a different one',
    )
    .option('--rows-per-day <n>', 'rows per sample day generated on first run', int('--rows-per-day'), 50_000)
    .option('--thresholds <file>', 'validation thresholds JSON (see src/workflow/steps/thresholds.ts)')
    .option('--remote', 'start the deployed state machine and follow it', false)
    .option('--stack <name>', 'deployed stack name (finds the state machine in its outputs)', DEFAULT_STACK)
    .option('--state-machine-arn <arn>', 'deployed state machine (instead of the stack outputs)')
    .option('--json', 'print the result as JSON on stdout', false)
    .action(async (o: PipelineOptions) => {
      if (o.remote) {
        const { runRemotePipeline } = await import('../workflow-remote.ts');
        const r = await runRemotePipeline({
          stack: o.stack,
          ...(o.stateMachineArn ? { stateMachineArn: o.stateMachineArn } : {}),
          print: say,
        });
        if (o.json) printJson(r);
        if (r.status !== 'SUCCEEDED') process.exitCode = 1;
        return;
      }
      const { runLocalPipeline } = await import('../../local/run-retraining.ts');
      const { parseThresholdsText } = await import('../../src/workflow/steps/thresholds.ts');
      const thresholds = o.thresholds ? parseThresholdsText(await readFile(o.thresholds, 'utf8'), o.thresholds) : undefined;
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
    });
}
