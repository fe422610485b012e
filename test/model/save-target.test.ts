/**
 * Saving over a model (save-target.ts): refused unless asked; when asked, the old model survives
 * every failure before the new one is whole (local folders: built in a sibling and swapped in);
 * on S3 (no rename) an interrupted replacement loads as nothing, never as a mix of two models.
 * A model is never saved over its warm-start parent, and `wdp quantize` never edits its source.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { copyModelFiles } from '../../src/model/artifact.ts';
import { writeQuantizedCopy } from '../../src/model/quantize-copy.ts';
import { ModelLoadError, ModelTargetError } from '../../src/model/errors.ts';
import { readManifest } from '../../src/model/manifest.ts';
import { reviewOldSaveFolders } from '../../src/model/save-old.ts';
import { removeStaleSaveTemps, STALE_SAVE_MS } from '../../src/model/save-temp.ts';
import { checkModelTarget, saveModelFolder } from '../../src/model/save-target.ts';
import { hostTag, thisProcessStart } from '../../src/util/process-owner.ts';
import { readStoredModel } from '../../src/model/stored-model.ts';
import { type MemoryBucket, mockS3Memory } from '../helpers/s3-memory.ts';
import { saveTinyModel, tinyModelScratch } from '../helpers/tiny-model.ts';

const scratch = tinyModelScratch('wdp-save-target-');
let other: string;
let otherDir: string;

before(async () => {
  // The scratch folder's own `before` may not have run yet: never save relative to the cwd.
  otherDir = await mkdtemp(join(tmpdir(), 'wdp-save-target-other-'));
  other = await saveTinyModel(otherDir, 'other', { modelId: 'm-other' });
});
after(() => rm(otherDir, { recursive: true, force: true }));

const isTarget = (pattern: RegExp) => (e: unknown) => e instanceof ModelTargetError && pattern.test(e.message);

test('saving onto a folder that holds a model is refused, and the model is left as it was', async () => {
  const m = await scratch.copyOf(scratch.good);
  const before = await readFile(join(m, 'manifest.json'));
  await assert.rejects(
    saveModelFolder(m, 'refuse', (dir) => copyModelFiles(other, dir)),
    isTarget(/cannot save a model to .*: it already holds a model; choose a new folder, or give --force/),
  );
  assert.deepEqual(await readFile(join(m, 'manifest.json')), before);
  assert.deepEqual(
    (await readdir(scratch.dir)).filter((n) => n.includes('.wdp-')),
    [],
    'no temporary folder left',
  );
});

test('replace: the new model is built beside the old one and swapped in whole', async () => {
  const m = await scratch.copyOf(scratch.good);
  const oldId = (await readManifest(m)).modelId;
  let writtenTo = '';
  await saveModelFolder(m, 'replace', async (dir) => {
    writtenTo = dir;
    const r = await copyModelFiles(other, dir);
    // Until the swap, the target still holds the old model, loadable.
    assert.equal((await readStoredModel(m)).manifest.modelId, oldId);
    return r;
  });
  assert.notEqual(writtenTo, m);
  assert.match(writtenTo, /\.wdp-tmp-/);
  assert.equal((await readStoredModel(m)).manifest.modelId, 'm-other');
  assert.deepEqual(
    (await readdir(scratch.dir)).filter((n) => n.includes('.wdp-')),
    [],
    'temporary and old folders are gone',
  );
});

test('replace: a save that dies midway leaves the old model whole and loadable', async () => {
  const m = await scratch.copyOf(scratch.good);
  const before = await readManifest(m);
  await assert.rejects(
    saveModelFolder(m, 'replace', async (dir) => {
      // Half a model written (the weights, no manifest), then the writer fails.
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'wide.safetensors'), new Uint8Array(1000));
      throw new Error('killed mid-save');
    }),
    /killed mid-save/,
  );
  const loaded = await readStoredModel(m);
  assert.equal(loaded.manifest.modelId, before.modelId);
  assert.deepEqual(
    (await readdir(scratch.dir)).filter((n) => n.includes('.wdp-')),
    [],
  );
});

test('a fresh folder is written whole or not at all', async () => {
  const m = join(scratch.dir, 'fresh', 'nested');
  await assert.rejects(
    saveModelFolder(m, 'refuse', async () => {
      throw new Error('killed');
    }),
  );
  await assert.rejects(readdir(m), { code: 'ENOENT' });
  await saveModelFolder(pathToFileURL(m).href, 'refuse', (dir) => {
    assert.match(dir, /^file:\/\/.*\.nested\.wdp-tmp-/, 'a file:// target is written through a file:// URI');
    return copyModelFiles(other, dir);
  });
  assert.equal((await readManifest(m)).modelId, 'm-other');
});

test('a folder holding files that are not a model is refused, even with replace', async () => {
  const m = join(scratch.dir, 'home');
  await mkdir(m);
  await writeFile(join(m, 'notes.txt'), 'mine');
  for (const existing of ['refuse', 'replace'] as const)
    await assert.rejects(
      saveModelFolder(m, existing, (dir) => copyModelFiles(other, dir)),
      isTarget(/holding files that are not a model's \(notes\.txt\): choose an empty or new folder/),
    );
  assert.equal(await readFile(join(m, 'notes.txt'), 'utf8'), 'mine');
  const file = join(scratch.dir, 'a-file');
  await writeFile(file, 'x');
  await assert.rejects(checkModelTarget(file, { existing: 'replace' }), isTarget(/it is a file, not a folder/));
});

describe('temp folders of killed saves', () => {
  /** The pid of a process that has exited (this host). */
  const deadPid = () => {
    const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    return Number(r.stdout);
  };

  test('the next save to the target removes those of dead writers on this host and old ones, and keeps a live one', async () => {
    const m = join(scratch.dir, 'killed');
    await saveModelFolder(m, 'refuse', (dir) => copyModelFiles(other, dir));
    // What a `wdp train --force` killed midway leaves: a half-written model beside the target.
    const dead = join(scratch.dir, `.killed.wdp-tmp-${deadPid()}-${hostTag()}-aaaaaaaaaaaa`);
    await copyModelFiles(other, dead);
    // Another process of this host still writing (this test's parent stands in for it).
    const live = join(scratch.dir, `.killed.wdp-tmp-${process.ppid}-${hostTag()}-bbbbbbbbbbbb`);
    await mkdir(live);
    // A killed save whose pid now names another process (a restarted container's command gets the
    // same pid): its recorded start is not that process's, so it is dead too. Needs /proc.
    const reused = join(scratch.dir, `.killed.wdp-tmp-${process.ppid}-${hostTag()}-0123abcd.5-abababababab`);
    if (thisProcessStart()) await mkdir(reused);
    // Named before writers were recorded, or by another host: judged by age alone.
    const oldUnknown = join(scratch.dir, '.killed.wdp-tmp-cccccccccccc');
    const freshUnknown = join(scratch.dir, '.killed.wdp-tmp-dddddddddddd');
    const otherHost = join(scratch.dir, `.killed.wdp-tmp-1-${hostTag('elsewhere')}-eeeeeeeeeeee`);
    for (const d of [oldUnknown, freshUnknown, otherHost]) await mkdir(d);
    const dayAgo = new Date(Date.now() - STALE_SAVE_MS - 60_000);
    await utimes(oldUnknown, dayAgo, dayAgo);
    // Another target's temp folder is not this save's business.
    const neighbour = join(scratch.dir, `.killed2.wdp-tmp-${deadPid()}-${hostTag()}-ffffffffffff`);
    await mkdir(neighbour);

    await saveModelFolder(m, 'replace', (dir) => copyModelFiles(other, dir));
    const left = (await readdir(scratch.dir)).filter((n) => n.includes('.wdp-tmp-')).sort();
    assert.deepEqual(left, [basename(otherHost), basename(live), basename(freshUnknown), basename(neighbour)].sort());
    assert.equal((await readManifest(m)).modelId, 'm-other');
    // Its own temp folder names this process as the writer, and is gone once the model is in place.
    assert.deepEqual(await removeStaleSaveTemps(m), []);
  });

  /** A fresh folder with a model `m` in it (unless `withTarget` is false), for one scenario. */
  const scene = async (withTarget = true) => {
    const dir = await mkdtemp(join(scratch.dir, 'old-'));
    const m = join(dir, 'm');
    if (withTarget) await cp(scratch.good, m, { recursive: true });
    return { dir, m, old: (rest: string) => join(dir, `.m.wdp-old-${rest}`), tmp: (rest: string) => join(dir, `.m.wdp-tmp-${rest}`) };
  };
  const wdpFolders = async (dir: string) => (await readdir(dir)).filter((n) => n.includes('.wdp-')).sort();
  /** Silences (and collects) the process warnings the review gives, so the test output stays readable. */
  const quietly = async <T>(run: () => Promise<T>): Promise<T> => {
    const emit = process.emitWarning;
    process.emitWarning = () => undefined;
    try {
      return await run();
    } finally {
      process.emitWarning = emit;
    }
  };

  test('.wdp-old-: killed between the two renames, both halves are kept and the warning says how to finish or undo', async () => {
    const { dir, m, old, tmp } = await scene(false);
    const rest = `${deadPid()}-${hostTag()}-aaaaaaaaaaaa`;
    await cp(scratch.good, old(rest), { recursive: true });
    await copyModelFiles(other, tmp(rest));
    const [review] = await quietly(() => reviewOldSaveFolders(m));
    assert.equal(review?.outcome, 'kept');
    assert.match(
      review?.message ?? '',
      /was killed between its two renames: .*\.m\.wdp-old-.* holds model \S+ \(wide_deep|was killed between its two renames: .*holds model/,
    );
    assert.match(
      review?.message ?? '',
      /m-other.*the one meant to replace it\. Both are kept\. To finish that save: mv .* && rm -r .*; to undo it: mv/,
    );
    // The next save to the target goes ahead and keeps both (the temp folder too: it is whole).
    await quietly(() => saveModelFolder(m, 'refuse', (d) => copyModelFiles(other, d)));
    assert.deepEqual(await wdpFolders(dir), [basename(old(rest)), basename(tmp(rest))].sort());
    assert.deepEqual(await removeStaleSaveTemps(m), [], 'a temp folder paired with an old one is not stale');
  });

  test('.wdp-old-: killed after the new model was in place, the next save removes it (writer gone, target whole)', async () => {
    const { dir, m, old } = await scene();
    await cp(scratch.good, old(`${deadPid()}-${hostTag()}-bbbbbbbbbbbb`), { recursive: true });
    const outcomes = await quietly(() => saveModelFolder(m, 'replace', (d) => copyModelFiles(other, d)).then(() => wdpFolders(dir)));
    assert.deepEqual(outcomes, []);
    assert.equal((await readManifest(m)).modelId, 'm-other');
    // The target moved in long after the old folder moved out: a later save's model, not the
    // replacement (its temp folder deleted by hand), so the old folder may be the only copy.
    const later = await scene();
    const kept = later.old(`${deadPid()}-${hostTag()}-ffffffffffff`);
    await cp(scratch.good, kept, { recursive: true });
    const [review] = await quietly(() => reviewOldSaveFolders(later.m, { sameSaveMs: -1 }));
    assert.equal(review?.outcome, 'kept');
    assert.match(review?.message ?? '', /kept because .*\/m was not moved in with it/);
  });

  test('.wdp-old-: kept and reported when the target is missing or damaged, the writer unrecorded or live', async () => {
    const { m, old } = await scene();
    // Damaged target: a weight file edited after the save.
    const wide = join(m, 'wide.safetensors');
    const bytes = await readFile(wide);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    await writeFile(wide, bytes);
    const dead = old(`${deadPid()}-${hostTag()}-cccccccccccc`);
    const legacy = old('dddddddddddd');
    const live = old(`${process.ppid}-${hostTag()}-eeeeeeeeeeee`);
    // This very process with its own start is live; with another start it is a killed save whose
    // pid came back (a container's command is often pid 1 every time): reported, not skipped.
    const start = thisProcessStart()?.replace(':', '.');
    const ownLive = start ? old(`${process.pid}-${hostTag()}-${start}-abababababab`) : undefined;
    const ownReused = start ? old(`${process.pid}-${hostTag()}-0123abcd.5-cdcdcdcdcdcd`) : undefined;
    for (const d of [dead, legacy, ownReused]) if (d) await cp(scratch.good, d, { recursive: true });
    for (const d of [live, ownLive]) if (d) await mkdir(d);
    const byPath = new Map((await quietly(() => reviewOldSaveFolders(m))).map((o) => [o.path, o]));
    assert.equal(byPath.get(live)?.outcome, 'live');
    assert.equal(byPath.get(live)?.message, undefined, 'a live save is not reported');
    if (ownLive && ownReused) {
      assert.equal(byPath.get(ownLive)?.outcome, 'live');
      assert.equal(byPath.get(ownReused)?.outcome, 'kept');
      assert.match(byPath.get(ownReused)?.message ?? '', /kept because .*\/m does not load/);
    }
    assert.equal(byPath.get(dead)?.outcome, 'kept');
    assert.match(
      byPath.get(dead)?.message ?? '',
      /holds model .*, the model at .* before a save replaced it; kept because .*\/m does not load \(.*wide\.safetensors is corrupted.*\), so it may be the only copy\. To restore it: mv .*; to remove it: rm -r/,
    );
    assert.equal(byPath.get(legacy)?.outcome, 'kept');
    assert.match(byPath.get(legacy)?.message ?? '', /kept because its writer is not recorded/);
    await rm(m, { recursive: true });
    const [missing] = (await quietly(() => reviewOldSaveFolders(m))).filter((o) => o.path === dead);
    assert.match(missing?.message ?? '', /kept because .*\/m does not exist/);
  });

  test('a save temp folder is never taken for a model: it does not load, and a folder holding one is not a model to replace', async () => {
    const tmp = join(scratch.dir, `.whole.wdp-tmp-${deadPid()}-${hostTag()}-aaaaaaaaaaaa`);
    // A save killed between its two renames leaves a whole model there: still refused.
    await copyModelFiles(other, tmp);
    for (const uri of [tmp, `${tmp}/`, pathToFileURL(tmp).href])
      await assert.rejects(
        readManifest(uri),
        (e: unknown) => e instanceof ModelLoadError && /it is the temporary folder of a model save/.test(e.message),
      );
    await assert.rejects(readStoredModel(tmp), ModelLoadError);
    const parent = join(scratch.dir, 'holds-a-temp');
    await mkdir(join(parent, '.m.wdp-tmp-1-00000000-abc'), { recursive: true });
    await assert.rejects(
      saveModelFolder(parent, 'replace', (dir) => copyModelFiles(other, dir)),
      isTarget(/holding files that are not a model's \(\.m\.wdp-tmp-1-00000000-abc\/\)/),
    );
  });
});

