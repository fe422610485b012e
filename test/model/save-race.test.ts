/**
 * Two saves to one model folder at once (save-target.ts under storage/output-lock.ts): exactly one
 * writes, the other fails before touching anything and names the writer; a loser never moves or
 * deletes the winner's model. Before the writer lock, two `replace` saves both reported success
 * and the later one had moved the earlier one's new model aside and deleted it.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { copyModelFiles } from '../../src/model/artifact.ts';
import { writeQuantizedCopy } from '../../src/model/quantize-copy.ts';
import { ModelTargetError } from '../../src/model/errors.ts';
import { readManifest } from '../../src/model/manifest.ts';
import { lockModelTarget, saveModelFolder } from '../../src/model/save-target.ts';
import { readStoredModel } from '../../src/model/stored-model.ts';
import { trainModel } from '../../src/training/train.ts';
import { tinyConfig } from '../helpers/tiny-data.ts';
import { saveTinyModel, tinyModelScratch } from '../helpers/tiny-model.ts';

const scratch = tinyModelScratch('wdp-save-race-');

const lockedBy = (e: unknown) =>
  e instanceof ModelTargetError && new RegExp(`being written by another wdp process \\(pid ${process.pid} on `).test(e.message);

/** What is left beside the target: lock files, temp and old folders. */
const leftovers = async () => (await readdir(scratch.dir)).filter((n) => n.includes('.wdp-'));

for (const existing of ['replace', 'refuse'] as const) {
  test(`two ${existing} saves started together: one writes, the other fails naming it and never writes`, async () => {
    const other = await saveTinyModel(scratch.dir, `other-${existing}`, { modelId: `m-other-${existing}` });
    const target = existing === 'replace' ? await scratch.copyOf(scratch.good) : join(scratch.dir, 'fresh-target');
    const wrote: string[] = [];
    const save = (from: string) =>
      saveModelFolder(target, existing, async (dir) => {
        wrote.push(from);
        // Both writes would be under way at once without the lock: give the other a turn.
        await new Promise((r) => setTimeout(r, 20));
        return copyModelFiles(from, dir);
      });
    const results = await Promise.allSettled([save(other), save(scratch.good)]);
    // Which one wins is the file system's race (both lock creates wait in libuv's thread pool).
    const winner = results.findIndex((r) => r.status === 'fulfilled');
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const lost = results[1 - winner] as PromiseRejectedResult;
    assert.ok(lockedBy(lost.reason), String(lost.reason));
    const [from, id] = winner === 0 ? [other, `m-other-${existing}`] : [scratch.good, (await readManifest(scratch.good)).modelId];
    assert.deepEqual(wrote, [from], 'the loser never started writing');
    assert.equal((await readManifest(target)).modelId, id);
    await readStoredModel(target);
    assert.deepEqual(await leftovers(), []);
  });
}

test('a training whose --out another writer holds fails before reading any data, and the holder keeps its lock', async () => {
  const target = await scratch.copyOf(scratch.good);
  const held = await lockModelTarget(target);
  try {
    await assert.rejects(
      trainModel({ config: tinyConfig({}), data: [join(scratch.dir, 'no-such-logs')], out: target, existing: 'replace' }),
      lockedBy,
    );
    assert.deepEqual(await leftovers(), [`.${target.split('/').pop()}.wdp-tmp-writer-lock`]);
  } finally {
    await held?.release();
  }
  assert.deepEqual(await leftovers(), []);
});

test('two quantized copies to one folder at once: one is written, the other refused naming it', async () => {
  const out = join(scratch.dir, 'int8');
  const results = await Promise.allSettled([
    writeQuantizedCopy(scratch.good, out),
    writeQuantizedCopy(scratch.good, out, { existing: 'replace' }),
  ]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assert.ok(lockedBy(lost.reason), String(lost.reason));
  assert.equal((await readManifest(out)).config.serving?.quantize, 'int8');
  assert.deepEqual(await leftovers(), []);
});
