/** `wdp bench <train|score|load|adult|table1|quality>`: benchmarks, JSON on stdout. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { AdultSettings } from '../../src/bench/adult-bench.ts';
import { MODEL_KINDS, type ModelKind } from '../../src/config/index.ts';
import { TOWER_KINDS, type TowerKind } from '../../src/model/tower/kinds.ts';
import { SPLIT_TOWER_KINDS, type SplitTowerKind } from '../../src/scoring/split-tower.ts';
import { consoleLogger } from '../../src/util/log.ts';
import { int, printJson, say, svgPath, writeOutputFile } from '../shared.ts';

const SHAPES = ['small', 'paper'] as const;
// Listed here, not imported, so the CLI does not load the trainer before a command runs.
const ADULT_SETTINGS: readonly AdultSettings[] = ['tuned', 'tutorial'];
type Shape = (typeof SHAPES)[number];

export function addBenchCommand(program: Command): void {
  const bench = program.command('bench').description('benchmarks (JSON on stdout), compared with the PyTorch peer where it applies');
  addTrainBench(bench);
  addScoreBench(bench);
  addInt8Bench(bench);
  addLoadBench(bench);
  addAdultBench(bench);
  addTable1Bench(bench);
  addQualityBench(bench);
}

function addTrainBench(bench: Command): void {
  bench
    .command('train')
    .description('training throughput on random ids, shapes as the PyTorch peer')
    .addOption(new Option('--shape <shape>', 'model shape').choices(SHAPES).default('small'))
    .addOption(new Option('--backend <backend>', 'tower backend').choices(TOWER_KINDS).default('auto'))
    .option('--batches <n>', 'timed batches per repeat', int('--batches'), 30)
    .option('--repeats <n>', 'timed repeats (median reported)', int('--repeats'), 5)
    .option('--no-peer', 'skip the PyTorch peer')
    .option('--json', 'JSON only (the default output is JSON too)', false)
    .action(async (o: { shape: Shape; backend: TowerKind; batches: number; repeats: number; peer: boolean }) => {
      const { benchTrain } = await import('../../src/bench/train-bench.ts');
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
    });
}

interface ScoreBenchOptions {
  shape: Shape;
  backend: SplitTowerKind;
  requests: number;
  rounds: number;
  batchRows?: number;
  modelDir?: string;
  peer: boolean;
  coldStart: boolean;
  int8: boolean;
}

function addScoreBench(bench: Command): void {
  bench
    .command('score')
    .description('scoring latency (1 user × 1000 candidates), batch rows/s and cold start, vs the PyTorch peer')
    .addOption(new Option('--shape <shape>', 'model shape').choices(SHAPES).default('small'))
    .addOption(new Option('--backend <backend>', 'scoring tower').choices(SPLIT_TOWER_KINDS).default('auto'))
    .option('--requests <n>', 'timed requests', int('--requests'), 50)
    .addOption(roundsOption())
    .option('--batch-rows <n>', 'rows in the batch-scoring file', int('--batch-rows'))
    .option('--model-dir <dir>', 'where to keep the generated benchmark model (reused across runs)')
    .option('--no-peer', 'skip the PyTorch peer')
    .option('--no-cold-start', 'skip the cold-start measurement')
    .option('--no-int8', 'skip the request path served by the int8 tower (a quantized copy of the model, made once)')
    .option('--json', 'JSON only (the default output is JSON too)', false)
    .action(async (o: ScoreBenchOptions) => {
      const { benchScore } = await import('../../src/bench/score-bench.ts');
      const log = consoleLogger();
      printJson(
        await benchScore({
          shape: o.shape,
          backend: o.backend,
          requests: o.requests,
          peerRuns: o.rounds,
          peer: o.peer,
          coldStart: o.coldStart,
          int8: o.int8,
          log: (m) => log.info(m),
          ...(o.batchRows ? { batchRows: o.batchRows } : {}),
          ...(o.modelDir ? { modelDir: o.modelDir } : {}),
        }),
      );
    });
}

/** Shared by the benches that pair their timing rounds with peer runs (peer.ts pairedP50Ratio). */
function roundsOption(): Option {
  return new Option('--rounds <n>', "rounds of timed requests, each followed by one peer run; a ratio is the median of the rounds' (≥ 2)")
    .argParser(int('--rounds', 2))
    .default(3);
}

