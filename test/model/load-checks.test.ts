/**
 * What the loaders check beyond the digests: a manifest re-signed after an edit (or weight files
 * rewritten with their sha256 updated) passes every size and sha256 check, so the tower shape, the
 * weights' finiteness and a format-1 label must be checked on their own.
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decodeTensors, encodeTensors } from '../../src/model/safetensors.ts';
import { copyModelFiles, INT8_TOWER_FILE, readModelFiles } from '../../src/model/artifact.ts';
import { ModelLoadError } from '../../src/model/errors.ts';
import { readManifest } from '../../src/model/manifest.ts';
import { readStoredModel } from '../../src/model/stored-model.ts';
import { loadTrainableModel } from '../../src/model/trainable-model.ts';
import { Scorer } from '../../src/scoring/scorer.ts';
import { type ManifestJson, resign, setTensorValue } from '../helpers/model-edit.ts';
import { TINY_CONFIG } from '../helpers/tiny-data.ts';
import { saveTinyModel, tinyModelScratch } from '../helpers/tiny-model.ts';

const scratch = tinyModelScratch('wdp-load-checks-');

/** A rejection that is a ModelLoadError whose message matches every pattern. */
const loadError =
  (...patterns: RegExp[]) =>
  (e: unknown) =>
    e instanceof ModelLoadError && patterns.every((p) => p.test(e.message));

/** Every path that reads the tower from `file` (serving.safetensors or tower.safetensors). */
function pathsReading(file: 'serving.safetensors' | 'tower.safetensors'): ((uri: string) => Promise<unknown>)[] {
  return file === 'serving.safetensors'
    ? [
        (u) => readModelFiles(u, { weightsOnly: true }),
        async (u) => (await Scorer.load(u, { cache: false })).dispose(),
        async (u) => (await Scorer.load(u, { cache: false, backend: 'js' })).dispose(),
      ]
    : [(u) => readModelFiles(u), (u) => readStoredModel(u), async (u) => (await loadTrainableModel(u)).model.dispose()];
}

