/** `wdp score`: batch-score one Parquet (or CSV) file with a model. */
import { stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { canonicalLocation } from '../../src/model/save-target.ts';
import { SPLIT_TOWER_KINDS, type SplitTowerKind } from '../../src/scoring/split-tower.ts';
import { consoleLogger } from '../../src/util/log.ts';
import { int, printJson, say } from '../shared.ts';

export function addScoreCommand(program: Command): void {
  program
    .command('score')
    .description('batch-score a Parquet file with a model: id columns, score and model_version out')
    .requiredOption('--model <uri>', 'model folder')
    .requiredOption('--in <uri>', 'Parquet (or CSV) file to score')
    .requiredOption('--out <uri>', 'Parquet file to write; refused if a file is there (see --force)')
    .option('--force', 'replace a file already at --out: locally swapped in only once complete', false)
    .addOption(new Option('--backend <backend>', 'scoring tower').choices(SPLIT_TOWER_KINDS).default('auto'))
    .option('--chunk-rows <n>', 'rows scored (and written as one row group) at a time', int('--chunk-rows'), 65536)
    .option('--json', 'print the result as JSON on stdout', false)
    .action(
      async (o: { model: string; in: string; out: string; force: boolean; backend: SplitTowerKind; chunkRows: number; json: boolean }) => {
        await checkScoreOutput(o.in, o.out);
        const { scoreParquet } = await import('../../src/scoring/batch.ts');
        const { isS3Uri } = await import('../../src/storage/index.ts');
        const { lockOutput } = await import('../../src/storage/output-lock.ts');
        const log = consoleLogger();
        // An S3 --out's writer lock, held to the end of the upload (scoreParquet locks only local
        // outputs: the deployed batch workflow's Lambdas call it too, and a retry in another
        // container would otherwise wait out the lock of the attempt that was killed).
        const lock = isS3Uri(o.out) ? await lockOutput(o.out, 'this scores file') : undefined;
        let r: Awaited<ReturnType<typeof scoreParquet>>;
        try {
          r = await scoreParquet({
            model: o.model,
            input: o.in,
            output: o.out,
            existing: o.force ? 'replace' : 'refuse',
            chunkRows: o.chunkRows,
            scorerOptions: { backend: o.backend, log: (m) => log.info(m) },
          });
        } finally {
          await lock?.release();
        }
        if (o.json) printJson(r);
        else
          say(
            `scored ${r.rows} rows${r.skippedRows ? ` (${r.skippedRows} bad rows skipped)` : ''} with ${r.modelVersion} in ${r.seconds.toFixed(1)} s → ${r.output}`,
          );
      },
    );
}

/**
 * Refuses, before the model is loaded, an --out that would replace the logs being scored (the
 * --in file itself, or a file inside an --in folder, however spelled) or that is a folder.
 */
async function checkScoreOutput(input: string, output: string): Promise<void> {
  const [inAt, outAt] = await Promise.all([canonicalLocation(input), canonicalLocation(output)]);
  const s3 = (u: string) => u.startsWith('s3://');
  const separator = s3(inAt) ? '/' : sep;
  const local = (at: string) => (s3(at) ? undefined : stat(at).catch(() => undefined));
  const [inStat, outStat] = await Promise.all([local(inAt), local(outAt)]);
  if (outStat?.isDirectory())
    throw new InvalidArgumentError(
      `--out ${output} is a directory; give the Parquet file to write, e.g. --out ${join(output, 'scores.parquet')}`,
    );
  if (outAt === inAt)
    throw new InvalidArgumentError(`--out ${output} is the --in file: the scores would replace the logs; write them to another file`);
  if (s3(inAt) === s3(outAt) && (inStat?.isDirectory() ?? s3(inAt)) && outAt.startsWith(`${inAt}${separator}`))
    throw new InvalidArgumentError(
      `--out ${output} is inside the --in folder ${input}: the scores would be read as logs next time; write them outside it`,
    );
}
