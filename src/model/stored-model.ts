/**
 * Reading a model folder without building the model: manifest, config, transforms and weights,
 * each checked. The one model loader (loader.ts) re-exports this; scoring imports it from here
 * so that it never pulls in the training model and towers.
 */
import { parseConfig, type WdpConfig } from '../config/index.ts';
import { FeatureTransforms } from '../features/transforms.ts';
import { loadModelArtifact, type ModelManifest } from './artifact.ts';
import { ModelLoadError } from './errors.ts';
import type { WideDeepState } from './wide-deep.ts';

/** A model's files, decoded and checked, without a tower backend yet (cheap to hold). */
export interface ModelArtifact {
  readonly uri: string;
  readonly manifest: ModelManifest;
  readonly config: WdpConfig;
  readonly transforms: FeatureTransforms;
  readonly state: WideDeepState;
}

export interface ReadModelOptions {
  /**
   * Read only the weights (serving.safetensors when the model has one), without optimizer
   * slots: for scoring, which never trains. The tables are then read-only. @default false
   */
  readonly weightsOnly?: boolean;
}

/** Reads and checks every file of the model folder. Throws ModelLoadError, loading nothing, on any fault. */
export async function readModel(uri: string, options: ReadModelOptions = {}): Promise<ModelArtifact> {
  const { manifest, state } = await loadModelArtifact(uri, options);
  let config: WdpConfig;
  let transforms: FeatureTransforms;
  try {
    config = parseConfig(manifest.config, `${uri} manifest config`);
    transforms = FeatureTransforms.fromState(manifest.transforms);
  } catch (e) {
    throw new ModelLoadError(uri, (e as Error).message, { cause: e });
  }
  return { uri, manifest, config, transforms, state };
}