function addInt8Bench(bench: Command): void {
  bench
    .command('int8')
    .description(
      'the opt-in int8 tower vs float32 (interleaved) and the PyTorch peer: score p50 from encoded ids, 1 user × 1000 candidates',
    )
    .addOption(new Option('--shape <shape>', 'model shape').choices(SHAPES).default('paper'))
    .option('--requests <n>', 'timed requests per variant', int('--requests'), 50)
    .addOption(roundsOption())
    .option('--model-dir <dir>', 'where to keep the generated benchmark model (shared with bench score)')
    .option('--no-peer', 'skip the PyTorch peer')
    .option('--json', 'JSON only (the default output is JSON too)', false)
    .action(async (o: { shape: Shape; requests: number; rounds: number; modelDir?: string; peer: boolean }) => {
      const { benchInt8 } = await import('../../src/bench/int8-bench.ts');
      const log = consoleLogger();
      printJson(
        await benchInt8({
          shape: o.shape,
          requests: o.requests,
          rounds: o.rounds,
          peer: o.peer,
          log: (m) => log.info(m),
          ...(o.modelDir ? { modelDir: o.modelDir } : {}),
        }),
      );
    });
}

interface LoadBenchCliOptions {
  shape: Shape;
  backend: SplitTowerKind;
  concurrency: number;
  seconds: number;
  warmup: number;
  candidates: number;
  varyPercent: number;
  planCacheSize?: number;
  modelDir?: string;
}

function addLoadBench(bench: Command): void {
  bench
    .command('load')
    .description(
      'the scoring server (wdp serve, on 127.0.0.1) under N concurrent callers for a fixed time, some moving random feature subsets into context: latency, errors, RSS, plan cache',
    )
    .addOption(new Option('--shape <shape>', 'model shape').choices(SHAPES).default('small'))
    .addOption(new Option('--backend <backend>', 'scoring tower').choices(SPLIT_TOWER_KINDS).default('auto'))
    .option('--concurrency <n>', 'concurrent callers', int('--concurrency'), 16)
    .option('--seconds <n>', 'measured seconds (after the warm-up)', int('--seconds'), 60)
    .option('--warmup <n>', 'warm-up seconds', int('--warmup', 0), 30)
    .option('--candidates <n>', 'candidates per request', int('--candidates'), 1000)
    .option('--vary-percent <n>', 'percent of requests with a random context feature set', int('--vary-percent', 0), 25)
    .option('--plan-cache-size <n>', "the server's plan cache size (default: the scorer's)", int('--plan-cache-size'))
    .option('--model-dir <dir>', 'where to keep the generated benchmark model (shared with bench score)')
    .option('--json', 'JSON only (the default output is JSON too)', false)
    .action(async (o: LoadBenchCliOptions) => {
      if (o.varyPercent > 100) throw new InvalidArgumentError(`--vary-percent must be at most 100, got ${o.varyPercent}`);
      const { benchLoad } = await import('../../src/bench/load-bench.ts');
      const log = consoleLogger();
      printJson(
        await benchLoad({
          shape: o.shape,
          backend: o.backend,
          concurrency: o.concurrency,
          seconds: o.seconds,
          warmupSeconds: o.warmup,
          candidates: o.candidates,
          varyShare: o.varyPercent / 100,
          // The server child takes the host's ORT setting from here (bin/wdp.mjs reads it the same way).
          allowSpinning: process.env['WDP_ORT_SPIN'] !== '0',
          log: (m) => log.info(m),
          ...(o.planCacheSize ? { planCacheSize: o.planCacheSize } : {}),
          ...(o.modelDir ? { modelDir: o.modelDir } : {}),
        }),
      );
    });
}

