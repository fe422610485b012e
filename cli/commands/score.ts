/** `wdp score`: batch-score one Parquet (or CSV) file with a model. */
import { type Command, Option } from 'commander';
import { SPLIT_TOWER_KINDS, type SplitTowerKind } from '../../src/scoring/split-tower.ts';
import { consoleLogger } from '../../src/util/log.ts';
import { int, printJson } from '../shared.ts';

export function addScoreCommand(program: Command): void {
  program
    .command('score')
    .description('batch-score a Parquet file with a model: id columns, score and model_version out')
    .requiredOption('--model <uri>', 'model folder')
    .requiredOption('--in <uri>', 'Parquet (or CSV) file to score')
    .requiredOption('--out <uri>', 'Parquet file to write')
    .addOption(new Option('--backend <backend>', 'scoring tower').choices(SPLIT_TOWER_KINDS).default('auto'))
    .option('--chunk-rows <n>', 'rows scored (and written as one row group) at a time', int('--chunk-rows'), 65536)
    .option('--json', 'print the result as JSON on stdout', false)
    .action(async (o: { model: string; in: string; out: string; backend: SplitTowerKind; chunkRows: number; json: boolean }) => {
      const { scoreParquet } = await import('../../src/scoring/batch.ts');
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
}
