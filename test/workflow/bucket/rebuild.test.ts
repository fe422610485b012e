import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readJson, writeJson } from '../../../src/workflow/bucket/json-store.ts';
import { layout } from '../../../src/workflow/bucket/layout.ts';
import { rebuildRegistry } from '../../../src/workflow/bucket/rebuild.ts';
import { acquireRunLock, readRunLock } from '../../../src/workflow/bucket/run-lock.ts';
import { readRegistry } from '../../../src/workflow/bucket/state.ts';
import { registrySchema } from '../../../src/workflow/schemas.ts';
import { saveTinyModel } from '../../helpers/tiny-model.ts';

const wdp = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/wdp.mjs', ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' } });

describe('wdp registry rebuild', () => {
  let models: string;
  const dirs: string[] = [];
  /** A bucket whose registry.json is gone: v1 and v2 hold models, v3 only a claim (a copy that never finished). */
  const bucket = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wdp-rebuild-'));
    dirs.push(dir);
    const { cp } = await import('node:fs/promises');
    await cp(models, join(dir, 'models', 'registry'), { recursive: true });
    await writeJson(layout(dir).versionClaim(3), { version: 3, runId: 'r3', modelId: 'm3', at: '2026-01-03T00:00:00Z' });
    return { dir, l: layout(dir) };
  };
  before(async () => {
    models = await mkdtemp(join(tmpdir(), 'wdp-rebuild-models-'));
    dirs.push(models);
    await saveTinyModel(models, 'v1', { modelId: 'm1' });
    await saveTinyModel(models, 'v2', { modelId: 'm2' });
    await writeJson(join(models, 'v2', 'claim.json'), { version: 2, runId: 'run-2', modelId: 'm2', at: '2026-01-02T00:00:00Z' });
  });
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('rebuilds from the manifests: entries marked rebuilt, champion the highest version, an unfinished copy left out', async () => {
    const { l } = await bucket();
    await assert.rejects(readRegistry(l), /registry\.json is missing while 2 promoted model folders \(v1, v2\).*wdp registry rebuild/);
    const r = await rebuildRegistry(l);
    assert.equal(r.written, true);
    assert.equal(r.championFrom, 'highest version');
    assert.deepEqual(r.registry.champion, { version: 2, uri: l.registryModel(2), modelId: 'm2' });
    assert.deepEqual(
      r.registry.history.map((e) => [e.version, e.modelId, e.runId, e.rebuilt]),
      [
        [1, 'm1', 'unknown (rebuilt v1)', true],
        [2, 'm2', 'run-2', true],
      ],
    );
    assert.deepEqual(
      r.skipped.map((s) => s.version),
      [3],
    );
    assert.deepEqual(await readRegistry(l), r.registry, 'the workflow reads it again');
  });

  it('the champion is what serving names when it is one of the versions', async () => {
    const { l } = await bucket();
    const r = await rebuildRegistry(l, { servedUri: l.registryModel(1) });
    assert.equal(r.championFrom, 'serving');
    assert.equal(r.registry.champion?.version, 1);
  });

  it('refuses to replace a readable registry without force; keeps an unreadable one as a backup', async () => {
    const { l } = await bucket();
    await rebuildRegistry(l);
    await assert.rejects(rebuildRegistry(l), /present and readable \(2 history entries\); pass --force/);
    await writeFile(l.registry, '{"formatVersion": 1, "champ');
    await assert.rejects(readRegistry(l), /unreadable while .*wdp registry rebuild/);
    const r = await rebuildRegistry(l);
    assert.ok(r.backupUri);
    assert.equal(await readFile(r.backupUri, 'utf8'), '{"formatVersion": 1, "champ');
    assert.equal((await readJson(l.registry, registrySchema))?.champion?.version, 2);
  });

  it('through the CLI: wdp registry rebuild, wdp lock status and wdp lock break on a folder bucket', async () => {
    const { dir, l } = await bucket();
    const rebuilt = wdp('registry', 'rebuild', '--bucket', dir, '--json');
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    assert.equal(JSON.parse(rebuilt.stdout).registry.champion.version, 2);
    assert.match(rebuilt.stderr, /rebuilt .*registry\.json: 2 version\(s\), champion v2 \(m2, from highest version\)/);

    await acquireRunLock(l, { owner: 'crashed-run', holder: 'laptop pid 1' });
    const status = wdp('lock', 'status', '--bucket', dir);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stderr, /held by run crashed-run \(laptop pid 1\) since /);
    // Another host's process cannot be probed from here: refused within its lease, naming holder and time.
    const refused = wdp('lock', 'break', '--bucket', dir);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /run crashed-run \(laptop pid 1\) holds the run lock since 20\d\d-.*lease until .*--force/);
    assert.equal((await readRunLock(l))?.lock.state, 'held');
    const broken = wdp('lock', 'break', '--bucket', dir, '--force');
    assert.match(broken.stderr, /broke the run lock of run crashed-run \(laptop pid 1\), held since 20\d\d-/);
    assert.equal((await readRunLock(l))?.lock.state, 'released');
    assert.match(wdp('lock', 'status', '--bucket', dir).stderr, /free: last held by crashed-run, released .*broken by/);
  });
});
