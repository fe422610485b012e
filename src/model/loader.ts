/**
 * The one model loader: training (warm start), evaluation, validation and scoring all open a
 * model folder through here, so they agree on transforms and weights.
 */
import { parseConfig, type ModelKind, type WdpConfig } from '../config/index.ts';
import { FeatureTransforms } from '../features/transforms.ts';
import { loadModelArtifact, type ModelManifest } from './artifact.ts';
import { ModelLoadError } from './errors.ts';
import type { TowerKind } from './tower/select.ts';
// Types only: the model class (and with it the tfjs/ONNX tower code) is imported lazily by
// loadModel, so scoring, which only calls readModel, never loads training code.
import type { WideDeepModel, WideDeepSpec, WideDeepState } from './wide-deep.ts';

/** A model's files, decoded and checked, without a tower backend yet (cheap to hold). */
export interface ModelArtifact {
  readonly uri: string;
  readonly manifest: ModelManifest;
  readonly config: WdpConfig;
  readonly transforms: FeatureTransforms;
  readonly state: WideDeepState;
}

export interface LoadedModel extends ModelArtifact {
  readonly model: WideDeepModel;
}

/** The model spec implied by a config and fitted transforms. */
export function specFor(config: WdpConfig, transforms: FeatureTransforms, kind: ModelKind): WideDeepSpec {
  return {
    kind,
    wideLayout: transforms.wideLayout,
    deepLayout: transforms.deepLayout,
    hiddenUnits: config.deep.hiddenUnits,
    ftrl: config.optimizer.ftrl,
    adagrad: config.optimizer.adagrad,
    seed: config.training.seed,
  };
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

/** Reads a model and builds it on a tower backend, ready to predict or keep training. */
export async function loadModel(
  uri: string,
  options: { backend?: TowerKind; log?: (message: string) => void } = {},
): Promise<LoadedModel> {
  const artifact = await readModel(uri);
  const { WideDeepModel } = await import('./wide-deep.ts');
  let model: WideDeepModel;
  try {
    model = await WideDeepModel.create(specFor(artifact.config, artifact.transforms, artifact.manifest.kind), {
      state: artifact.state,
      ...(options.backend ? { backend: options.backend } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
  } catch (e) {
    throw new ModelLoadError(uri, (e as Error).message, { cause: e });
  }
  return { ...artifact, model };
}
