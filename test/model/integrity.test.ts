/**
 * Model integrity (issue 9, finding 5): every file a loader uses is checked on every path that
 * uses it, the manifest included (manifest.sha256, written last), and nothing ships unchecked.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyModelFiles, readModelFiles } from '../../src/model/artifact.ts';
import { ModelLoadError } from '../../src/model/errors.ts';
import { manifestDigestLine, readManifest, UNCHECKED_MANIFEST_WARNING } from '../../src/model/manifest.ts';
import { readStoredModel } from '../../src/model/stored-model.ts';
import { loadTrainableModel } from '../../src/model/trainable-model.ts';
import { Scorer } from '../../src/scoring/scorer.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';

let dir: string;
let good: string;
let n = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-integrity-'));
  good = await saveTinyModel(dir, 'good');
});
after(() => rm(dir, { recursive: true, force: true }));

/** A fresh copy of a model folder (every file in it, as on disk). */
async function copyOf(from: string): Promise<string> {
  const to = join(dir, `copy-${n++}`);
  await cp(from, to, { recursive: true });
  return to;
}

/** Flips every bit of the byte in the middle of the file. */
async function flipByte(file: string): Promise<void> {
  const bytes = await readFile(file);
  const i = bytes.length >> 1;
  bytes[i] = bytes[i]! ^ 0xff;
  await writeFile(file, bytes);
}

const REQUEST = {
  context: { user: 'u1', x: 0.3 },
  candidates: [
    { item: 'i1', tags: ['t3'] },
    { item: 'i2', tags: ['t1'] },
  ],
};

describe('reproductions (finding 5)', () => {
  test('(a) a vocabulary token edited in manifest.json ("u1" → "uX") is refused, not served with other scores', async () => {
    const m = await copyOf(good);
    const before = await Scorer.load(good, { cache: false });
    const expected = (await before.score(REQUEST)).scores;
    before.dispose();

    const file = join(m, 'manifest.json');
    const text = await readFile(file, 'utf8');
    assert.ok(text.includes('"u1"'));
    await writeFile(file, text.replace('"u1"', '"uX"'));
    // Without a manifest digest this loads and the same request scores differently (u1 is now OOV).
    const isManifestError = (e: unknown) =>
      e instanceof ModelLoadError && /manifest\.json does not match its sha256 in manifest\.sha256/.test(e.message);
    await assert.rejects(readManifest(m), isManifestError);
    await assert.rejects(readStoredModel(m, { weightsOnly: true }), isManifestError);
    await assert.rejects(loadTrainableModel(m), isManifestError);
    await assert.rejects(Scorer.load(m, { cache: false }), isManifestError);
    await assert.rejects(Scorer.load(m), isManifestError);
    assert.equal(expected.length, 2);
  });

  test('(b) the saved model ships no file that no loader reads or checks (no tower.onnx)', async () => {
    const manifest = await readManifest(good);
    assert.deepEqual(Object.keys(manifest.files).sort(), [
      'embeddings.safetensors',
      'serving.safetensors',
      'tower.safetensors',
      'wide.safetensors',
    ]);
    await assert.rejects(readFile(join(good, 'tower.onnx')), { code: 'ENOENT' });
  });

  test('(c) a corrupted serving.safetensors fails evaluation (loadTrainableModel), not only serving', async () => {
    const m = await copyOf(good);
    await flipByte(join(m, 'serving.safetensors'));
    await assert.rejects(
      loadTrainableModel(m),
      (e: unknown) =>
        e instanceof ModelLoadError && /serving\.safetensors is corrupted: its sha256 does not match the manifest/.test(e.message),
    );
    await assert.rejects(readModelFiles(m), /serving\.safetensors is corrupted/);
  });
});

const ALL_FILES = [
  'manifest.json',
  'manifest.sha256',
  'wide.safetensors',
  'embeddings.safetensors',
  'tower.safetensors',
  'serving.safetensors',
] as const;
const SERVING_READS = ['manifest.json', 'manifest.sha256', 'serving.safetensors'];

/** Every way a model folder is loaded, and which files each one reads. */
const PATHS: { name: string; reads: readonly string[]; load: (uri: string) => Promise<unknown> }[] = [
  { name: 'readManifest', reads: ['manifest.json', 'manifest.sha256'], load: (u) => readManifest(u) },
  { name: 'readModelFiles', reads: ALL_FILES, load: (u) => readModelFiles(u) },
  { name: 'readModelFiles weightsOnly', reads: SERVING_READS, load: (u) => readModelFiles(u, { weightsOnly: true }) },
  { name: 'readStoredModel', reads: ALL_FILES, load: (u) => readStoredModel(u) },
  { name: 'readStoredModel weightsOnly', reads: SERVING_READS, load: (u) => readStoredModel(u, { weightsOnly: true }) },
  { name: 'loadTrainableModel', reads: ALL_FILES, load: async (u) => (await loadTrainableModel(u, { backend: 'onnx' })).model.dispose() },
  { name: 'Scorer.load', reads: SERVING_READS, load: async (u) => (await Scorer.load(u, { cache: false })).dispose() },
  { name: 'copyModelFiles (Promote)', reads: ALL_FILES, load: (u) => copyModelFiles(u, join(dir, `dst-${n++}`)) },
];