function addAdultBench(bench: Command): void {
  bench
    .command('adult')
    .description("train on UCI Adult with the TensorFlow tutorial's columns and crosses; accuracy and AUC on adult.test")
    .option('--data <dir>', 'folder with adult.data and adult.test', '../shared/datasets/adult')
    .addOption(new Option('--model <kind>', 'which parts to train').choices(MODEL_KINDS).default('wide_deep'))
    .addOption(new Option('--backend <backend>', 'tower backend').choices(TOWER_KINDS).default('auto'))
    .option('--epochs <n>', 'override epochs', int('--epochs'))
    .addOption(
      new Option(
        '--settings <name>',
        "tuned: the README's chosen settings; tutorial: the bench before issue 11 (12 epochs, 50 quantiles, no regularisation)",
      )
        .choices(ADULT_SETTINGS)
        .default('tuned'),
    )
    .addOption(new Option('--quantize <precision>', 'also compare the int8 serving tower with float32 on adult.test').choices(['int8']))
    .option('--config-patch <json>', 'JSON merged into the bench config, e.g. \'{"deep":{"dropout":0.2}}\'', jsonObject('--config-patch'))
    .option('--json', 'JSON only (the default output is JSON too)', false)
    .action(
      async (o: {
        data: string;
        model: ModelKind;
        backend: TowerKind;
        epochs?: number;
        settings: AdultSettings;
        quantize?: 'int8';
        configPatch?: Record<string, unknown>;
      }) => {
        const { benchAdult } = await import('../../src/bench/adult-bench.ts');
        printJson(
          await benchAdult({
            dataDir: o.data,
            kind: o.model,
            backend: o.backend,
            ...(o.epochs ? { epochs: o.epochs } : {}),
            settings: o.settings,
            ...(o.quantize ? { quantize: o.quantize } : {}),
            ...(o.configPatch ? { configPatch: o.configPatch } : {}),
            logger: consoleLogger(),
          }),
        );
      },
    );
}