test('an empty folder is a fresh target', async () => {
  const m = join(scratch.dir, 'empty');
  await mkdir(m);
  await checkModelTarget(m);
  await saveModelFolder(m, 'refuse', (dir) => copyModelFiles(other, dir));
  assert.equal((await readManifest(m)).modelId, 'm-other');
});

test('the warm-start folder is never a target, however it is spelled', async () => {
  const parent = await scratch.copyOf(scratch.good);
  const link = join(scratch.dir, 'link-to-parent');
  await symlink(parent, link);
  for (const out of [parent, `${parent}/`, pathToFileURL(parent).href, link, join(parent, '..', parent.split('/').pop()!)])
    for (const existing of ['refuse', 'replace', 'in-place'] as const)
      await assert.rejects(
        checkModelTarget(out, { existing, warmStart: parent }),
        isTarget(/it is the --warm-start model; a model cannot replace its own parent/),
        `${out} (${existing})`,
      );
  await checkModelTarget(join(scratch.dir, 'child'), { warmStart: parent });
});

test('wdp quantize never writes into its source, and refuses a model at --out unless asked', async () => {
  const m = await scratch.copyOf(scratch.good);
  const before = await readdir(m);
  const manifest = await readFile(join(m, 'manifest.json'));
  for (const out of [m, `${m}/`])
    await assert.rejects(writeQuantizedCopy(m, out), isTarget(/it is the model being quantized, which is never modified/));
  assert.deepEqual(await readdir(m), before);
  assert.deepEqual(await readFile(join(m, 'manifest.json')), manifest);

  const taken = await scratch.copyOf(other);
  await assert.rejects(writeQuantizedCopy(m, taken), isTarget(/already holds a model/));
  const copy = await writeQuantizedCopy(m, taken, { existing: 'replace' });
  assert.equal((await readManifest(taken)).modelId, copy.modelId);
  assert.equal(copy.config.serving?.quantize, 'int8');
});

