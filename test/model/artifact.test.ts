import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sliceBatch } from '../../src/features/batch-ops.ts';
import { FeatureTransforms } from '../../src/features/transforms.ts';
import { saveModelArtifact } from '../../src/model/artifact.ts';
import { type ManifestDraft, manifestDigestLine, manifestDraft, readManifest } from '../../src/model/manifest.ts';
import { ModelLoadError } from '../../src/model/errors.ts';
import { loadTrainableModel, specFor } from '../../src/model/trainable-model.ts';
import { WideDeepModel } from '../../src/model/wide-deep.ts';
import { chunks, tinyChunk, tinyConfig } from '../helpers/tiny-data.ts';

let dir: string;
let expected: Float32Array;
const testChunk = tinyChunk({ rows: 500, seed: 9 });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-artifact-'));
  const config = tinyConfig();
  const train = tinyChunk({ rows: 2000, seed: 1 });
  const transforms = await FeatureTransforms.fit(config, chunks(train));
  const model = await WideDeepModel.create(specFor(config, transforms, 'wide_deep'), { backend: 'onnx' });
  const { batch } = transforms.encode(train, { withLabels: true });
  for (let s = 0; s + 64 <= batch.size; s += 64) await model.trainBatch(sliceBatch(batch, s, s + 64));
  expected = await model.predict(transforms.encode(testChunk, { withLabels: false }).batch);
  await saveModelArtifact(
    join(dir, 'good'),
    manifestDraft({ modelId: 'm-test', kind: 'wide_deep', config, transforms, trainedOn: { files: [], rows: 2000, skippedRows: 0 } }),
    model.state(),
  );
  model.dispose();
});
after(() => rm(dir, { recursive: true, force: true }));

async function copyModel(name: string): Promise<string> {
  const dst = join(dir, name);
  await cp(join(dir, 'good'), dst, { recursive: true });
  return dst;
}

/**
 * Writes an edited manifest with a matching manifest.sha256, as a save would: these tests are
 * about what the loader checks after the digest (integrity.test.ts covers the digest itself).
 */
async function writeManifest(m: string, text: string): Promise<void> {
  await writeFile(join(m, 'manifest.json'), text);
  await writeFile(join(m, 'manifest.sha256'), manifestDigestLine(Buffer.from(text)));
}

for (const backend of ['onnx', 'tfjs'] as const) {
  test(`save then load gives identical predictions (${backend})`, async () => {
    const loaded = await loadTrainableModel(join(dir, 'good'), { backend });
    try {
      const p = await loaded.model.predict(loaded.transforms.encode(testChunk, { withLabels: false }).batch);
      let maxDiff = 0;
      for (let i = 0; i < p.length; i++) maxDiff = Math.max(maxDiff, Math.abs(p[i]! - expected[i]!));
      assert.ok(maxDiff < (backend === 'onnx' ? 1e-7 : 1e-5), `max |Δp| ${maxDiff}`);
      assert.equal(loaded.manifest.modelId, 'm-test');
    } finally {
      loaded.model.dispose();
    }
  });
}

test('a corrupted weight file is refused by checksum', async () => {
  const m = await copyModel('corrupt');
  const f = join(m, 'embeddings.safetensors');
  const bytes = await readFile(f);
  bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
  await writeFile(f, bytes);
  await assert.rejects(
    loadTrainableModel(m),
    (e: unknown) =>
      e instanceof ModelLoadError && /embeddings\.safetensors is corrupted: its sha256 does not match/.test((e as Error).message),
  );
});

test('a truncated weight file is refused by size', async () => {
  const m = await copyModel('short');
  const f = join(m, 'tower.safetensors');
  const bytes = await readFile(f);
  await writeFile(f, bytes.subarray(0, 100));
  await assert.rejects(loadTrainableModel(m), /tower\.safetensors is 100 bytes, the manifest says \d+/);
});

