/**
 * The public datasets of `../shared/datasets` (see its SOURCES.md) as CSV logs with a header, a
 * `row_id` column to hash validation rows by, and a train / test split, plus a feature config for
 * each written as a new user would from the README: every column declared by its kind, categoricals
 * in the wide part and embedded in the deep part, numerics bucketized and quantile-normalised. No
 * optimiser settings: a config without them runs on the defaults.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WdpConfigInput } from '../config/index.ts';
import { WdpError } from '../util/errors.ts';
import { murmur3 } from '../util/murmur3.ts';
import { ADULT_COLUMNS, ADULT_CONFIG } from './adult-bench.ts';

export interface BenchDataset {
  readonly name: string;
  readonly train: readonly string[];
  readonly test: string;
  readonly trainRows: number;
  readonly testRows: number;
  /** Features only: optimizer and training are left to the defaults. */
  readonly config: WdpConfigInput;
  /** Column hashed for validation rows during tuning. */
  readonly validationColumn: string;
  /**
   * Time-ordered logs: tune (and choose epochs) on the training partitions but the newest, scored
   * on the newest, instead of a hashed share of rows; see `benchQuality`.
   */
  readonly searchSplit?: { readonly train: readonly string[]; readonly validation: readonly string[] };
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new WdpError(
      `cannot read ${path}: ${(e as Error).message} (pass --datasets with the folder holding adult/, criteo/ and avazu/)`,
      {
        cause: e,
      },
    );
  }
}

function csvCell(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

async function writeCsv(path: string, header: readonly string[], rows: readonly (readonly string[])[]): Promise<void> {
  await writeFile(path, `${[header.join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\n')}\n`);
}

/**
 * Which of a sample's rows are its test rows: fold `index` of `count`, by a hash of the row
 * number (the samples have no time order to split by). Every row is in exactly one fold, so the
 * folds' test rows together are the whole sample; fold 0 of 5 is the fixed 80/20 split used
 * when there is one test set.
 */
export interface SampleFold {
  readonly index: number;
  readonly count: number;
}

export const SINGLE_SPLIT: SampleFold = { index: 0, count: 5 };

function isTestRow(i: number, fold: SampleFold): boolean {
  return Math.floor((murmur3(`row${i}`, 0x7e57) / 4294967296) * fold.count) === fold.index;
}

/** Model fields shared by the sample configs: the label, a row id, and defaults for the rest. */
function configFor(label: string, categorical: readonly string[], numeric: readonly string[]): WdpConfigInput {
  return {
    label,
    features: {
      ...Object.fromEntries(categorical.map((c) => [c, { kind: 'categorical', vocab: { minCount: 2 } }])),
      ...Object.fromEntries(numeric.map((c) => [c, { kind: 'numeric', default: 0, wideBuckets: 10, quantiles: 20 }])),
    },
    wide: { features: [...categorical, ...numeric], crosses: [] },
    deep: { embeddings: [...categorical], defaultEmbeddingDim: 8, numeric: [...numeric], hiddenUnits: [128, 64] },
    // No epochs: `bench quality` chooses them on validation rows (src/bench/quality-bench.ts).
    training: { batchSize: 128, shuffleBuffer: 100_000, seed: 1 },
    data: { idColumns: ['row_id'] },
    holdout: { kind: 'newest_partition' },
  };
}

/** UCI Adult with the TensorFlow tutorial's features; adult.test is the test set. */
export async function adultDataset(dir: string, work: string): Promise<BenchDataset> {
  const header = [...ADULT_COLUMNS.slice(0, -1), 'label', 'row_id'];
  const convert = async (src: string, dst: string) => {
    const rows: string[][] = [];
    for (const raw of (await readText(join(dir, src))).split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('|')) continue;
      const f = line.split(/,\s*/);
      if (f.length !== ADULT_COLUMNS.length) continue;
      const label = f[14]!.replace('.', '') === '>50K' ? '1' : '0';
      rows.push([...f.slice(0, 14).map((v) => (v === '?' ? '' : v)), label, `r${rows.length}`]);
    }
    await writeCsv(join(work, dst), header, rows);
    return rows.length;
  };
  const trainRows = await convert('adult.data', 'adult-train.csv');
  const testRows = await convert('adult.test', 'adult-test.csv');
  const { optimizer: _o, training: _t, ...features } = ADULT_CONFIG;
  return {
    name: 'adult',
    train: [join(work, 'adult-train.csv')],
    test: join(work, 'adult-test.csv'),
    trainRows,
    testRows,
    config: { ...features, training: { batchSize: 64, shuffleBuffer: 40_000, seed: 1 } },
    validationColumn: 'row_id',
  };
}

/** The first 10k rows of Criteo's train.txt: label, I1–I13 (counts), C1–C26 (hashed categoricals). */
export async function criteoDataset(dir: string, work: string, fold: SampleFold = SINGLE_SPLIT): Promise<BenchDataset> {
  const ints = Array.from({ length: 13 }, (_, i) => `I${i + 1}`);
  const cats = Array.from({ length: 26 }, (_, i) => `C${i + 1}`);
  const header = ['label', ...ints, ...cats, 'row_id'];
  const train: string[][] = [];
  const test: string[][] = [];
  let i = 0;
  for (const line of (await readText(join(dir, 'criteo_train_first10k.txt'))).split('\n')) {
    if (!line) continue;
    const f = line.split('\t');
    if (f.length !== 40) continue;
    (isTestRow(i, fold) ? test : train).push([...f, `r${i}`]);
    i++;
  }
  return sampleDataset(work, 'criteo', fold, header, train, test, configFor('label', cats, ints));
}

/** A sample's train and test rows written as CSV files under `work`, validated on a hash of `row_id`. */
async function sampleDataset(
  work: string,
  source: 'criteo' | 'avazu',
  fold: SampleFold,
  header: string[],
  train: string[][],
  test: string[][],
  config: BenchDataset['config'],
): Promise<BenchDataset> {
  const trainFile = join(work, `${source}-fold${fold.index}of${fold.count}-train.csv`);
  const testFile = join(work, `${source}-fold${fold.index}of${fold.count}-test.csv`);
  await writeCsv(trainFile, header, train);
  await writeCsv(testFile, header, test);
  return {
    name: `${source}-10k`,
    train: [trainFile],
    test: testFile,
    trainRows: train.length,
    testRows: test.length,
    config,
    validationColumn: 'row_id',
  };
}

/** The first 9,999 rows of Avazu's train.csv (two files; the second has no header). */
export async function avazuDataset(dir: string, work: string, fold: SampleFold = SINGLE_SPLIT): Promise<BenchDataset> {
  const part1 = (await readText(join(dir, 'avazu_train_part1.csv'))).split('\n').filter((l) => l.length > 0);
  const part2 = (await readText(join(dir, 'avazu_train_part2_noheader.csv'))).split('\n').filter((l) => l.length > 0);
  const columns = part1[0]!.split(',');
  // id is unique per row and hour is constant in this sample: neither is a feature.
  const cats = columns.filter((c) => !['id', 'click', 'hour'].includes(c));
  const header = [...columns, 'row_id'];
  const train: string[][] = [];
  const test: string[][] = [];
  [...part1.slice(1), ...part2].forEach((line, i) => {
    const f = line.split(',');
    if (f.length !== columns.length) return;
    (isTestRow(i, fold) ? test : train).push([...f, `r${i}`]);
  });
  return sampleDataset(work, 'avazu', fold, header, train, test, configFor('click', cats, []));
}