describe('every file × every loading path: one flipped byte is refused naming the file, or the path does not read it', () => {
  test('the saved folder holds exactly these files', async () => {
    assert.deepEqual((await readdir(good)).sort(), [...ALL_FILES].sort());
  });
  for (const path of PATHS) {
    for (const file of ALL_FILES) {
      const reads = path.reads.includes(file);
      test(`${path.name} × ${file}: ${reads ? 'refused' : 'not read'}`, async () => {
        const m = await copyOf(good);
        await flipByte(join(m, file));
        if (reads) {
          await assert.rejects(path.load(m), (e: unknown) => e instanceof ModelLoadError && e.message.includes(file));
        } else {
          await path.load(m);
          // Not read at all: the path loads without the file.
          await rm(join(m, file));
          await path.load(m);
        }
      });
    }
  }
});

describe('the manifest digest (manifest.sha256)', () => {
  test('is a sha256sum line for manifest.json, written after it', async () => {
    const line = await readFile(join(good, 'manifest.sha256'), 'utf8');
    assert.match(line, /^[0-9a-f]{64} {2}manifest\.json\n$/);
    assert.equal(line, manifestDigestLine(await readFile(join(good, 'manifest.json'))));
  });

  test('missing from a format-2 folder (a save or copy that did not finish): refused', async () => {
    const m = await copyOf(good);
    await rm(join(m, 'manifest.sha256'));
    for (const load of [readManifest, (u: string) => Scorer.load(u, { cache: false }), loadTrainableModel]) {
      await assert.rejects(load(m), /no manifest\.sha256: a format-2 model writes it last, so the save or copy did not finish/);
    }
  });

  test('a save interrupted after a new manifest.json over an old model (old digest left): refused', async () => {
    const m = await copyOf(good);
    const other = await saveTinyModel(dir, `other-${n++}`, { rows: 600, modelId: 'm-other' });
    await cp(join(other, 'manifest.json'), join(m, 'manifest.json'));
    await assert.rejects(readStoredModel(m), /manifest\.json does not match its sha256 in manifest\.sha256/);
  });

  test('a valid digest of other bytes, or naming another file, is refused; a bare hex digest is accepted', async () => {
    const m = await copyOf(good);
    const bytes = await readFile(join(m, 'manifest.json'));
    await writeFile(join(m, 'manifest.sha256'), manifestDigestLine(Buffer.concat([bytes, Buffer.from(' ')])));
    await assert.rejects(readManifest(m), /manifest\.json does not match its sha256 in manifest\.sha256/);
    await writeFile(join(m, 'manifest.sha256'), manifestDigestLine(bytes).replace('manifest.json', 'other.json'));
    await assert.rejects(readManifest(m), /manifest\.sha256 names "other\.json", not manifest\.json/);
    await writeFile(join(m, 'manifest.sha256'), 'x'.repeat(2000));
    await assert.rejects(readManifest(m), /manifest\.sha256 is 2000 bytes, not a sha256 line/);
    await writeFile(join(m, 'manifest.sha256'), manifestDigestLine(bytes).slice(0, 64).toUpperCase());
    assert.equal((await readManifest(m)).modelId, 'm-good');
  });
});

/** Collects the process warnings with the unchecked-manifest code while `fn` runs. */
async function warningsDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const on = (w: Error & { code?: string }) => {
    if (w.code === UNCHECKED_MANIFEST_WARNING) seen.push(w.message);
  };
  process.on('warning', on);
  try {
    await fn();
    // Warnings are delivered on a later tick.
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', on);
  }
  return seen;
}

describe('format-1 models (saved before the digest): load with a warning, every file they list still checked', () => {
  const FORMAT_1 = 'test/model/fixtures/model-format-1';

  test('every path loads a format-1 folder, warning once per folder that its manifest is unchecked', async () => {
    const m = await copyOf(FORMAT_1);
    const warnings = await warningsDuring(async () => {
      for (const path of PATHS) await path.load(m);
    });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /is format 1 and has no manifest\.sha256: its manifest\.json is loaded unchecked/);
  });

  test('its tower.onnx is checked by the paths that check every listed file, and not read by serving', async () => {
    const m = await copyOf(FORMAT_1);
    await flipByte(join(m, 'tower.onnx'));
    for (const path of PATHS) {
      if (path.reads === ALL_FILES) {
        await assert.rejects(path.load(m), /tower\.onnx is corrupted: its sha256 does not match the manifest/, path.name);
      } else {
        await path.load(m);
      }
    }
  });

  test('a digest added by hand (sha256sum) is checked like a saved one', async () => {
    const m = await copyOf(FORMAT_1);
    const bytes = await readFile(join(m, 'manifest.json'));
    await writeFile(join(m, 'manifest.sha256'), manifestDigestLine(bytes));
    assert.deepEqual(await warningsDuring(() => readStoredModel(m)), []);
    await writeFile(join(m, 'manifest.json'), bytes.toString('utf8').replace('"u1"', '"uX"'));
    await assert.rejects(readStoredModel(m), /manifest\.json does not match its sha256 in manifest\.sha256/);
  });

  test('a copy (Promote) gains a digest, so the promoted copy is checked from then on', async () => {
    const to = join(dir, `promoted-${n++}`);
    await copyModelFiles(FORMAT_1, to);
    assert.equal(await readFile(join(to, 'manifest.sha256'), 'utf8'), manifestDigestLine(await readFile(join(FORMAT_1, 'manifest.json'))));
    assert.deepEqual(await warningsDuring(() => readStoredModel(to)), []);
    assert.deepEqual(await readManifest(to), await readManifest(FORMAT_1));
  });
});
