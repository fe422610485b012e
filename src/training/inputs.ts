/**
 * What `wdp train` reads, from its flags and the config, as the workflow's Ingest + Train +
 * Validate would: with `holdout.kind: "hash"` the hashed share of the training logs is held out
 * (never trained on, nor fitted) and measured after training, as the workflow measures a
 * candidate; and files given as validation or holdout must not be training files, since rows
 * that were trained on make both look better than the model is.
 */
import { holdoutHashColumn, type WdpConfig } from '../config/index.ts';
import { listLogFiles } from '../data/logs.ts';
import type { RowSplit } from '../data/row-split.ts';
import { canonicalLocation } from '../model/save-target.ts';
import { TrainingError } from './errors.ts';

export interface TrainInputsRequest {
  readonly config: WdpConfig;
  /** `--data`: files or prefixes. */
  readonly data: readonly string[];
  /** `--holdout`, when given. */
  readonly holdout?: readonly string[];
  /** `--validation`, when given. */
  readonly validation?: readonly string[];
}

/** The TrainOptions fields this decides (train.ts). */
export interface TrainInputs {
  /** The training side of the config's hashed holdout. */
  readonly split?: RowSplit;
  /** Logs measured after training: `--holdout`, else with a hashed holdout the training logs. */
  readonly holdout?: readonly string[];
  /** The held-out side of the hashed holdout, read from `holdout`. */
  readonly holdoutSplit?: RowSplit;
  /** One line for the log saying what is held out, when the config holds anything out. */
  readonly note?: string;
}

/**
 * Decides the split and the holdout, and refuses validation or holdout logs that are training
 * logs (compared file by file, after expanding prefixes and resolving symlinks).
 * @throws TrainingError naming both arguments and the shared file
 */
export async function planTrainInputs(request: TrainInputsRequest): Promise<TrainInputs> {
  const { config } = request;
  const column = holdoutHashColumn(config);
  const split: RowSplit | undefined =
    config.holdout.kind === 'hash' && column ? { column, fraction: config.holdout.fraction, take: 'train' } : undefined;

  const dataFiles = await canonicalFiles(request.data);
  if (request.validation && request.validation.length > 0) {
    const validationFiles = await canonicalFiles(request.validation);
    refuseShared('--validation', validationFiles, '--data', dataFiles, 'validation rows would be training rows too', VALIDATION_HINT);
    if (request.holdout && request.holdout.length > 0) {
      // Early stopping picks the weights that score best on validation: on the holdout's own
      // rows, the holdout would no longer be an unseen measure.
      const holdoutFiles = await canonicalFiles(request.holdout);
      refuseShared('--validation', validationFiles, '--holdout', holdoutFiles, 'the holdout would pick the model', 'give separate files');
    }
  }
  if (request.holdout && request.holdout.length > 0 && !split) {
    // With a hashed holdout only its held-out share of these files is read, which training never
    // sees, so the training files are a fine --holdout there; otherwise every row was trained on.
    const holdoutFiles = await canonicalFiles(request.holdout);
    refuseShared('--holdout', holdoutFiles, '--data', dataFiles, 'holdout rows would be training rows too', HOLDOUT_HINT);
  }
  if (!split) return request.holdout && request.holdout.length > 0 ? { holdout: request.holdout } : {};
  const holdoutSplit: RowSplit = { ...split, take: 'holdout' };
  const holdout = request.holdout && request.holdout.length > 0 ? request.holdout : request.data;
  const share = `${+(100 * split.fraction).toPrecision(4)}%`;
  return {
    split,
    holdout,
    holdoutSplit,
    note: `holdout.kind "hash": the ${share} of rows whose "${split.column}" hashes into the holdout are left out of training and measured after it${request.holdout && request.holdout.length > 0 ? ' (read from --holdout)' : ''}`,
  };
}

/**
 * The validation check alone, for `wdp tune --validation` (which has its own way to validate on a
 * hashed share, hence its own hint): validation logs that are training logs score trials on rows
 * they were trained on, and the search would pick whatever overfits best.
 * @throws TrainingError naming both arguments and the shared file
 */
export async function refuseValidationInData(data: readonly string[], validation: readonly string[], hint: string): Promise<void> {
  if (validation.length === 0) return;
  const [dataFiles, validationFiles] = await Promise.all([canonicalFiles(data), canonicalFiles(validation)]);
  refuseShared('--validation', validationFiles, '--data', dataFiles, 'validation rows would be training rows too', hint);
}

const VALIDATION_HINT =
  'give separate files, or leave --validation out and set training.validation to {"kind": "hash", "fraction": 0.1} to validate on a hashed share of the training rows';
const HOLDOUT_HINT =
  'give separate files, or set holdout to {"kind": "hash", "fraction": 0.1, "column": …} to hold out a hashed share of the training rows';

/** Each given argument with the canonical locations of the log files it names. */
async function canonicalFiles(uris: readonly string[]): Promise<Listed[]> {
  return Promise.all(
    uris.map(async (given) => {
      const files = new Set(await Promise.all((await listLogFiles([given])).map((f) => canonicalLocation(f.uri))));
      return { given, files, isFile: files.size === 1 && files.has(await canonicalLocation(given)) };
    }),
  );
}

/** One argument and what it names: `isFile` when it is a file itself, not a folder or prefix. */
type Listed = { readonly given: string; readonly files: ReadonlySet<string>; readonly isFile: boolean };

function refuseShared(aFlag: string, a: readonly Listed[], bFlag: string, b: readonly Listed[], why: string, hint: string): void {
  for (const x of a) {
    for (const y of b) {
      const shared = [...x.files].find((f) => y.files.has(f));
      if (shared === undefined) continue;
      const same = x.isFile && y.isFile;
      throw new TrainingError(
        `${aFlag} ${x.given} ${same ? 'is the same file as' : `and ${bFlag} ${y.given} both hold`} ${same ? `${bFlag} ${y.given}` : shared}: ${why}; ${hint}`,
      );
    }
  }
}