describe("the tower's tensors against the manifest's tower shape", () => {
  test('hiddenUnits edited ([8, 4] → [4, 8]) and re-signed: every path refuses, naming the file and W0', async () => {
    const m = await scratch.copyOf(scratch.good);
    await resign(m, (j) => {
      (j.tower as { hiddenUnits: number[] }).hiddenUnits = [4, 8];
    });
    for (const file of ['serving.safetensors', 'tower.safetensors'] as const)
      for (const load of pathsReading(file))
        await assert.rejects(
          load(m),
          loadError(
            new RegExp(
              `${file.replace('.', '\\.')}: tensor W0 is \\[\\d+, 8\\], but the manifest's tower \\(inputDim \\d+, hiddenUnits \\[4, 8\\]\\) needs \\[\\d+, 4\\]`,
            ),
          ),
        );
  });

  test('the same with config.deep.hiddenUnits edited alike: still refused by the weights', async () => {
    const m = await scratch.copyOf(scratch.good);
    await resign(m, (j) => {
      (j.tower as { hiddenUnits: number[] }).hiddenUnits = [4, 8];
      (j.config as { deep: { hiddenUnits: number[] } }).deep.hiddenUnits = [4, 8];
    });
    await assert.rejects(Scorer.load(m, { cache: false }), loadError(/serving\.safetensors: tensor W0 is/));
  });

  test('a layer the weights do not have (hiddenUnits [8, 4, 2]): refused naming the first tensor that does not fit', async () => {
    const m = await scratch.copyOf(scratch.good);
    await resign(m, (j) => {
      (j.tower as { hiddenUnits: number[] }).hiddenUnits = [8, 4, 2];
    });
    await assert.rejects(
      readModelFiles(m, { weightsOnly: true }),
      loadError(/serving\.safetensors: tensor W2 is \[4, 1\], but .* needs \[4, 2\]/),
    );
  });

  test('a tower tensor the manifest has no layer for is refused', async () => {
    const m = await scratch.copyOf(scratch.good);
    const file = join(m, 'serving.safetensors');
    const tensors = decodeTensors(await readFile(file), 'serving.safetensors');
    tensors.set('W7', { shape: [1], data: new Float32Array(1) });
    await writeFile(file, encodeTensors(tensors, { format: 'wdp-serving' }));
    await resign(m);
    await assert.rejects(
      readModelFiles(m, { weightsOnly: true }),
      loadError(/serving\.safetensors has tensor W7, which is not part of the manifest's tower/),
    );
  });

  test("config.deep.hiddenUnits edited alone, or tower.inputDim against the transforms' columns: refused", async () => {
    const m = await scratch.copyOf(scratch.good);
    await resign(m, (j) => {
      (j.config as { deep: { hiddenUnits: number[] } }).deep.hiddenUnits = [8, 5];
    });
    await assert.rejects(
      readStoredModel(m, { weightsOnly: true }),
      loadError(/tower\.hiddenUnits \[8, 4\] are not its config\.deep\.hiddenUnits \[8, 5\]/),
    );

    // inputDim edited with W0 rewritten to fit it: the weights fit the shape, the columns do not.
    const n = await scratch.copyOf(scratch.good);
    const j = JSON.parse(await readFile(join(n, 'manifest.json'), 'utf8')) as ManifestJson & { tower: { inputDim: number } };
    const D = j.tower.inputDim;
    for (const name of ['serving.safetensors', 'tower.safetensors']) {
      const file = join(n, name);
      const tensors = decodeTensors(await readFile(file), name);
      for (const w of name === 'tower.safetensors' ? ['W0', 'acc_W0'] : ['W0'])
        tensors.set(w, { shape: [D + 1, 8], data: new Float32Array((D + 1) * 8) });
      await writeFile(file, encodeTensors(tensors));
    }
    await resign(n, (x) => {
      (x.tower as { inputDim: number }).inputDim = D + 1;
    });
    await assert.rejects(
      Scorer.load(n, { cache: false }),
      loadError(new RegExp(`tower\\.inputDim is ${D + 1}, but its transforms give the tower ${D} input columns`)),
    );
  });

  test('a manifest with a tower shape that lists no tower.safetensors: a full load refuses it (no fresh random tower)', async () => {
    const m = await scratch.copyOf(scratch.good);
    await rm(join(m, 'tower.safetensors'));
    await resign(m, (j) => {
      delete j.files['tower.safetensors'];
    });
    await assert.rejects(loadTrainableModel(m), loadError(/has a tower shape but lists no tower\.safetensors/));
  });
});

describe('non-finite weights are refused at the load, naming the tensor', () => {
  const cases: { file: 'serving.safetensors' | 'tower.safetensors' | 'wide.safetensors'; tensor: string; value: number }[] = [
    { file: 'serving.safetensors', tensor: 'b1', value: Number.NaN },
    { file: 'serving.safetensors', tensor: 'b0', value: Number.POSITIVE_INFINITY },
    { file: 'serving.safetensors', tensor: 'W2', value: Number.NEGATIVE_INFINITY },
    { file: 'serving.safetensors', tensor: 'bias', value: Number.NaN },
    { file: 'tower.safetensors', tensor: 'W1', value: Number.NaN },
    { file: 'tower.safetensors', tensor: 'acc_b0', value: Number.POSITIVE_INFINITY },
    { file: 'wide.safetensors', tensor: 'bias/weights', value: Number.POSITIVE_INFINITY },
  ];
  for (const { file, tensor, value } of cases) {
    test(`${value} in ${file} ${tensor} (sha256 updated, re-signed)`, async () => {
      const m = await scratch.copyOf(scratch.good);
      await setTensorValue(join(m, file), tensor, 0, value);
      await resign(m);
      const name = tensor === 'bias/weights' ? 'bias' : tensor;
      const loads = file === 'serving.safetensors' ? pathsReading(file) : pathsReading('tower.safetensors');
      for (const load of loads)
        await assert.rejects(
          load(m),
          loadError(new RegExp(`${file.replace('.', '\\.')}: tensor ${name} holds ${value} \\(value 0 of \\d+\\)`)),
        );
    });
  }

  test('the int8 tower: a NaN scale or bias in tower-int8.safetensors is refused', async () => {
    const q = await saveTinyModel(scratch.dir, 'q', { overrides: { serving: { quantize: 'int8' } } });
    for (const tensor of ['W1.scale', 'b0']) {
      const m = await scratch.copyOf(q);
      await setTensorValue(join(m, INT8_TOWER_FILE), tensor, 1, Number.NaN);
      await resign(m);
      await assert.rejects(
        Scorer.load(m, { cache: false }),
        loadError(new RegExp(`tower-int8\\.safetensors: tensor ${tensor.replace('.', '\\.')} holds NaN \\(value 1 of`)),
      );
      // Serving float32 does not read it.
      (await Scorer.load(m, { cache: false, precision: 'fp32' })).dispose();
    }
  });
});

/** Rewrites `file`'s safetensors header with `edit` (the data bytes unchanged), keeping the data 8-byte aligned. */
async function editHeader(file: string, edit: (h: Record<string, { shape: unknown; data_offsets: unknown }>) => void): Promise<void> {
  const bytes = await readFile(file);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8'));
  edit(header);
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  await writeFile(file, Buffer.concat([length, Buffer.from(json), bytes.subarray(8 + headerLen)]));
}

describe("a tensor's place in its file: offsets and shape are whole numbers inside the data", () => {
  test('b2 pointed at bytes before the data (negative offsets, re-signed): every path refuses, naming the file and tensor', async () => {
    // The serving path used to take the last 4 bytes of the JSON header as the logit bias and
    // serve every candidate a score of 1.
    for (const file of ['serving.safetensors', 'tower.safetensors'] as const) {
      const m = await scratch.copyOf(scratch.good);
      await editHeader(join(m, file), (h) => {
        h.b2!.data_offsets = [-4, 0];
      });
      await resign(m);
      for (const load of pathsReading(file))
        await assert.rejects(load(m), loadError(new RegExp(`${file.replace('.', '\\.')}: tensor "b2" offsets \\[-4, 0\\]`)));
    }
  });

  test('a shape of negative dimensions with the right product (re-signed) is refused at the file, naming it', async () => {
    const m = await scratch.copyOf(scratch.good);
    await editHeader(join(m, 'serving.safetensors'), (h) => {
      const [rows, dim] = h['embedding/item']!.shape as [number, number];
      h['embedding/item']!.shape = [-rows, -dim];
    });
    await resign(m);
    for (const load of pathsReading('serving.safetensors'))
      await assert.rejects(load(m), loadError(/serving\.safetensors: tensor "embedding\/item" has shape \[-\d+,-\d+\]/));
  });
});

describe("the tables against the transforms' layout", () => {
  /** A copy of the good model with `edit` applied to the tensors of `file`, re-signed. */
  async function withTensors(file: string, edit: (t: Map<string, { shape: number[]; data: Float32Array }>) => void): Promise<string> {
    const m = await scratch.copyOf(scratch.good);
    const tensors = decodeTensors(await readFile(join(m, file)), file);
    edit(tensors as Map<string, { shape: number[]; data: Float32Array }>);
    await writeFile(join(m, file), encodeTensors(tensors));
    await resign(m);
    return m;
  }
  // The paths that build the transforms (readModelFiles alone has no layout to check against).
  const servingLoads: ((uri: string) => Promise<unknown>)[] = [
    (u) => readStoredModel(u, { weightsOnly: true }),
    async (u) => (await Scorer.load(u, { cache: false })).dispose(),
    async (u) => (await Scorer.load(u, { cache: false, backend: 'js' })).dispose(),
  ];
  const trainingLoads: ((uri: string) => Promise<unknown>)[] = [
    (u) => readStoredModel(u),
    async (u) => (await loadTrainableModel(u)).model.dispose(),
  ];
  const shorter = (t: { shape: readonly number[]; data: Float32Array }, rows: number) => ({
    shape: [rows, t.shape[1]!],
    data: t.data.slice(0, rows * t.shape[1]!),
  });

  test('serving.safetensors without the wide table, or a shorter one (re-signed): refused at the load, naming the file and tensor', async () => {
    // Without it the wide & deep model served without its wide part (no error, other scores); a
    // shorter one served NaN for every row, blamed on "a NaN or infinite weight".
    const missing = await withTensors('serving.safetensors', (t) => t.delete('wide'));
    const short = await withTensors('serving.safetensors', (t) => t.set('wide', shorter(t.get('wide')!, 3)));
    for (const load of servingLoads) {
      await assert.rejects(load(missing), loadError(/serving\.safetensors has no tensor wide, which a wide_deep model needs/));
      await assert.rejects(
        load(short),
        loadError(/serving\.safetensors: tensor wide is \[3, 1\], but the transforms' wide layout needs \[\d+, 1\]/),
      );
    }
  });

  test('an embedding table missing or of another shape (re-signed): refused naming the file and tensor, on every path', async () => {
    const missing = await withTensors('serving.safetensors', (t) => t.delete('embedding/item'));
    const short = await withTensors('serving.safetensors', (t) => t.set('embedding/item', shorter(t.get('embedding/item')!, 2)));
    for (const load of servingLoads) {
      await assert.rejects(load(missing), loadError(/serving\.safetensors has no tensor embedding\/item, which a wide_deep model needs/));
      await assert.rejects(
        load(short),
        loadError(/serving\.safetensors: tensor embedding\/item is \[2, 4\], but the transforms' deep layout needs \[\d+, 4\]/),
      );
    }
    // The training files: named too (the model class found it, without naming the file).
    const wide = await withTensors('wide.safetensors', (t) => {
      for (const v of ['weights', 'z', 'n']) t.set(`wide/${v}`, shorter(t.get(`wide/${v}`)!, 3));
    });
    for (const load of trainingLoads)
      await assert.rejects(
        load(wide),
        loadError(/wide\.safetensors: tensor wide\/weights is \[3, 1\], but the transforms' wide layout needs/),
      );
  });
});

describe('format 1: a manifest relabelled from a later format is refused as inconsistent', () => {
  test('a format-2 model set to formatVersion 1, edited, its digest deleted: refused (serving file without tower.onnx)', async () => {
    const m = await scratch.copyOf(scratch.good);
    await resign(
      m,
      (j) => {
        j.formatVersion = 1;
        (j.metrics as Record<string, unknown>).note = 'edited';
      },
      { digest: false },
    );
    await rm(join(m, 'manifest.sha256'));
    const refused = loadError(
      /manifest\.json says format 1 but lists serving\.safetensors without tower\.onnx, which no format-1 build wrote/,
    );
    await assert.rejects(readManifest(m), refused);
    await assert.rejects(Scorer.load(m, { cache: false }), refused);
    await assert.rejects(copyModelFiles(m, join(scratch.dir, 'promoted-relabelled')), refused);
  });

  test('a format-1 manifest listing an int8 tower (written only since format 2) is refused, digest or not', async () => {
    const q = await saveTinyModel(scratch.dir, 'q1', { overrides: { serving: { quantize: 'int8' } } });
    const m = await scratch.copyOf(q);
    await resign(m, (j) => {
      j.formatVersion = 1;
    });
    await assert.rejects(readManifest(m), loadError(/says format 1 but lists tower-int8\.safetensors, which only later formats write/));
  });

  test('the genuine format-1 fixture still loads (serving file and tower.onnx both listed)', async () => {
    const m = await scratch.copyOf('test/model/fixtures/model-format-1');
    const manifest = await readManifest(m);
    assert.equal(manifest.formatVersion, 1);
    assert.ok('tower.onnx' in manifest.files && 'serving.safetensors' in manifest.files);
    (await Scorer.load(m, { cache: false })).dispose();
  });
});

test('a manifest saved with the filled-in wideBuckets beside explicit boundaries (before they were exclusive) still loads', async () => {
  const folder = await saveTinyModel(scratch.dir, 'old-boundaries', {
    overrides: { features: { ...TINY_CONFIG.features, x: { kind: 'numeric', quantiles: 10, boundaries: [0.3, 0.6] } } },
  });
  // What an older build wrote: the schema's default wideBuckets filled in beside the boundaries.
  await resign(folder, (m) => {
    const features = (m.config as { features: Record<string, Record<string, unknown>> }).features;
    features.x = { ...features.x, wideBuckets: 10 };
  });
  const manifest = await readManifest(folder);
  assert.deepEqual(manifest.config.features.x, { kind: 'numeric', quantiles: 10, boundaries: [0.3, 0.6] });
  await readStoredModel(folder);
});
