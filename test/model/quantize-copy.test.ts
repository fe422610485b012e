/**
 * `wdp quantize` reads its source with the checks scoring applies (stored-model.ts), so no int8
 * copy is written of a model that would not load.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { INT8_TOWER_FILE } from '../../src/model/artifact.ts';
import { ModelLoadError } from '../../src/model/errors.ts';
import { readManifest } from '../../src/model/manifest.ts';
import { writeQuantizedCopy } from '../../src/model/quantize-copy.ts';
import { resign } from '../helpers/model-edit.ts';
import { tinyModelScratch } from '../helpers/tiny-model.ts';

const scratch = tinyModelScratch('wdp-quantize-copy-');

test('a good model is copied with its int8 tower', async () => {
  const out = join(scratch.dir, 'int8');
  const m = await writeQuantizedCopy(await scratch.copyOf(scratch.good), out);
  assert.ok(m.files[INT8_TOWER_FILE]);
  assert.equal((await readManifest(out)).config.serving?.quantize, 'int8');
});

test('a re-signed manifest whose config disagrees with its tower is refused before anything is written', async () => {
  const m = await scratch.copyOf(scratch.good);
  await resign(m, (j) => {
    (j.config as { deep: { hiddenUnits: number[] } }).deep.hiddenUnits = [4, 8];
  });
  const out = join(scratch.dir, 'int8-bad');
  await assert.rejects(writeQuantizedCopy(m, out), (e: unknown) => e instanceof ModelLoadError && /hiddenUnits/.test(e.message));
  assert.equal(existsSync(join(out, 'manifest.json')), false);
});
