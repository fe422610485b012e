/** `wdp train`: a model from logs and a config, or one workflow run from its ingest manifest. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { MODEL_KINDS, type ModelKind, parseConfig, readConfigDocument } from '../../src/config/index.ts';
import { TOWER_KINDS, type TowerKind } from '../../src/model/tower/kinds.ts';
import { consoleLogger } from '../../src/util/log.ts';
import { int, printJson, svgPath, writeOutputFile } from '../shared.ts';

interface TrainOptions {
  config?: string;
  data?: string[];
  out?: string;
  manifest?: string;
  warmStart?: string;
  model: ModelKind;
  backend: TowerKind;
  refitTransforms: boolean;
  holdout?: string[];
  validation?: string[];
  epochs?: number;
  force: boolean;
  plot?: string;
  json: boolean;
}

export function addTrainCommand(program: Command): void {
  program
    .command('train')
    .description('train a model on Parquet/CSV logs and save it to a folder (local or s3://); or one workflow run from its ingest manifest')
    .option('--config <uri>', 'wdp.config.json (required without --manifest)')
    .option('--data <uri...>', 'log files or prefixes (dt=YYYY-MM-DD partitions) (required without --manifest)')
    .option(
      '--out <uri>',
      'model folder to write (required without --manifest); refused if it holds a model (see --force) or is the --warm-start folder',
    )
    .option(
      '--force',
      'replace a model already at --out: locally the new model is swapped in only once complete (the old one survives a crash); on S3 the old one is deleted as the new one is written',
      false,
    )
    .option(
      '--manifest <uri>',
      "a workflow run's ingest manifest: data, config, champion to warm-start from and candidate folder all come from it (the training container's entrypoint)",
    )
    .option('--warm-start <uri>', 'initialise from this model folder')
    .addOption(new Option('--model <kind>', 'which parts to train').choices(MODEL_KINDS).default('wide_deep'))
    .addOption(new Option('--backend <backend>', 'tower backend').choices(TOWER_KINDS).default('auto'))
    .option('--refit-transforms', "refit numeric quantiles/buckets instead of keeping the parent model's", false)
    .option(
      '--holdout <uri...>',
      'held-out logs to evaluate after training (metrics go in the manifest); refused when they are --data files, unless the config\'s holdout.kind is "hash" (then its held-out share of --data is evaluated by default)',
    )
    .option(
      '--validation <uri...>',
      'validation logs evaluated while training (training.validationEvery; early stopping with training.earlyStopping); replace training.validation; refused when they are --data or --holdout files',
    )
    .option('--epochs <n>', 'override training.epochs', int('--epochs'))
    .option('--plot <file.svg>', 'write the training loss curve (and the validation logloss) as SVG', svgPath)
    .option('--json', 'print the result as JSON on stdout', false)
    .action(async (o: TrainOptions) => {
      if (o.manifest) {
        const { trainFromManifest } = await import('../../src/workflow/steps/train-step.ts');
        const r = await trainFromManifest({ manifestUri: o.manifest, backend: o.backend, logger: consoleLogger() });
        if (o.json) printJson(r);
        else process.stderr.write(`${JSON.stringify(r)}\n`);
        return;
      }
      if (!o.config || !o.data || !o.out) throw new InvalidArgumentError('train needs --config, --data and --out (or --manifest)');
      const { trainModel } = await import('../../src/training/train.ts');
      const { planTrainInputs } = await import('../../src/training/inputs.ts');
      let config = await readConfigDocument(o.config);
      // Through the schema again, so an override meets the config's own limits (epochs ≤ 1000).
      if (o.epochs) config = parseConfig({ ...config, training: { ...config.training, epochs: o.epochs } }, `${o.config} with --epochs`);
      const log = consoleLogger();
      // The config's hashed holdout, as the workflow applies it; validation/holdout files that are training files are refused.
      const inputs = await planTrainInputs({
        config,
        data: o.data,
        ...(o.holdout ? { holdout: o.holdout } : {}),
        ...(o.validation ? { validation: o.validation } : {}),
      });
      if (inputs.note) log.info(inputs.note);
      const r = await trainModel({
        config,
        data: o.data,
        out: o.out,
        existing: o.force ? 'replace' : 'refuse',
        kind: o.model,
        backend: o.backend,
        refitTransforms: o.refitTransforms,
        logger: log,
        ...(o.warmStart ? { warmStart: o.warmStart } : {}),
        ...(inputs.split ? { split: inputs.split } : {}),
        ...(inputs.holdout ? { holdout: inputs.holdout } : {}),
        ...(inputs.holdoutSplit ? { holdoutSplit: inputs.holdoutSplit } : {}),
        ...(o.validation ? { validation: o.validation } : {}),
      });
      if (o.plot) {
        const { lossCurveSvg } = await import('../../src/evaluation/plots.ts');
        const validation = r.validationCurve.length
          ? { curve: r.validationCurve, ...(r.best ? { bestExamples: r.best.examples } : {}) }
          : undefined;
        const title = `${r.manifest.kind} ${r.manifest.modelId}: training loss${validation ? ' (black: validation logloss)' : ''}`;
        await writeOutputFile(o.plot, await lossCurveSvg(r.lossCurve, title, validation));
        process.stderr.write(`loss curve written to ${o.plot}\n`);
      }
      const summary = {
        model: r.uri,
        modelId: r.manifest.modelId,
        kind: r.manifest.kind,
        metrics: r.manifest.metrics,
        training: r.manifest.training,
      };
      if (o.json) printJson(summary);
      else process.stderr.write(`${JSON.stringify(summary.metrics)}\n`);
    });
}
