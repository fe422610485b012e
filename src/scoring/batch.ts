/**
 * Batch scoring: a Parquet file of rows in, a Parquet file of scores out, with memory bounded by
 * one row group, whatever the file size.
 *
 * Rows stream from the reader one row group at a time (readLogChunks), are scored, and each
 * chunk is written straight away as one output row group by hyparquet-writer's incremental
 * ParquetWriter into a temp file. At the end the file is renamed into place (local output: a
 * hidden temp file beside it, under the output's writer lock, storage/output-file.ts) or uploaded (S3 output: one PutObject of the finished file, whose ~16 bytes a row is small
 * next to the input's features).
 *
 * Output columns: the passthrough id columns (config data.idColumns, with their input type:
 * integers stay integers, read as decimal strings so 64-bit ids are exact; unsigned 64-bit
 * integers, dates, times and decimals become their text), `score` (DOUBLE,
 * the probability) and `model_version` (STRING).
 */
import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { fileWriter, ParquetWriter, type SchemaElement } from 'hyparquet-writer';
import type { ColumnRequirement } from '../data/logs.ts';
import { checkLogFile, listLogFiles, type LogFile, readLogChunks } from '../data/logs.ts';
import { DataError } from '../data/errors.ts';
import { canonicalLocation } from '../model/save-target.ts';
import { isS3Uri, storeFor } from '../storage/index.ts';
import { type ExistingFilePolicy, type OutputFile, refuseExistingOutput, startOutputFile } from '../storage/output-file.ts';
import { ScoringError } from './errors.ts';
import { checkServedModel, type ExpectedModel } from './expected-model.ts';
import { Scorer, type ScorerOptions } from './scorer.ts';

export interface ScoreParquetOptions {
  /** A loaded scorer, or the URI of a model folder. */
  readonly model: Scorer | string;
  /** URI of one Parquet (or CSV) file, local or s3://. */
  readonly input: string;
  /** URI of the Parquet file to write. */
  readonly output: string;
  /**
   * A file already at `output`: replaced (the workflow's batch step, whose retry rewrites its own
   * output) or refused before the model is loaded (`wdp score` without `--force`).
   * @default 'replace'
   */
  readonly existing?: ExistingFilePolicy;
  /**
   * Most rows scored (and written as one row group) at a time; input row groups are cut to this.
   * @default 65536
   */
  readonly chunkRows?: number;
  /** @default the model config's data.onBadRow */
  readonly onBadRow?: 'error' | 'skip';
  /** Options for loading `model` when it is a URI. */
  readonly scorerOptions?: ScorerOptions;
  /**
   * The model `model` was named as (the registry's champion): another model in its folder
   * (replaced or swapped by hand) is refused before a row is scored, as serving refuses it.
   */
  readonly expectedModel?: ExpectedModel;
  /** Called after each chunk with rows written so far. */
  readonly onProgress?: (rows: number) => void;
}

export interface ScoreParquetResult {
  readonly input: string;
  readonly output: string;
  readonly modelVersion: string;
  readonly rows: number;
  readonly skippedRows: number;
  readonly seconds: number;
}

type IdKind = 'int' | 'double' | 'string';

/**
 * Scores every row of `input` and writes `output`.
 * @example
 *   await scoreParquet({ model: 's3://models/app/current', input: 's3://in/part-0.parquet', output: 's3://out/part-0.parquet' });
 */
export async function scoreParquet(options: ScoreParquetOptions): Promise<ScoreParquetResult> {
  const started = performance.now();
  await refuseOutputInModel(typeof options.model === 'string' ? options.model : options.model.uri, options.output);
  // Locally: the writer lock before anything else (a second score to this file fails at once,
  // naming the first), and the rows into a hidden temp file renamed into place whole.
  const existing = options.existing ?? 'replace';
  const output = isS3Uri(options.output) ? undefined : await startOutputFile(options.output, 'this scores file', { existing });
  if (!output && existing === 'refuse') await refuseExistingOutput(options.output, 'this scores file');
  try {
    return await scoreInto(options, output, started);
  } finally {
    await output?.abandon();
  }
}

/**
 * Refuses an output inside the model's folder (local real paths compared, S3 prefixes as
 * written), before anything is written: a scores file there is one the model does not list, and
 * a replaced one of its own (`wdp score --out M/manifest.json --force`) left a model that no
 * longer loads.
 * @throws ScoringError naming both
 */
async function refuseOutputInModel(model: string, output: string): Promise<void> {
  const [modelAt, outAt] = await Promise.all([canonicalLocation(model), canonicalLocation(output)]);
  const separator = isS3Uri(modelAt) ? '/' : sep;
  if (outAt === modelAt || outAt.startsWith(`${modelAt}${separator}`))
    throw new ScoringError(
      `${output} is inside the model folder ${model}: the scores would be written among the model's files; write them outside it`,
    );
}

