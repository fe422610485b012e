/** `wdp generate`: sample app-store impression logs, one Parquet partition per day. */
import type { Command } from 'commander';
import { storeFor } from '../../src/storage/index.ts';
import { int, say } from '../shared.ts';

interface GenerateOptions {
  out: string;
  days: number;
  rowsPerDay: number;
  seed: number;
  startDate?: string;
  shuffleLabels: boolean;
  force: boolean;
}

export function addGenerateCommand(program: Command): void {
  program
    .command('generate')
    .description('write sample app-store impression logs, one Parquet partition per day')
    .requiredOption('--out <uri>', 'folder or s3:// prefix for dt=YYYY-MM-DD partitions')
    .option('--days <n>', 'days to generate', int('--days'), 1)
    .option('--rows-per-day <n>', 'rows per day', int('--rows-per-day'), 100_000)
    .option('--seed <n>', 'seed of the simulated world', int('--seed', 0), 7)
    .option('--start-date <yyyy-mm-dd>', 'first day (default: the day after the newest existing partition)')
    .option('--shuffle-labels', 'permute labels within each day (a deliberately bad day)', false)
    .option('--force', 'with --start-date: replace the files of days that hold some (refused otherwise)', false)
    .action(async (o: GenerateOptions) => {
      const { generateLogs } = await import('../../src/generator/generate.ts');
      const { createProgress } = await import('../../src/util/progress.ts');
      const progress = createProgress({ label: 'generate', total: o.days * o.rowsPerDay, unit: 'rows' });
      let r: Awaited<ReturnType<typeof generateLogs>>;
      try {
        r = await generateLogs(
          {
            days: o.days,
            rowsPerDay: o.rowsPerDay,
            seed: o.seed,
            out: o.out,
            shuffleLabels: o.shuffleLabels,
            replaceExisting: o.force,
            ...(o.startDate ? { startDate: o.startDate } : {}),
            onProgress: (done: number) => progress.update(done),
          },
          storeFor(o.out),
        );
      } finally {
        progress.stop();
      }
      say(`wrote ${r.rows} rows in ${r.files.length} file(s): ${r.days.join(', ')}`);
    });
}