test('a truncated manifest gives a clear error', async () => {
  const m = await copyModel('trunc');
  const text = await readFile(join(m, 'manifest.json'), 'utf8');
  await writeManifest(m, text.slice(0, Math.floor(text.length / 2)));
  await assert.rejects(
    loadTrainableModel(m),
    (e: unknown) => e instanceof ModelLoadError && /manifest\.json is not valid JSON/.test((e as Error).message),
  );
});

test('a missing manifest (save interrupted) loads nothing', async () => {
  const m = await copyModel('nomanifest');
  await rm(join(m, 'manifest.json'));
  await rm(join(m, 'manifest.sha256'));
  await assert.rejects(loadTrainableModel(m), /no manifest\.json \(not a model folder, or the save did not finish\)/);
});

test('an unknown format version is refused', async () => {
  const m = await copyModel('future');
  const f = join(m, 'manifest.json');
  const json = JSON.parse(await readFile(f, 'utf8'));
  json.formatVersion = 99;
  await writeManifest(m, JSON.stringify(json));
  await assert.rejects(loadTrainableModel(m), /unknown model format version 99; this build reads 1/);
});

/**
 * A model saved by the build before the manifest was typed (test/model/fixtures/model-format-1,
 * written by saveTinyModel with a 4-unit tower; the manifest reformatted by biome, whitespace only).
 * These are its predictions on tinyChunk({ rows: 16, seed: 9 }) as that build computed them.
 */
const FORMAT_1_DIR = 'test/model/fixtures/model-format-1';
const FORMAT_1_PREDICTIONS = [
  0.5038074851036072, 0.41608840227127075, 0.22375713288784027, 0.48356497287750244, 0.41133248805999756, 0.4232023060321808,
  0.4288311302661896, 0.24439097940921783, 0.4091604948043823, 0.3603720963001251, 0.5003226399421692, 0.2953350841999054,
  0.39104369282722473, 0.461134135723114, 0.5555948615074158, 0.3720639646053314,
];

test('a format-1 model saved before the typed manifest loads, predicts as before, and saves back to the same weights as format 2', async () => {
  const loaded = await loadTrainableModel(FORMAT_1_DIR, { backend: 'onnx' });
  try {
    const p = await loaded.model.predict(loaded.transforms.encode(tinyChunk({ rows: 16, seed: 9 }), { withLabels: false }).batch);
    assert.deepEqual(Array.from(p), FORMAT_1_PREDICTIONS);
    // The typed fields come back typed: no casts needed to read them.
    assert.equal(loaded.manifest.config.deep.hiddenUnits[0], 4);
    assert.equal(loaded.manifest.transforms.label, 'y');

    const { formatVersion: _v, files: _f, ...draft } = loaded.manifest;
    const again = await saveModelArtifact(join(dir, 'format-1-again'), draft satisfies ManifestDraft, loaded.model.state());
    const original = JSON.parse(await readFile(join(FORMAT_1_DIR, 'manifest.json'), 'utf8'));
    // The same files, byte for byte, but format 2: a manifest digest, and no tower.onnx.
    delete original.files['tower.onnx'];
    assert.deepEqual(JSON.parse(JSON.stringify(again)), { ...original, formatVersion: 2 });
    assert.equal(
      await readFile(join(dir, 'format-1-again', 'manifest.sha256'), 'utf8'),
      manifestDigestLine(await readFile(join(dir, 'format-1-again', 'manifest.json'))),
    );
    assert.deepEqual(await readManifest(join(dir, 'format-1-again')), JSON.parse(JSON.stringify(again)));
  } finally {
    loaded.model.dispose();
  }
});

test('a manifest whose typed config is invalid is refused, naming the field', async () => {
  const m = await copyModel('badconfig');
  const f = join(m, 'manifest.json');
  const json = JSON.parse(await readFile(f, 'utf8'));
  json.config.deep.hiddenUnits = ['wide'];
  await writeManifest(m, JSON.stringify(json));
  await assert.rejects(
    loadTrainableModel(m),
    (e: unknown) => e instanceof ModelLoadError && /manifest\.json field config\.deep\.hiddenUnits\.0: /.test((e as Error).message),
  );
});