async function scoreInto(options: ScoreParquetOptions, output: OutputFile | undefined, started: number): Promise<ScoreParquetResult> {
  const scorer = typeof options.model === 'string' ? await Scorer.load(options.model, options.scorerOptions) : options.model;
  if (options.expectedModel)
    checkServedModel(options.expectedModel, typeof options.model === 'string' ? options.model : 'the scorer given', scorer.modelVersion);
  const onBadRow = options.onBadRow ?? scorer.manifest.config.data.onBadRow;
  const files = await listLogFiles([options.input]);
  if (files.length !== 1) throw new DataError({ source: options.input }, `expected one input file, found ${files.length}`);
  const file = files[0]!;

  const featureCols = scorer.transforms.requiredColumns(false);
  const featureNames = new Set(featureCols.map((c) => c.name));
  const idKinds = file.format === 'parquet' ? await idColumnKinds(file, scorer.idColumns) : new Map<string, IdKind>();
  const columns: ColumnRequirement[] = [...featureCols];
  for (const id of scorer.idColumns) {
    if (!featureNames.has(id)) columns.push({ name: id, kind: idKinds.get(id) === 'double' ? 'numeric' : 'string' });
  }

  const schema: SchemaElement[] = [{ name: 'root', num_children: scorer.idColumns.length + 2 }];
  for (const id of scorer.idColumns) {
    const kind = idKinds.get(id) ?? 'string';
    schema.push(
      kind === 'int'
        ? { name: id, type: 'INT64', repetition_type: 'OPTIONAL' }
        : kind === 'double'
          ? { name: id, type: 'DOUBLE', repetition_type: 'OPTIONAL' }
          : { name: id, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    );
  }
  schema.push({ name: 'score', type: 'DOUBLE', repetition_type: 'REQUIRED' });
  schema.push({ name: 'model_version', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' });

  // S3: the file is built in the local temp folder and uploaded whole once finished.
  const tmp = output?.tmp ?? join(tmpdir(), `wdp-score-${randomUUID()}.parquet`);
  let rows = 0;
  let skipped = 0;
  try {
    const writer = new ParquetWriter({ writer: fileWriter(tmp), schema, codec: 'SNAPPY' });
    for await (const chunk of readLogChunks([file], { columns, chunkRows: options.chunkRows ?? 65536 })) {
      const { scores, keptRows } = await scorer.scoreChunk(chunk, onBadRow);
      skipped += chunk.numRows - keptRows.length;
      if (keptRows.length === 0) continue;
      const m = keptRows.length;
      const columnData = scorer.idColumns.map((id) => {
        const src = chunk.columns.get(id) as ArrayLike<unknown>;
        const kind = idKinds.get(id) ?? 'string';
        const data =
          kind === 'double'
            ? Float64Array.from(keptRows, (r) => src[r] as number)
            : Array.from(keptRows, (r) => {
                const v = src[r];
                if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) return null;
                return kind === 'int' ? BigInt(v as string) : String(v);
              });
        return { name: id, data };
      });
      columnData.push({ name: 'score', data: Float64Array.from(scores) });
      columnData.push({ name: 'model_version', data: new Array<string>(m).fill(scorer.modelVersion) });
      await writer.write({ columnData, rowGroupSize: m });
      rows += m;
      options.onProgress?.(rows);
    }
    await writer.finish();
    if (output) await output.commit();
    else
      await storeFor(options.output).write(
        options.output,
        await readFile(tmp),
        (options.existing ?? 'replace') === 'refuse' ? { ifNoneMatch: '*' } : undefined,
      );
  } finally {
    if (!output) await rm(tmp, { force: true });
  }
  return {
    input: options.input,
    output: options.output,
    modelVersion: scorer.modelVersion,
    rows,
    skippedRows: skipped,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * The stored kind of each id column, from the file's footer, read by the same check training runs
 * (checkLogFile), so a file that is not Parquet is named like any other bad log file.
 */
async function idColumnKinds(file: LogFile, ids: readonly string[]): Promise<Map<string, IdKind>> {
  const kinds = new Map<string, IdKind>();
  if (ids.length === 0) return kinds;
  const facts = await checkLogFile(
    file,
    ids.map((name) => ({ name, kind: 'string', optional: true })),
  );
  for (const id of ids) {
    const f = facts.get(id);
    if (f === undefined) throw new DataError({ source: file.uri, column: id }, 'id column (config data.idColumns) is missing');
    // Numbers only: a DATE, TIMESTAMP, TIME or DECIMAL is stored as INT32/INT64 too, but its token
    // is no integer (BigInt('2026-01-01T00:00:00.000Z') threw a SyntaxError). An unsigned 64-bit id
    // (DuckDB's UBIGINT, what its hash() gives) may not fit INT64 (hyparquet-writer threw a
    // RangeError on 18446744073709551615), whether the footer says UINT_64 (DuckDB) or an
    // unsigned INTEGER (pyarrow's uint64): both pass through as text, exact.
    const number = f.family === 'number';
    kinds.set(
      id,
      number && /^(INT32|INT64)\b/.test(f.type) && !f.unsigned64 ? 'int' : number && /^(FLOAT|DOUBLE)\b/.test(f.type) ? 'double' : 'string',
    );
  }
  return kinds;
}
