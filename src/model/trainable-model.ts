/**
 * The one model loader: training (warm start), evaluation, validation and scoring all open a
 * model folder through here, so they agree on transforms and weights.
 */
import type { ModelKind, WdpConfig } from '../config/index.ts';
import type { FeatureTransforms } from '../features/transforms.ts';
import { ModelLoadError } from './errors.ts';
import { readModel, type ModelArtifact } from './read-model.ts';
import type { TowerKind } from './tower/select.ts';
import { WideDeepModel, type WideDeepSpec } from './wide-deep.ts';

// readModel lives in its own module so scoring can import it without the model class (and with
// it the tfjs/ONNX training towers) — the scoring Lambda's bundle must not carry training code.
export { readModel, type ModelArtifact, type ReadModelOptions } from './read-model.ts';

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

/** Reads a model and builds it on a tower backend, ready to predict or keep training. */
export async function loadModel(uri: string, options: { backend?: TowerKind; log?: (message: string) => void } = {}): Promise<LoadedModel> {
  const artifact = await readModel(uri);
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
