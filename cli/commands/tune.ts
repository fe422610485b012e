/** `wdp tune`: a hyper-parameter search scored on validation rows; writes the best config with the search's record. */
import { writeFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { MODEL_KINDS, type ModelKind, readConfigDocument } from '../../src/config/index.ts';
import { TOWER_KINDS, type TowerKind } from '../../src/model/tower/kinds.ts';
import type { OutputFile } from '../../src/storage/output-file.ts';
import { consoleLogger } from '../../src/util/log.ts';
import { int, printJson, say, svgPath, writeOutputFile } from '../shared.ts';

interface TuneCliOptions {
  config: string;
  data: string[];
  out: string;
  validation?: string[];
  validationFraction: number;
  validationColumn?: string;
  model: ModelKind;
  backend: TowerKind;
  trials: number;
  minEpochs: number;
  maxEpochs: number;
  eta: number;
  timeBudget?: number;
  seed: number;
  metric: 'auc' | 'logloss';
  minImprovementSe: number;
  maxRows?: number;
  plot?: string;
  force: boolean;
  json: boolean;
}

function nonNegative(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!(v.trim() !== '' && Number.isFinite(n) && n >= 0)) throw new InvalidArgumentError(`${name} must be a number ≥ 0, got "${v}"`);
    return n;
  };
}

function fraction(v: string): number {
  const n = Number(v);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError(`--validation-fraction must be in (0, 1), got "${v}"`);
  return n;
}

export function addTuneCommand(program: Command): void {
  program
    .command('tune')
    .description(
      "search optimiser settings, regularisation, embedding dims, hidden units and epochs (random search with successive halving), scored on validation rows, never the config's holdout; writes the best config",
    )
    .requiredOption('--config <uri>', 'wdp.config.json to start from (its features stay; the searched fields are replaced)')
    .requiredOption('--data <uri...>', 'training log files or prefixes (local or s3://)')
    .requiredOption(
      '--out <uri>',
      'where to write the best config (local or s3://), with a `tuning` record of every trial; refused if a file is there (see --force)',
    )
    .option('--force', 'replace a file already at --out (even the --config file): locally swapped in only once complete', false)
    .option('--validation <uri...>', 'validation logs (default: a hashed share of --data)')
    .option('--validation-fraction <f>', 'share of --data hashed into validation', fraction, 0.2)
    .option(
      '--validation-column <name>',
      "column hashed to pick validation rows (default: the holdout's hash column, else data.idColumns[0])",
    )
    .addOption(new Option('--model <kind>', 'which parts to train').choices(MODEL_KINDS).default('wide_deep'))
    .addOption(new Option('--backend <backend>', 'tower backend').choices(TOWER_KINDS).default('auto'))
    .option('--trials <n>', 'trials in the first rung (trial 0 is the given config, never halved)', int('--trials'), 27)
    .option('--min-epochs <n>', 'epochs of the first rung', int('--min-epochs'), 1)
    .option('--max-epochs <n>', 'epochs of the last rung', int('--max-epochs'), 9)
    .option('--eta <n>', 'keep the best 1/eta of each rung', int('--eta', 2), 3)
    .option('--time-budget <seconds>', 'start no new training after this many seconds', int('--time-budget'))
    .option('--seed <n>', 'search seed', int('--seed', 0), 1)
    .addOption(new Option('--metric <metric>', 'validation metric to rank by').choices(['auc', 'logloss']).default('auc'))
    .option(
      '--min-improvement-se <k>',
      'keep the given config unless a trial beats it on validation by more than k standard errors (0: take the top score)',
      nonNegative('--min-improvement-se'),
      1,
    )
    .option('--max-rows <n>', 'refuse to hold more rows than this in memory', int('--max-rows'))
    .option('--plot <file.svg>', 'write every trial’s validation curve as SVG', svgPath)
    .option('--json', 'print the result as JSON on stdout', false)
    .action(async (o: TuneCliOptions) => {
      const { isS3Uri } = await import('../../src/storage/index.ts');
      const { refuseExistingOutput, startOutputFile } = await import('../../src/storage/output-file.ts');
      const { lockOutput } = await import('../../src/storage/output-lock.ts');
      const { canonicalLocation } = await import('../../src/model/save-target.ts');
      const existing = o.force ? 'replace' : 'refuse';
      // Named in the refusal: `--out` equal to `--config` would replace the config being tuned.
      const hint = (await canonicalLocation(o.out)) === (await canonicalLocation(o.config)) ? ' (it is the --config file)' : '';
      // The config file's writer lock first: a second tune to the same --out fails here,
      // naming the first, instead of both searching for minutes and the later one silently
      // replacing the other's result. Held (and a local file written whole) until the config is in place.
      // An existing file is refused here too, before the search, unless --force.
      const s3Lock = isS3Uri(o.out) ? await lockOutput(o.out, 'this config file') : undefined;
      try {
        const output = isS3Uri(o.out) ? undefined : await startOutputFile(o.out, 'this config file', { existing, hint });
        if (!output && existing === 'refuse') await refuseExistingOutput(o.out, 'this config file', hint);
        try {
          await tuneTo(o, output);
        } finally {
          await output?.abandon();
        }
      } finally {
        await s3Lock?.release();
      }
    });
}

