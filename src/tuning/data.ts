/**
 * The rows a search trains and scores on, read once and held encoded in memory: transforms are
 * fitted on the training side only, then training and validation rows are encoded by them (the
 * one transform path). Every trial reuses them, so a trial costs only its own epochs.
 *
 * The config's final holdout is never read into either side: with `holdout.kind: "hash"` its rows
 * are dropped before anything is encoded (an unreadable label there does not even fail), and with
 * `newest_partition` the caller passes the training days only, as `wdp train` does.
 */
import { holdoutHashColumn, type WdpConfig } from '../config/index.ts';
import { listLogFiles, readLogChunks, type ColumnRequirement } from '../data/logs.ts';
import type { RowChunk } from '../data/row-chunk.ts';
import { splitRows, withSplitColumn, type RowSplit } from '../data/row-split.ts';
import { concatBatches } from '../features/batch-ops.ts';
import type { EncodedBatch } from '../features/encoded-batch.ts';
import { FeatureTransforms } from '../features/transforms.ts';
import { TrainingError } from '../training/errors.ts';
import { refuseValidationInData } from '../training/inputs.ts';
import { WdpError } from '../util/errors.ts';

export class TuningDataError extends WdpError {}

/** Rows held in memory by default at most (training + validation): ~1–2 KB each once encoded. */
export const DEFAULT_MAX_TUNING_ROWS = 2_000_000;

export interface TuningDataOptions {
  readonly config: WdpConfig;
  /** Training logs (files, folders or prefixes; local or s3://). */
  readonly data: readonly string[];
  /** Separate validation logs; else a hashed share of `data`. */
  readonly validation?: readonly string[];
  /** Share of `data` hashed into validation when `validation` is not given. @default 0.2 */
  readonly validationFraction?: number;
  /** Column whose hash picks validation rows. @default the holdout's hash column, else data.idColumns[0] */
  readonly validationColumn?: string;
  /** Refuse to hold more rows than this in memory. @default DEFAULT_MAX_TUNING_ROWS */
  readonly maxRows?: number;
  readonly onRows?: (rows: number) => void;
}

export interface TuningData {
  readonly transforms: FeatureTransforms;
  readonly train: EncodedBatch;
  readonly validation: EncodedBatch;
  /** How validation was chosen, for the tuning record. */
  readonly validationSource: { kind: 'files'; uris: string[] } | { kind: 'hash'; column: string; fraction: number };
  readonly skippedRows: number;
}

const TUNE_VALIDATION_HINT =
  'give separate files, or leave --validation out to validate on a hashed share of --data (--validation-fraction, --validation-column)';

/** Reads, fits and encodes both sides. */
export async function prepareTuningData(options: TuningDataOptions): Promise<TuningData> {
  const { config } = options;
  const maxRows = options.maxRows ?? DEFAULT_MAX_TUNING_ROWS;
  const files = await listLogFiles([...options.data]);
  if (files.length === 0) throw new TuningDataError(`no Parquet or CSV logs under ${options.data.join(', ')}`);
  const holdoutColumn = holdoutHashColumn(config);
  const holdoutFraction = config.holdout.kind === 'hash' ? config.holdout.fraction : 0;
  const dropHoldout: RowSplit | undefined = holdoutColumn ? { column: holdoutColumn, fraction: holdoutFraction, take: 'train' } : undefined;

  let trainSplit: RowSplit | undefined;
  let validationSplit: RowSplit | undefined;
  let validationSource: TuningData['validationSource'];
  const validationFiles = options.validation ? await listLogFiles([...options.validation]) : undefined;
  if (validationFiles) {
    if (validationFiles.length === 0)
      throw new TuningDataError(`no Parquet or CSV logs under --validation ${options.validation!.join(', ')}`);
    await refuseValidationInData(options.data, options.validation!, TUNE_VALIDATION_HINT).catch((e: unknown) => {
      throw e instanceof TrainingError ? new TuningDataError(e.message, { cause: e }) : e;
    });
    validationSource = { kind: 'files', uris: validationFiles.map((f) => f.uri) };
  } else {
    const fraction = options.validationFraction ?? 0.2;
    if (!(fraction > 0 && fraction < 1)) throw new TuningDataError(`validation fraction must be in (0, 1), got ${fraction}`);
    const column = options.validationColumn ?? holdoutColumn ?? config.data.idColumns[0];
    if (!column) {
      throw new TuningDataError(
        'tuning needs validation rows: pass --validation PATH, or a column to hash a share of the training rows by (--validation-column, data.idColumns or a hash holdout column)',
      );
    }
    // The row split hashes with one seed, so on the holdout's own column the validation share is
    // taken from the band right above the holdout's: [h, h + f·(1 − h)) of the hash range.
    const cut = column === holdoutColumn ? holdoutFraction + fraction * (1 - holdoutFraction) : fraction;
    trainSplit = { column, fraction: cut, take: 'train' };
    validationSplit = { column, fraction: cut, take: 'holdout' };
    validationSource = { kind: 'hash', column, fraction };
  }

  const baseColumns: ColumnRequirement[] = FeatureTransforms.requiredColumns(config, true);
  const columnsFor = (...splits: (RowSplit | undefined)[]) => splits.reduce((cols, s) => withSplitColumn(cols, s), baseColumns);
  const trainColumns = columnsFor(dropHoldout, trainSplit);
  const trainRows = () => splitRows(splitRows(readLogChunks(files, { columns: trainColumns }), dropHoldout), trainSplit);

  const transforms = await FeatureTransforms.fit(config, trainRows(), { seed: config.training.seed });

  let rows = 0;
  let skippedRows = 0;
  const encodeAll = async (chunks: AsyncIterable<RowChunk>, side: string): Promise<EncodedBatch> => {
    const batches: EncodedBatch[] = [];
    for await (const chunk of chunks) {
      const { batch, skipped } = transforms.encode(chunk, { withLabels: true, onBadRow: config.data.onBadRow });
      skippedRows += skipped;
      rows += batch.size;
      if (rows > maxRows) {
        throw new TuningDataError(
          `tuning holds its rows in memory and stops at ${maxRows} rows (reading the ${side} side of ${chunk.source}); sample the logs or raise --max-rows`,
        );
      }
      if (batch.size > 0) batches.push(batch);
      options.onRows?.(rows);
    }
    if (batches.length === 0) throw new TuningDataError(`the ${side} side has no usable rows`);
    return concatBatches(batches);
  };
  const train = await encodeAll(trainRows(), 'training');
  const validation = validationFiles
    ? await encodeAll(readLogChunks(validationFiles, { columns: baseColumns }), 'validation')
    : await encodeAll(
        splitRows(splitRows(readLogChunks(files, { columns: columnsFor(dropHoldout, validationSplit) }), dropHoldout), validationSplit),
        'validation',
      );
  return { transforms, train, validation, validationSource, skippedRows };
}