describe('on S3 (no rename)', () => {
  let bucket: MemoryBucket;
  before(() => {
    bucket = mockS3Memory();
  });
  after(() => bucket.restore());

  test('a non-empty prefix is refused; replace deletes the old digest and manifest before writing', async () => {
    const uri = 's3://b/models/m1';
    await copyModelFiles(scratch.good, uri);
    await assert.rejects(
      saveModelFolder(uri, 'refuse', (dir) => copyModelFiles(other, dir)),
      isTarget(/already holds a model/),
    );
    await checkModelTarget('s3://b/models/m2');

    // A replacement that dies after its first file: the prefix loads as nothing, not as a mix.
    await assert.rejects(
      saveModelFolder(uri, 'replace', async (dir) => {
        assert.equal(dir, uri, 'written in place');
        assert.equal(bucket.text(`${uri}/manifest.sha256`), undefined, 'old digest deleted first');
        assert.equal(bucket.text(`${uri}/manifest.json`), undefined);
        throw new Error('killed mid-save');
      }),
      /killed mid-save/,
    );
    await assert.rejects(readStoredModel(uri), /no manifest\.json/);

    await saveModelFolder(uri, 'replace', (dir) => copyModelFiles(other, dir));
    assert.equal((await readStoredModel(uri)).manifest.modelId, 'm-other');
  });
});
