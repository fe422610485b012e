/** Trains and saves tiny models for scoring tests (a second or less each). */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { ModelKind, WdpConfigInput } from '../../src/config/index.ts';
import { sliceBatch } from '../../src/features/batch-ops.ts';
import { FeatureTransforms } from '../../src/features/transforms.ts';
import { saveModelArtifact } from '../../src/model/artifact.ts';
import { manifestDraft } from '../../src/model/manifest.ts';
import { specFor } from '../../src/model/trainable-model.ts';
import { WideDeepModel } from '../../src/model/wide-deep.ts';
import { chunks, tinyChunk, tinyConfig } from './tiny-data.ts';

export interface TinyModelOptions {
  readonly kind?: ModelKind;
  readonly overrides?: Partial<WdpConfigInput>;
  readonly modelId?: string;
  readonly rows?: number;
}

/** Trains a tiny model for one epoch and saves it at dir/name; returns the folder. */
export async function saveTinyModel(dir: string, name: string, o: TinyModelOptions = {}): Promise<string> {
  const kind = o.kind ?? 'wide_deep';
  const config = tinyConfig(o.overrides ?? {});
  const train = tinyChunk({ rows: o.rows ?? 1000, seed: 1 });
  const transforms = await FeatureTransforms.fit(config, chunks(train));
  const model = await WideDeepModel.create(specFor(config, transforms, kind), { backend: 'onnx' });
  try {
    const { batch } = transforms.encode(train, { withLabels: true });
    for (let s = 0; s + 64 <= batch.size; s += 64) await model.trainBatch(sliceBatch(batch, s, s + 64));
    const uri = join(dir, name);
    await saveModelArtifact(
      uri,
      manifestDraft({
        modelId: o.modelId ?? `m-${name}`,
        kind,
        config,
        transforms,
        hasTower: model.tower !== undefined,
        trainedOn: { files: [], rows: train.numRows, skippedRows: 0 },
      }),
      model.state(),
    );
    return uri;
  } finally {
    model.dispose();
  }
}

/** One tiny model in a scratch folder for a test file, and throwaway copies of it to damage. */
export interface TinyModelScratch {
  /** The scratch folder (set once the file's `before` hook has run). */
  readonly dir: string;
  /** The intact model's folder. */
  readonly good: string;
  /** A fresh copy of the model folder `from`, inside the scratch folder. */
  copyOf(from: string): Promise<string>;
}

/**
 * Registers `before`/`after` hooks that save a tiny model under a new temporary folder named
 * `prefix…` and remove the folder when the file's tests end.
 */
export function tinyModelScratch(prefix: string): TinyModelScratch {
  let dir = '';
  let good = '';
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    good = await saveTinyModel(dir, 'good');
  });
  after(() => rm(dir, { recursive: true, force: true }));
  return {
    get dir() {
      return dir;
    },
    get good() {
      return good;
    },
    async copyOf(from) {
      const to = join(dir, `copy-${n++}`);
      await cp(from, to, { recursive: true });
      return to;
    },
  };
}
