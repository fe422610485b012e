/**
 * A stored model, read without building it: its manifest, config, fitted transforms and weights,
 * each checked. The middle of the three model-loading layers:
 *   artifact.ts        readModelFiles     files + checksums → manifest and weight tensors
 *                                        (manifest.ts readManifest: the manifest alone)
 *   stored-model.ts    readStoredModel    → config, transforms and weights (no tower backend)
 *   trainable-model.ts loadTrainableModel → a WideDeepModel on a tower backend, to predict or train
 * Scoring and warm starts read models here: this module never imports the model class (and
 * with it the tfjs/ONNX training towers), so the scoring Lambda's bundle carries no training code.
 */
import type { WdpConfig } from '../config/index.ts';
import { FeatureTransforms } from '../features/transforms.ts';
import { type ReadModelFilesOptions, readModelFiles } from './artifact.ts';
import type { ModelManifest } from './manifest.ts';
import { ModelLoadError } from './errors.ts';
import type { MappedTables } from './mapped-tables.ts';
import { SERVING_FILE } from './prefetch.ts';
import type { Int8TowerWeights } from './tower/int8.ts';
import type { WideDeepState } from './wide-deep.ts';

/** A model's files, decoded and checked, without a tower backend yet (cheap to hold). */
export interface StoredModel {
  readonly uri: string;
  readonly manifest: ModelManifest;
  readonly config: WdpConfig;
  readonly transforms: FeatureTransforms;
  readonly state: WideDeepState;
  /** The int8 serving tower, when read with `int8Tower: true` and the folder lists one. */
  readonly int8Tower?: Int8TowerWeights;
  /** Tables left in the serving file (read with `mapTables`); absent from `state.embeddings`. */
  readonly mappedTables?: MappedTables;
}

/** weightsOnly: for scoring, which never trains (tables come back read-only, without optimizer slots). */
export type ReadStoredModelOptions = ReadModelFilesOptions;

/** Reads and checks every file of the model folder. Throws ModelLoadError, loading nothing, on any fault. */
export async function readStoredModel(uri: string, options: ReadStoredModelOptions = {}): Promise<StoredModel> {
  const { manifest, state, int8Tower, mappedTables } = await readModelFiles(uri, options);
  let transforms: FeatureTransforms;
  try {
    transforms = FeatureTransforms.fromState(manifest.transforms);
    checkTowerShape(uri, manifest, transforms);
    checkTables(uri, manifest, transforms, state, mappedTables, options.weightsOnly === true && SERVING_FILE in manifest.files);
  } catch (e) {
    mappedTables?.close();
    if (e instanceof ModelLoadError) throw e;
    throw new ModelLoadError(uri, (e as Error).message, { cause: e });
  }
  return {
    uri,
    manifest,
    config: manifest.config,
    transforms,
    state,
    ...(int8Tower ? { int8Tower } : {}),
    ...(mappedTables ? { mappedTables } : {}),
  };
}

/**
 * The manifest's tower shape against what the rest of the manifest implies: its input is the deep
 * layout of the fitted transforms (the columns scoring assembles) and its hidden units are the
 * config's (what training rebuilds). readModelFiles has checked the weights against the shape;
 * this ties the shape to the columns that will be fed to it.
 */
function checkTowerShape(uri: string, manifest: ModelManifest, transforms: FeatureTransforms): void {
  const tower = manifest.tower;
  if (!tower) return;
  if (tower.inputDim !== transforms.deepLayout.inputDim)
    throw new ModelLoadError(
      uri,
      `the manifest's tower.inputDim is ${tower.inputDim}, but its transforms give the tower ${transforms.deepLayout.inputDim} input columns`,
    );
  const config = manifest.config.deep.hiddenUnits;
  if (tower.hiddenUnits.length !== config.length || tower.hiddenUnits.some((u, i) => u !== config[i]))
    throw new ModelLoadError(
      uri,
      `the manifest's tower.hiddenUnits [${tower.hiddenUnits.join(', ')}] are not its config.deep.hiddenUnits [${config.join(', ')}]`,
    );
}

/**
 * The wide table and the embedding tables against the layout the transforms give them: the
 * weights of a re-signed file pass every digest, and neither reader checks a table's shape
 * (there is none in the manifest to check it against). Without this a serving file without its
 * wide table served a wide & deep model without its wide part, and a shorter one served NaN.
 * @param fromServingFile whether the tables came from SERVING_FILE (readModelFiles' weightsOnly
 *   path, taken when the manifest lists one) rather than the training files; names the file.
 */
function checkTables(
  uri: string,
  manifest: ModelManifest,
  transforms: FeatureTransforms,
  state: WideDeepState,
  mapped: MappedTables | undefined,
  fromServingFile: boolean,
): void {
  const refuse = (file: string, tensor: string, t: { rows: number; dim: number } | undefined, rows: number, dim: number, part: string) => {
    if (!t) throw new ModelLoadError(uri, `${file} has no tensor ${tensor}, which a ${manifest.kind} model needs`);
    if (t.rows !== rows || t.dim !== dim)
      throw new ModelLoadError(
        uri,
        `${file}: tensor ${tensor} is [${t.rows}, ${t.dim}], but the transforms' ${part} layout needs [${rows}, ${dim}]`,
      );
  };
  if (manifest.kind !== 'deep')
    refuse(
      fromServingFile ? SERVING_FILE : 'wide.safetensors',
      fromServingFile ? 'wide' : 'wide/weights',
      state.wide,
      transforms.wideLayout.size,
      1,
      'wide',
    );
  if (manifest.kind !== 'wide')
    for (const e of transforms.deepLayout.embeddings)
      refuse(
        fromServingFile ? SERVING_FILE : 'embeddings.safetensors',
        fromServingFile ? `embedding/${e.feature}` : `embedding/${e.feature}/weights`,
        state.embeddings.get(e.feature) ?? mapped?.tables.get(e.feature),
        e.vocabSize,
        e.dim,
        'deep',
      );
}