async function tuneTo(o: TuneCliOptions, output: OutputFile | undefined): Promise<void> {
  const { prepareTuningData } = await import('../../src/tuning/data.ts');
  const { tune, trialsTable, halvingSchedule } = await import('../../src/tuning/tune.ts');
  const { createProgress } = await import('../../src/util/progress.ts');
  const { storeFor } = await import('../../src/storage/index.ts');
  const log = consoleLogger();
  const schedule = halvingSchedule(o.trials, o.minEpochs, o.maxEpochs, o.eta);
  const config = await readConfigDocument(o.config);
  const data = await prepareTuningData({
    config,
    data: o.data,
    validationFraction: o.validationFraction,
    ...(o.validation ? { validation: o.validation } : {}),
    ...(o.validationColumn ? { validationColumn: o.validationColumn } : {}),
    ...(o.maxRows ? { maxRows: o.maxRows } : {}),
  });
  say(
    `tune: ${data.train.size} training rows, ${data.validation.size} validation rows; rungs ${schedule.map((r) => `${r.trials}×${r.epochs}ep`).join(' → ')}${schedule.length > 1 ? ' (trial 0, the given config, goes through every rung)' : ''}`,
  );
  const progress = createProgress({ label: 'tune', total: 0, unit: 'ex' });
  const result = await tune({
    config,
    data,
    kind: o.model,
    backend: o.backend,
    trials: o.trials,
    minEpochs: o.minEpochs,
    maxEpochs: o.maxEpochs,
    eta: o.eta,
    seed: o.seed,
    metric: o.metric,
    minImprovementSe: o.minImprovementSe,
    ...(o.timeBudget ? { timeBudgetSeconds: o.timeBudget } : {}),
    onProgress: (done, total, info) => {
      progress.setTotal(total);
      progress.update(done, { trial: info.trial, rung: info.rung, ...(info.best !== undefined ? { best: info.best } : {}) });
    },
    log: (line) => (progress.interactive ? progress.log(line) : log.info(line)),
  });
  progress.stop();
  const text = `${JSON.stringify(result.config, null, 2)}\n`;
  if (output) {
    await writeFile(output.tmp, text);
    await output.commit();
  } else await storeFor(o.out).write(o.out, text, o.force ? undefined : { ifNoneMatch: '*' });
  say(trialsTable(result));
  const lead = result.config.tuning?.overGiven;
  say(
    `best: trial ${result.best.id}, validation ${result.metric} ${result.best.score} at epoch ${result.best.bestEpoch}${lead?.keptGiven ? ` (the given config: trial ${lead.topTrial} led it by ${lead.difference}, within ${lead.minImprovementSe} standard error${lead.minImprovementSe === 1 ? '' : 's'} of ${lead.standardError})` : ''}; config written to ${o.out}${result.timedOut ? ' (the time budget cut the search short)' : ''}`,
  );
  if (o.plot) {
    const { tuningTrialsSvg } = await import('../../src/evaluation/plots.ts');
    const curves = result.trials.map((t) => ({
      id: t.id,
      stopped: t.stopped,
      curve: t.curve.map((c) => ({ epoch: c.epoch, value: result.metric === 'auc' ? c.auc : c.logloss })),
    }));
    await writeOutputFile(o.plot, await tuningTrialsSvg(curves, result.metric, result.best.id, `wdp tune: ${result.trials.length} trials`));
    say(`trial plot written to ${o.plot}`);
  }
  if (o.json) {
    printJson({
      out: o.out,
      best: { trial: result.best.id, score: result.best.score, epochs: result.best.bestEpoch, params: result.best.params },
      metric: result.metric,
      schedule: result.schedule,
      seconds: result.seconds,
      timedOut: result.timedOut,
      notSearched: result.skipped,
    });
  }
}
