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
