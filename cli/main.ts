/**
 * The `wdp` command line. Each command parses its flags (commander), calls the library, and
 * prints results: human lines on stderr, machine-readable JSON on stdout with --json.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { writeFile } from 'node:fs/promises';
import { MODEL_KINDS, parseConfigText, type ModelKind, type WdpConfig } from '../src/config/index.ts';
import { storeFor } from '../src/storage/index.ts';
import { WdpError } from '../src/util/errors.ts';
import { consoleLogger } from '../src/util/log.ts';
import { addWorkflowCommands } from './workflow-commands.ts';

const BACKENDS = ['auto', 'tfjs', 'onnx'] as const;

function int(name: string, min = 1) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
}

export async function loadConfig(uri: string): Promise<WdpConfig> {
  const bytes = await storeFor(uri).read(uri);
  return parseConfigText(Buffer.from(bytes).toString('utf8'), uri);
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function buildCli(): Command {
  const program = new Command('wdp')
    .description('Wide & Deep recommender: train, evaluate, score, serve, generate sample logs, benchmark')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });

  program
    .command('train')
    .description('train a model on Parquet/CSV logs and save it to a folder (local or s3://); or one workflow run from its ingest manifest')
    .option('--config <uri>', 'wdp.config.json (required without --manifest)')
    .option('--data <uri...>', 'log files or prefixes (dt=YYYY-MM-DD partitions) (required without --manifest)')
    .option('--out <uri>', 'model folder to write (required without --manifest)')
    .option(
      '--manifest <uri>',
      "a workflow run's ingest manifest: data, config, champion to warm-start from and candidate folder all come from it (the training container's entrypoint)",
    )
    .option('--warm-start <uri>', 'initialise from this model folder')
    .addOption(new Option('--model <kind>', 'which parts to train').choices(MODEL_KINDS).default('wide_deep'))
    .addOption(new Option('--backend <backend>', 'tower backend').choices(BACKENDS).default('auto'))
    .option('--refit-transforms', "refit numeric quantiles/buckets instead of keeping the parent model's", false)
    .option('--holdout <uri...>', 'held-out logs to evaluate after training (metrics go in the manifest)')
    .option('--epochs <n>', 'override training.epochs', int('--epochs'))
    .option('--plot <file.svg>', 'write the training loss curve as SVG')
    .option('--json', 'print the result as JSON on stdout', false)
    .action(
      async (o: {
        config?: string;
        data?: string[];
        out?: string;
        manifest?: string;
        warmStart?: string;
        model: ModelKind;
        backend: (typeof BACKENDS)[number];
        refitTransforms: boolean;
        holdout?: string[];
        epochs?: number;
        plot?: string;
        json: boolean;
      }) => {
        if (o.manifest) {
          const { trainFromManifest } = await import('../src/workflow/steps/train-step.ts');
          const r = await trainFromManifest({ manifestUri: o.manifest, backend: o.backend, logger: consoleLogger() });
          if (o.json) printJson(r);
          else process.stderr.write(`${JSON.stringify(r)}\n`);
          return;
        }
        if (!o.config || !o.data || !o.out) throw new InvalidArgumentError('train needs --config, --data and --out (or --manifest)');
        const { trainModel } = await import('../src/training/train.ts');
        let config = await loadConfig(o.config);
        if (o.epochs) config = { ...config, training: { ...config.training, epochs: o.epochs } };
        const r = await trainModel({
          config,
          data: o.data,
          out: o.out,
          kind: o.model,
          backend: o.backend,
          refitTransforms: o.refitTransforms,
          logger: consoleLogger(),
          ...(o.warmStart ? { warmStart: o.warmStart } : {}),
          ...(o.holdout ? { holdout: o.holdout } : {}),
        });
        if (o.plot) {
          const { lossCurveSvg } = await import('../src/evaluation/plots.ts');
          await writeFile(o.plot, await lossCurveSvg(r.lossCurve, `${r.manifest.kind} ${r.manifest.modelId}: training loss`));
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
      },
    );

  program
    .command('evaluate')
    .description('score held-out logs with a model: rows, AUC, logloss, calibration')
    .requiredOption('--model <uri>', 'model folder')
    .requiredOption('--data <uri...>', 'log files or prefixes')
    .addOption(new Option('--backend <backend>', 'tower backend').choices(BACKENDS).default('auto'))
    .option('--plot <file.svg>', 'write ROC and calibration curves as SVG')
    .option('--json', 'print JSON on stdout', false)
    .action(async (o: { model: string; data: string[]; backend: (typeof BACKENDS)[number]; plot?: string; json: boolean }) => {
      const { loadTrainableModel: loadModel } = await import('../src/model/trainable-model.ts');
      const { evaluateModel } = await import('../src/evaluation/evaluate.ts');
      const loaded = await loadModel(o.model, { backend: o.backend });
      try {
        const seen: { p: Float32Array[]; y: Float32Array[] } = { p: [], y: [] };
        const m = await evaluateModel(
          loaded,
          o.data,
          o.plot
            ? {
                onPredictions: (p, y) => {
                  seen.p.push(p.slice());
                  seen.y.push(y.slice());
                },
              }
            : {},
        );
        if (o.plot) {
          const { evaluationPlotSvg } = await import('../src/evaluation/plots.ts');
          const flat = (xs: Float32Array[]) => {
            const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
            let at = 0;
            for (const x of xs) {
              out.set(x, at);
              at += x.length;
            }
            return out;
          };
          await writeFile(
            o.plot,
            await evaluationPlotSvg(
              flat(seen.p),
              flat(seen.y),
              `${loaded.manifest.kind} ${loaded.manifest.modelId}: AUC ${m.auc.toFixed(4)}, calibration ${m.calibration.toFixed(3)}`,
            ),
          );
          process.stderr.write(`plot written to ${o.plot}\n`);
        }
        const out = {
          model: o.model,
          modelId: loaded.manifest.modelId,
          kind: loaded.manifest.kind,
          rows: m.rows,
          skippedRows: m.skippedRows,
          auc: m.auc,
          logloss: m.logloss,
          calibration: m.calibration,
          accuracy: m.accuracy,
          meanPrediction: m.meanPrediction,
          positiveRate: m.positiveRate,
        };
        if (o.json) printJson(out);
        else {
          process.stdout.write(
            `rows         ${m.rows}${m.skippedRows ? ` (${m.skippedRows} bad rows skipped)` : ''}\n` +
              `auc          ${m.auc.toFixed(4)}\nlogloss      ${m.logloss.toFixed(4)}\n` +
              `calibration  ${m.calibration.toFixed(3)}  (mean prediction ${m.meanPrediction.toFixed(4)} / observed rate ${m.positiveRate.toFixed(4)})\n` +
              `accuracy     ${m.accuracy.toFixed(4)}\n`,
          );
        }
      } finally {
        loaded.model.dispose();
      }
    });

  program
    .command('generate')
    .description('write sample app-store impression logs, one Parquet partition per day')
    .requiredOption('--out <uri>', 'folder or s3:// prefix for dt=YYYY-MM-DD partitions')
    .option('--days <n>', 'days to generate', int('--days'), 1)
    .option('--rows-per-day <n>', 'rows per day', int('--rows-per-day'), 100_000)
    .option('--seed <n>', 'seed of the simulated world', int('--seed', 0), 7)
    .option('--start-date <yyyy-mm-dd>', 'first day (default: the day after the newest existing partition)')
    .option('--shuffle-labels', 'permute labels within each day (a deliberately bad day)', false)
    .action(async (o: { out: string; days: number; rowsPerDay: number; seed: number; startDate?: string; shuffleLabels: boolean }) => {
      const { generateLogs } = await import('../src/generator/generate.ts');
      const { createProgress } = await import('../src/util/progress.ts');
      const progress = createProgress({ label: 'generate', total: o.days * o.rowsPerDay, unit: 'rows' });
      const r = await generateLogs(
        {
          days: o.days,
          rowsPerDay: o.rowsPerDay,
          seed: o.seed,
          out: o.out,
          shuffleLabels: o.shuffleLabels,
          ...(o.startDate ? { startDate: o.startDate } : {}),
          onProgress: (done: number) => progress.update(done),
        },
        storeFor(o.out),
      );
      progress.stop();
      process.stderr.write(`wrote ${r.rows} rows in ${r.files.length} file(s): ${r.days.join(', ')}\n`);
    });

  program
    .command('score')
    .description('batch-score a Parquet file with a model: id columns, score and model_version out')
    .requiredOption('--model <uri>', 'model folder')
    .requiredOption('--in <uri>', 'Parquet (or CSV) file to score')
    .requiredOption('--out <uri>', 'Parquet file to write')
    .addOption(new Option('--backend <backend>', 'scoring tower').choices(['auto', 'onnx', 'js']).default('auto'))
    .option('--chunk-rows <n>', 'rows scored (and written as one row group) at a time', int('--chunk-rows'), 65536)
    .option('--json', 'print the result as JSON on stdout', false)
    .action(async (o: { model: string; in: string; out: string; backend: 'auto' | 'onnx' | 'js'; chunkRows: number; json: boolean }) => {
      const { scoreParquet } = await import('../src/scoring/batch.ts');
      const log = consoleLogger();
      const r = await scoreParquet({
        model: o.model,
        input: o.in,
        output: o.out,
        chunkRows: o.chunkRows,
        scorerOptions: { backend: o.backend, log: (m) => log.info(m) },
      });
      if (o.json) printJson(r);
      else
        process.stderr.write(
          `scored ${r.rows} rows${r.skippedRows ? ` (${r.skippedRows} bad rows skipped)` : ''} with ${r.modelVersion} in ${r.seconds.toFixed(1)} s → ${r.output}\n`,
        );
    });

  program
    .command('serve')
    .description('serve the scoring handler over HTTP on 127.0.0.1 (POST a JSON request to /)')
    .requiredOption('--model <uri>', 'model folder')
    .option('--port <n>', 'port', int('--port', 0), 8080)
    .addOption(new Option('--backend <backend>', 'scoring tower').choices(['auto', 'onnx', 'js']).default('auto'))
    .option('--max-candidates <n>', 'most candidates per request', int('--max-candidates'), 1000)
    .action(async (o: { model: string; port: number; backend: 'auto' | 'onnx' | 'js'; maxCandidates: number }) => {
      const { serve } = await import('../src/scoring/serve.ts');
      const log = consoleLogger();
      const fmt = (m: string, extra: Record<string, unknown>[]) =>
        extra.length ? `${m} ${extra.map((e) => JSON.stringify(e)).join(' ')}` : m;
      const { port } = await serve({
        modelUri: o.model,
        port: o.port,
        scorerOptions: { backend: o.backend, maxCandidates: o.maxCandidates, log: (m) => log.info(m) },
        logger: { info: (m, ...e) => log.info(fmt(m, e)), warn: (m, ...e) => log.warn(fmt(m, e)), error: (m, ...e) => log.warn(fmt(m, e)) },
      });
      log.info(`serving ${o.model} on http://127.0.0.1:${port}/ — POST {"context":{…},"candidates":[{…}]}`);
    });

  const bench = program.command('bench').description('benchmarks (JSON on stdout), compared with the PyTorch peer where it applies');
  bench
    .command('train')
    .description('training throughput on random ids, shapes as the PyTorch peer')
    .addOption(new Option('--shape <shape>', 'model shape').choices(['small', 'paper']).default('small'))
    .addOption(new Option('--backend <backend>', 'tower backend').choices(BACKENDS).default('auto'))
    .option('--batches <n>', 'timed batches per repeat', int('--batches'), 30)
    .option('--repeats <n>', 'timed repeats (median reported)', int('--repeats'), 5)
    .option('--no-peer', 'skip the PyTorch peer')
    .option('--json', 'JSON only (the default output is JSON too)', false)
    .action(
      async (o: { shape: 'small' | 'paper'; backend: (typeof BACKENDS)[number]; batches: number; repeats: number; peer: boolean }) => {
        const { benchTrain } = await import('../src/bench/train-bench.ts');
        const log = consoleLogger();
        printJson(
          await benchTrain({
            shape: o.shape,
            backend: o.backend,
            batches: o.batches,
            repeats: o.repeats,
            peer: o.peer,
            log: (m) => log.info(m),
          }),
        );
      },
    );
  bench
    .command('score')
    .description('scoring latency (1 user × 1000 candidates), batch rows/s and cold start, vs the PyTorch peer')
    .addOption(new Option('--shape <shape>', 'model shape').choices(['small', 'paper']).default('small'))
    .addOption(new Option('--backend <backend>', 'scoring tower').choices(['auto', 'onnx', 'js']).default('auto'))
    .option('--requests <n>', 'timed requests', int('--requests'), 50)
    .option('--batch-rows <n>', 'rows in the batch-scoring file', int('--batch-rows'))
    .option('--model-dir <dir>', 'where to keep the generated benchmark model (reused across runs)')
    .option('--no-peer', 'skip the PyTorch peer')
    .option('--no-cold-start', 'skip the cold-start measurement')
    .option('--json', 'JSON only (the default output is JSON too)', false)
    .action(
      async (o: {
        shape: 'small' | 'paper';
        backend: 'auto' | 'onnx' | 'js';
        requests: number;
        batchRows?: number;
        modelDir?: string;
        peer: boolean;
        coldStart: boolean;
      }) => {
        const { benchScore } = await import('../src/bench/score-bench.ts');
        const log = consoleLogger();
        printJson(
          await benchScore({
            shape: o.shape,
            backend: o.backend,
            requests: o.requests,
            peer: o.peer,
            coldStart: o.coldStart,
            log: (m) => log.info(m),
            ...(o.batchRows ? { batchRows: o.batchRows } : {}),
            ...(o.modelDir ? { modelDir: o.modelDir } : {}),
          }),
        );
      },
    );
  bench
    .command('adult')
    .description("train on UCI Adult with the TensorFlow tutorial's columns and crosses; accuracy and AUC on adult.test")
    .option('--data <dir>', 'folder with adult.data and adult.test', '../shared/datasets/adult')
    .addOption(new Option('--model <kind>', 'which parts to train').choices(MODEL_KINDS).default('wide_deep'))
    .addOption(new Option('--backend <backend>', 'tower backend').choices(BACKENDS).default('auto'))
    .option('--epochs <n>', 'override epochs', int('--epochs'))
    .option('--json', 'JSON only (the default output is JSON too)', false)
    .action(async (o: { data: string; model: ModelKind; backend: (typeof BACKENDS)[number]; epochs?: number }) => {
      const { benchAdult } = await import('../src/bench/adult-bench.ts');
      printJson(
        await benchAdult({
          dataDir: o.data,
          kind: o.model,
          backend: o.backend,
          ...(o.epochs ? { epochs: o.epochs } : {}),
          logger: consoleLogger(),
        }),
      );
    });
  bench
    .command('table1')
    .description("the paper's Table 1 on generated logs: wide vs deep vs wide_deep held-out AUC, plus warm start vs scratch")
    .option('--rows-per-day <n>', 'generated rows per day', int('--rows-per-day'), 200_000)
    .option('--seed <n>', 'generator seed', int('--seed', 0), 7)
    .option('--epochs <n>', 'override epochs', int('--epochs'))
    .option('--config <path>', 'config (default examples/app-store/wdp.config.json)')
    .option('--data <dir>', 'reuse logs generated earlier (dt=2026-01-01 …)')
    .option('--no-warm-start', 'skip the warm-start comparison')
    .addOption(new Option('--backend <backend>', 'tower backend').choices(BACKENDS).default('auto'))
    .option('--json', 'JSON only (the default output is JSON too)', false)
    .action(
      async (o: {
        rowsPerDay: number;
        seed: number;
        epochs?: number;
        config?: string;
        data?: string;
        warmStart: boolean;
        backend: (typeof BACKENDS)[number];
      }) => {
        const { benchTable1 } = await import('../src/bench/table1-bench.ts');
        printJson(
          await benchTable1({
            rowsPerDay: o.rowsPerDay,
            seed: o.seed,
            backend: o.backend,
            warmStart: o.warmStart,
            logger: consoleLogger(),
            ...(o.epochs ? { epochs: o.epochs } : {}),
            ...(o.config ? { configUri: o.config } : {}),
            ...(o.data ? { dataDir: o.data } : {}),
          }),
        );
      },
    );
  addWorkflowCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (e) {
    if (e instanceof WdpError || (e instanceof Error && process.env['WDP_DEBUG'] !== '1')) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      if (process.env['WDP_DEBUG'] === '1') process.stderr.write(`${(e as Error).stack}\n`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}
