/**
 * A stored model built on a tower backend (see stored-model.ts for the three loading layers):
 * what evaluation, validation, the benchmarks and `wdp evaluate` use to predict with a saved
 * model or keep training it. Scoring does not come here (it reads a StoredModel).
 */
import type { ModelKind, WdpConfig } from '../config/index.ts';
import type { FeatureTransforms } from '../features/transforms.ts';
import { ModelLoadError } from './errors.ts';
import { readStoredModel, type StoredModel } from './stored-model.ts';
import type { TowerKind } from './tower/kinds.ts';
import { WideDeepModel, type WideDeepSpec } from './wide-deep.ts';

export interface TrainableModel extends StoredModel {
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
    ...(config.deep.dropout ? { dropout: config.deep.dropout } : {}),
    ...(config.deep.embeddingL2 ? { embeddingL2: config.deep.embeddingL2 } : {}),
    ...(config.deep.towerL2 ? { towerL2: config.deep.towerL2 } : {}),
  };
}

/** Reads a model and builds it on a tower backend, ready to predict or keep training. */
export async function loadTrainableModel(
  uri: string,
  options: { backend?: TowerKind; log?: (message: string) => void } = {},
): Promise<TrainableModel> {
  const stored = await readStoredModel(uri);
  let model: WideDeepModel;
  try {
    model = await WideDeepModel.create(specFor(stored.config, stored.transforms, stored.manifest.kind), {
      state: stored.state,
      ...(options.backend ? { backend: options.backend } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
  } catch (e) {
    throw new ModelLoadError(uri, (e as Error).message, { cause: e });
  }
  return { ...stored, model };
}