/** A commander parser for an option holding a JSON object. */
function jsonObject(flag: string): (value: string) => Record<string, unknown> {
  return (value) => {
    let v: unknown;
    try {
      v = JSON.parse(value);
    } catch (e) {
      throw new InvalidArgumentError(`${flag}: not JSON (${(e as Error).message})`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidArgumentError(`${flag}: must be a JSON object`);
    return v as Record<string, unknown>;
  };
}

interface Table1BenchOptions {
  rowsPerDay: number;
  seed: number;
  epochs?: number;
  config?: string;
  data?: string;
  warmStart: boolean;
  backend: TowerKind;
}

function addTable1Bench(bench: Command): void {
  bench
    .command('table1')
    .description("the paper's Table 1 on generated logs: wide vs deep vs wide_deep held-out AUC, plus warm start vs scratch")
    .option('--rows-per-day <n>', 'generated rows per day', int('--rows-per-day'), 200_000)
    .option('--seed <n>', 'generator seed', int('--seed', 0), 7)
    .option('--epochs <n>', 'override epochs', int('--epochs'))
    .option('--config <path>', 'config (default examples/app-store/wdp.config.json)')
    .option('--data <dir>', 'reuse logs generated earlier (dt=2026-01-01 …)')
    .option('--no-warm-start', 'skip the warm-start comparison')
    .addOption(new Option('--backend <backend>', 'tower backend').choices(TOWER_KINDS).default('auto'))
    .option('--json', 'JSON only (the default output is JSON too)', false)
    .action(async (o: Table1BenchOptions) => {
      const { benchTable1 } = await import('../../src/bench/table1-bench.ts');
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
    });
}

interface QualityBenchCliOptions {
  datasets: string;
  only?: string[];
  model?: ModelKind[];
  trials: number;
  maxEpochs: number;
  eta: number;
  seed: number;
  refitSeeds?: number[];
  generatedRowsPerDay: number;
  sampleFolds: number;
  backend: TowerKind;
  plot?: string;
  configPatch?: Record<string, unknown>;
}

function addQualityBench(bench: Command): void {
  bench
    .command('quality')
    .description(
      'model quality on ../shared/datasets (Adult, Criteo and Avazu samples) and generated logs: wide, deep, wide & deep with defaults and after wdp tune, and a converged logistic-regression baseline',
    )
    .option('--datasets <dir>', 'folder holding adult/, criteo/ and avazu/', '../shared/datasets')
    .addOption(new Option('--only <name...>', 'datasets to run').choices(['adult', 'criteo', 'avazu', 'generated']))
    .addOption(new Option('--model <kind...>', 'model kinds to run').choices(MODEL_KINDS))
    .option('--trials <n>', 'tuning trials per model kind', int('--trials'), 9)
    .option('--max-epochs <n>', "tuning's last rung", int('--max-epochs'), 9)
    .option('--eta <n>', "tuning's halving factor", int('--eta', 2), 3)
    .option('--seed <n>', 'tuning seed', int('--seed', 0), 1)
    .option('--refit-seeds <n...>', 'seeds of the final refits (the table reports their mean)', (v: string, prev: number[] | undefined) => [
      ...(prev ?? []),
      int('--refit-seeds', 0)(v),
    ])
    .option('--generated-rows-per-day <n>', 'rows per generated day (3 train, 1 test)', int('--generated-rows-per-day'), 20_000)
    .option(
      '--sample-folds <n>',
      'cross-fitting folds for the Criteo and Avazu samples: each row is a test row once (1: one fixed 80/20 split)',
      int('--sample-folds'),
      5,
    )
    .addOption(new Option('--backend <backend>', 'tower backend').choices(TOWER_KINDS).default('auto'))
    .option(
      '--config-patch <json>',
      'JSON merged into every dataset\'s config (defaults and trial 0 included), e.g. \'{"wide":{"init":"logistic-regression"}}\'',
      jsonObject('--config-patch'),
    )
    .option('--json', 'JSON only (the default output is JSON too)', false)
    .option('--plot <file.svg>', "every model's test AUC against the baseline's, with 95% intervals, one panel per dataset", svgPath)
    .action(async (o: QualityBenchCliOptions) => {
      const { benchQuality } = await import('../../src/bench/quality-bench.ts');
      const result = await benchQuality({
        datasetsDir: o.datasets,
        trials: o.trials,
        maxEpochs: o.maxEpochs,
        eta: o.eta,
        seed: o.seed,
        ...(o.refitSeeds ? { refitSeeds: o.refitSeeds } : {}),
        generatedRowsPerDay: o.generatedRowsPerDay,
        sampleFolds: o.sampleFolds,
        backend: o.backend,
        logger: consoleLogger(),
        ...(o.configPatch ? { configPatch: o.configPatch } : {}),
        ...(o.only ? { datasets: o.only as ('adult' | 'criteo' | 'avazu' | 'generated')[] } : {}),
        ...(o.model ? { kinds: o.model } : {}),
      });
      printJson(result);
      // After the JSON: a plot that cannot be written must not lose the numbers.
      if (o.plot) {
        const { qualityPlotRowSchema, qualityPlotSvg } = await import('../../src/bench/quality-plot.ts');
        const rows = result.results.map((r) => qualityPlotRowSchema.parse(r));
        await writeOutputFile(o.plot, await qualityPlotSvg(rows, 'wdp bench quality: test AUC against a converged logistic regression'));
        say(`plot written to ${o.plot}`);
      }
    });
}
