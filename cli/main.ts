/**
 * The `wdp` command line: one module per command under cli/commands/, composed here. Each
 * command parses its flags (commander), calls the library, and prints results: human lines on
 * stderr, machine-readable JSON on stdout with --json. Commands import the library inside their
 * actions, so `wdp --help` and the training image (which ships only bin/, cli/ and src/) load
 * only what the command run needs.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { WdpError } from '../src/util/errors.ts';
import { escapeControls } from '../src/util/terminal-text.ts';
import { awsSetupHint } from './aws-setup.ts';
import { addBenchCommand } from './commands/bench.ts';
import { addDaysCommand } from './commands/days.ts';
import { addEvaluateCommand } from './commands/evaluate.ts';
import { addGenerateCommand } from './commands/generate.ts';
import { addInvokeCommand } from './commands/invoke.ts';
import { addLockCommand } from './commands/lock.ts';
import { addModelsCommand } from './commands/models.ts';
import { addPipelineCommand } from './commands/pipeline.ts';
import { addQuantizeCommand } from './commands/quantize.ts';
import { addRegistryCommand } from './commands/registry.ts';
import { addRunsCommand } from './commands/runs.ts';
import { addScoreBatchCommand } from './commands/score-batch.ts';
import { addScoreCommand } from './commands/score.ts';
import { addServeCommand } from './commands/serve.ts';
import { addTrainCommand } from './commands/train.ts';
import { addTuneCommand } from './commands/tune.ts';

export function buildCli(): Command {
  const program = new Command('wdp')
    .description('Wide & Deep recommender: train, evaluate, score, serve, generate sample logs, benchmark')
    .version(packageVersion(), '-V, --version', "print wdp's version")
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  for (const add of [
    addTrainCommand,
    addTuneCommand,
    addEvaluateCommand,
    addGenerateCommand,
    addScoreCommand,
    addServeCommand,
    addQuantizeCommand,
    addBenchCommand,
    // The workflow: the state machines, locally or deployed, and the live scoring endpoint.
    addPipelineCommand,
    addScoreBatchCommand,
    addInvokeCommand,
    addDaysCommand,
    addLockCommand,
    addRegistryCommand,
    // The operator's view: models in the registry (promote, rollback) and runs.
    addModelsCommand,
    addRunsCommand,
  ])
    add(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (e) {
    if (e instanceof WdpError || (e instanceof Error && process.env['WDP_DEBUG'] !== '1')) {
      // A --remote command given an ARN or function name skips the stack outputs (which explain a
      // missing region themselves) and meets the SDK's bare "Region is missing" here.
      const hint = e instanceof WdpError ? undefined : awsSetupHint(e);
      // Messages name values from data (tokens, keys, file names): never raw control characters.
      process.stderr.write(`error: ${escapeControls(hint ?? (e as Error).message)}\n`);
      if (process.env['WDP_DEBUG'] === '1') process.stderr.write(`${(e as Error).stack}\n`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}

function packageVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : 'unknown';
}
