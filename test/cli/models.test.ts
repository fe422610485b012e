/**
 * `wdp models` and `wdp runs` on a folder bucket after two promotions (two tiny trained models
 * promoted by the Promote step's own code), driven through the CLI with --json.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildCli } from '../../cli/main.ts';
import { invokeLocalChampion } from '../../local/invoke.ts';
import { readJson } from '../../src/workflow/bucket/json-store.ts';
import { layout } from '../../src/workflow/bucket/layout.ts';
import { acquireRunLock, readRunLock, releaseRunLock } from '../../src/workflow/bucket/run-lock.ts';
import { readRegistry } from '../../src/workflow/bucket/state.ts';
import type { RunManifest } from '../../src/workflow/schemas.ts';
import { promoteRun, rejectRun } from '../../src/workflow/steps/promote.ts';
import { FileServingTarget, readServingPointer, servingPointerSchema } from '../../src/workflow/steps/serving-target.ts';
import { addDays, stageTrainedRun, stageValidatedRun } from '../helpers/workflow-fixture.ts';
import { wdpJson } from '../helpers/cli-json.ts';

/** Runs `wdp …args --bucket dir --json`, returning the parsed stdout (stderr lines are dropped). */
async function wdp(dir: string, ...args: string[]): Promise<unknown> {
  return wdpJson([...args, '--bucket', dir, '--json']);
}

/** Runs `wdp …args` in this process, returning what it wrote on stdout and stderr. */
async function wdpCapture(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const write = process.stdout.write.bind(process.stdout);
  const errWrite = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out.stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    out.stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    await buildCli().parseAsync(['node', 'wdp', ...args]);
  } finally {
    process.stdout.write = write;
    process.stderr.write = errWrite;
  }
  return out;
}

interface ListOut {
  champion: { version: number } | null;
  disagreement: string | null;
  rollbackTo: number | null;
  models: { version: number; champion: boolean; serving: boolean; parentVersion: number | null; days: { train: string[] } }[];
}

describe('wdp models / wdp runs (folder bucket, two promotions)', () => {
  let template: string;
  const dirs: string[] = [];
  let n = 0;

  /** A bucket where run-1 was promoted as v1, then run-2 (warm-started from it) as v2, and run-3 rejected. */
  before(async () => {
    template = await mkdtemp(join(tmpdir(), 'wdp-models-'));
    dirs.push(template);
    const l = layout(template);
    await addDays(template, 2, { rowsPerDay: 600 });
    let champion: RunManifest['champion'] = null;
    for (const runId of ['run-1', 'run-2']) {
      const manifestUri = await stageTrainedRun(template, runId, { champion, warmStart: true });
      const r = await promoteRun({ manifestUri, serving: new FileServingTarget(l.servingPointer) });
      champion = { version: r.version, uri: r.modelUri, modelId: r.modelId };
    }
    await rejectRun({
      manifestUri: await stageValidatedRun(template, { runId: 'run-3', candidateUri: l.candidate('run-3'), passed: false, champion }),
    });
  });
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  /** A fresh copy of the two-promotion bucket (URIs inside are rewritten to the copy). */
  async function bucket(): Promise<{ dir: string; l: ReturnType<typeof layout> }> {
    const dir = join(tmpdir(), `wdp-models-copy-${process.pid}-${n++}`);
    dirs.push(dir);
    await cp(template, dir, { recursive: true });
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.name.endsWith('.json') && !p.includes('/models/'))
          await writeFile(p, (await readFile(p, 'utf8')).replaceAll(template, dir));
      }
    };
    await walk(dir);
    return { dir, l: layout(dir) };
  }

  it('lists both versions with metrics, parent and days; v2 is champion and serves; rollback would go to v1', async () => {
    const { dir } = await bucket();
    const r = (await wdp(dir, 'models', 'list')) as ListOut;
    assert.deepEqual(
      r.models.map((m) => [m.version, m.champion, m.serving, m.parentVersion]),
      [
        [1, false, false, null],
        [2, true, true, 1],
      ],
    );
    assert.deepEqual(r.models[1]!.days.train, ['2026-01-01']);
    assert.equal(r.disagreement, null);
    assert.equal(r.rollbackTo, 1);
  });

  it('rollback restores v1 in the registry and the local pointer, and the scoring path then serves v1; a second rollback has nowhere to go', async () => {
    const { dir, l } = await bucket();
    const r = (await wdp(dir, 'models', 'rollback')) as {
      version: number;
      from: number;
      changed: boolean;
      check: { rows: number; maxAbsDiff: number };
    };
    assert.deepEqual([r.version, r.from, r.changed], [1, 2, true]);
    assert.ok(r.check.rows > 0 && r.check.maxAbsDiff <= 1e-4, 'v1 went through the serving dry run');
    const registry = await readRegistry(l);
    assert.deepEqual(registry?.champion, { version: 1, uri: l.registryModel(1), modelId: 'run-1' });
    assert.deepEqual(
      registry?.championLog?.map((m) => [m.action, m.version, m.from]),
      [
        ['run', 1, null],
        ['run', 2, 1],
        ['rollback', 1, 2],
      ],
    );
    const pointer = (await readServingPointer(l))?.value;
    assert.deepEqual([pointer?.version, pointer?.modelUri, pointer?.modelId], [1, l.registryModel(1), 'run-1']);
    assert.equal((await readJson(l.servingPointer, servingPointerSchema))?.modelUri, 'models/registry/v1', 'recorded as a bucket key');
    const scored = (await invokeLocalChampion({ bucketUri: dir })) as { servedVersion: string; modelVersion: string };
    assert.deepEqual([scored.servedVersion, scored.modelVersion], ['v1', 'run-1']);

    const before = await readFile(l.registry, 'utf8');
    await assert.rejects(wdp(dir, 'models', 'rollback'), /nothing to roll back to: v1 is the first champion/);
    assert.equal(await readFile(l.registry, 'utf8'), before, 'a refused rollback writes nothing');

    // Promote v2 again: it is back on top, and rollback goes to v1 once more.
    const p = (await wdp(dir, 'models', 'promote', 'v2')) as { version: number; from: number };
    assert.deepEqual([p.version, p.from], [2, 1]);
    assert.equal((await readJson(l.servingPointer, servingPointerSchema))?.version, 2);
    assert.equal(((await wdp(dir, 'models', 'list')) as ListOut).rollbackTo, 1);
  });

  it('refuses to promote a missing version or one whose files fail their checks, changing nothing', async () => {
    const { dir, l } = await bucket();
    const registry = await readFile(l.registry, 'utf8');
    const pointer = await readFile(l.servingPointer, 'utf8');
    await assert.rejects(wdp(dir, 'models', 'promote', '9'), /v9 is not a promoted version in the registry \(it has v1, v2\)/);
    // Spelled as anything but digits (Number() read 1e0 and 0x1 as 1, and 1e1 as v10): refused, not guessed.
    for (const v of ['1e0', '0x1', ' 1', '1.0'])
      await assert.rejects(wdp(dir, 'models', 'promote', v), new RegExp(`V must be a registry version such as 3 or v3, got "${v}"`));
    // One flipped byte in v1's wide weights.
    const wide = join(l.registryModel(1), 'wide.safetensors');
    const bytes = await readFile(wide);
    bytes[bytes.length - 1]! ^= 0xff;
    await writeFile(wide, bytes);
    await assert.rejects(wdp(dir, 'models', 'promote', '1'), /refusing to promote v1: .*wide\.safetensors.*sha256.*nothing changed/s);
    await assert.rejects(wdp(dir, 'models', 'rollback'), /refusing to roll back to v1: .*wide\.safetensors/s);
    assert.equal(await readFile(l.registry, 'utf8'), registry);
    assert.equal(await readFile(l.servingPointer, 'utf8'), pointer);
  });

  it('refuses promote and rollback while a run holds the run lock, and leaves the lock to its run', async () => {
    const { dir, l } = await bucket();
    const lock = await acquireRunLock(l, { owner: 'nightly-42', holder: 'test' });
    assert.ok(lock.acquired);
    const registry = await readFile(l.registry, 'utf8');
    await assert.rejects(wdp(dir, 'models', 'rollback'), /refusing to rollback while the run lock is held .*run nightly-42/);
    await assert.rejects(wdp(dir, 'models', 'promote', '1'), /refusing to promote while the run lock is held/);
    assert.equal(await readFile(l.registry, 'utf8'), registry);
    assert.equal((await readRunLock(l))?.lock.owner, 'nightly-42');
    await releaseRunLock(l, 'nightly-42', 'test');
    // A local run killed while holding it (its host and pid, the pid gone) does not keep the operator out.
    assert.ok((await acquireRunLock(l, { owner: 'killed-run', holder: `${hostname()} pid 2147483646` })).acquired);
    assert.equal(((await wdp(dir, 'models', 'rollback')) as { version: number }).version, 1, 'and goes through once it is released');
    assert.equal((await readRunLock(l))?.lock.state, 'released');
  });

  it('a pointer or registry naming a path outside the bucket is refused when read; promote --force repairs the pointer; invoke checks the model id', async () => {
    const { dir, l } = await bucket();
    const pointer = (p: Record<string, unknown>) =>
      writeFile(l.servingPointer, JSON.stringify({ version: 2, modelId: 'run-2', at: 'x', ...p }));
    await pointer({ modelUri: `${dir}/../../../../etc` });
    const listed = (await wdp(dir, 'models', 'list')) as ListOut;
    assert.match(
      listed.disagreement ?? '',
      /live\.json cannot be used: .*live\.json names ".*etc", .*outside the bucket.*`wdp models promote 2 --force`/,
    );
    await assert.rejects(invokeLocalChampion({ bucketUri: dir }), /live\.json names ".*\/etc".*outside the bucket/);
    await assert.rejects(wdp(dir, 'models', 'promote', '2'), /not moved to v2: .*outside the bucket.*--force/);
    await assert.rejects(wdp(dir, 'models', 'rollback'), /--force/);
    const r = (await wdp(dir, 'models', 'promote', '2', '--force')) as { version: number; changed: boolean };
    assert.deepEqual([r.version, r.changed], [2, true]);
    assert.equal(((await wdp(dir, 'models', 'list')) as ListOut).disagreement, null);
    assert.equal(((await invokeLocalChampion({ bucketUri: dir })) as { servedVersion: string }).servedVersion, 'v2');

    // A valid model, but outside the bucket (an older pointer's absolute path): refused, not served.
    const outside = await mkdtemp(join(tmpdir(), 'wdp-models-outside-'));
    dirs.push(outside);
    await cp(l.registryModel(2), join(outside, 'v2'), { recursive: true });
    await pointer({ modelUri: join(outside, 'v2') });
    await assert.rejects(invokeLocalChampion({ bucketUri: dir }), /outside the bucket/);
    // Inside the bucket, but not the model the pointer claims: refused on the model id.
    await pointer({ modelUri: 'models/registry/v1', keys: 'bucket-relative' });
    await assert.rejects(invokeLocalChampion({ bucketUri: dir }), /says v2 is model run-2, but .*v1 holds model run-1/);

    await wdp(dir, 'models', 'promote', '2', '--force');

    // A registry naming a model outside the bucket: refused naming the file, and rebuilt without --force.
    const registry = JSON.parse(await readFile(l.registry, 'utf8')) as { keys?: string; champion: { uri: string } };
    registry.champion.uri = join(outside, 'v2');
    delete registry.keys;
    await writeFile(l.registry, JSON.stringify(registry));
    await assert.rejects(wdp(dir, 'models', 'list'), /registry\.json names ".*v2", .*outside the bucket.*wdp registry rebuild/);
    await wdpJson(['registry', 'rebuild', '--bucket', dir, '--json']);
    assert.equal(((await wdp(dir, 'models', 'list')) as ListOut).champion?.version, 2);
  });

  it('flags serving that disagrees with the registry, naming the repair', async () => {
    const { dir, l } = await bucket();
    await writeFile(l.servingPointer, JSON.stringify({ modelUri: l.registryModel(1), version: 1, modelId: 'run-1', at: 'x' }));
    const r = (await wdp(dir, 'models', 'list')) as ListOut;
    assert.match(
      r.disagreement ?? '',
      /serves .*v1 but the registry's champion is v2 .*`wdp models promote 1` makes the registry follow serving/,
    );
    // `wdp invoke` (local) answers from what serves, warning on stderr as `wdp models` words it.
    const invoked = await wdpCapture(['invoke', '--bucket', dir]);
    assert.equal((JSON.parse(invoked.stdout) as { servedVersion: string }).servedVersion, 'v1');
    assert.equal(invoked.stderr, `WARNING: ${r.disagreement}\n`);
    // That repair: serving already serves v1, so only the registry moves.
    await wdp(dir, 'models', 'promote', '1');
    assert.equal(((await wdp(dir, 'models', 'list')) as ListOut).disagreement, null);
    assert.equal((await wdpCapture(['invoke', '--bucket', dir])).stderr, '', 'no warning once they agree');
  });

  it('repairs a deleted local pointer with promote of the champion, and names that repair for an unreadable one', async () => {
    const { dir, l } = await bucket();
    await rm(l.servingPointer);
    assert.match(
      ((await wdp(dir, 'models', 'list')) as ListOut).disagreement ?? '',
      /serves nothing: `wdp models promote 2` points it at the champion/,
    );
    await wdp(dir, 'models', 'promote', '2');
    assert.equal((await readJson(l.servingPointer, servingPointerSchema))?.version, 2);
    assert.equal(((await wdp(dir, 'models', 'list')) as ListOut).disagreement, null);

    await writeFile(l.servingPointer, '{bad');
    const before = await readFile(l.registry, 'utf8');
    await assert.rejects(wdp(dir, 'models', 'rollback'), /live\.json is not valid JSON.*`wdp models promote V --force`/);
    assert.equal(await readFile(l.registry, 'utf8'), before, 'nothing moved');
    // --force replaces the unreadable pointer (the registry already names v2: only serving moves).
    await wdp(dir, 'models', 'promote', '2', '--force');
    assert.equal((await readServingPointer(l))?.value.version, 2);
    assert.equal(await readFile(l.registry, 'utf8'), before, 'the registry already named v2');
  });

  it('shows one version with its report URI, and says when the report is not there', async () => {
    const { dir, l } = await bucket();
    const m = (await wdp(dir, 'models', 'show', '2')) as {
      modelId: string;
      manifest: { kind: string } | null;
      report: { uri: string; exists: boolean };
      validation: { exists: boolean };
    };
    assert.equal(m.modelId, 'run-2');
    assert.equal(m.manifest?.kind, 'wide_deep');
    assert.deepEqual(m.report, { uri: l.runReport(l.candidate('run-2')), exists: false });
    assert.equal(m.validation.exists, true);
  });

  it('runs list / show: verdicts (promoted vN, rejected with reasons, failed, in progress) and the report path', async () => {
    const { dir, l } = await bucket();
    // A run that died in Train: its manifest, no candidate.
    const manifest = JSON.parse(await readFile(l.runManifest('run-2'), 'utf8')) as RunManifest;
    await mkdir(join(dir, 'runs', 'run-4'), { recursive: true });
    const died = { ...manifest, runId: 'run-4', candidateUri: l.candidate('run-4'), createdAt: '2099-01-01T00:00:00.000Z' };
    await writeFile(l.runManifest('run-4'), JSON.stringify(died));
    const rows = (await wdp(dir, 'runs', 'list')) as {
      runId: string;
      verdict: { kind: string; version?: number; reasons?: string[] };
      report: { uri: string };
    }[];
    const by = new Map(rows.map((r) => [r.runId, r]));
    assert.equal(rows[0]!.runId, 'run-4', 'newest first');
    assert.deepEqual(by.get('run-1')!.verdict, { kind: 'promoted', version: 1, champion: false });
    assert.deepEqual(by.get('run-2')!.verdict, { kind: 'promoted', version: 2, champion: true });
    assert.deepEqual(by.get('run-3')!.verdict, { kind: 'rejected', reasons: ['min_auc: auc 0.5000 fails auc ≥ 0.6'] });
    assert.deepEqual(by.get('run-4')!.verdict, { kind: 'failed', stage: 'in Train (no candidate model was saved)' });
    assert.equal(by.get('run-2')!.report.uri, l.runReport(l.candidate('run-2')));
    const shown = (await wdp(dir, 'runs', 'show', 'run-3')) as { validation: { passed: boolean }; verdict: { kind: string } };
    assert.equal(shown.verdict.kind, 'rejected');
    assert.equal(shown.validation.passed, false);
    await assert.rejects(wdp(dir, 'runs', 'show', 'run-'), /"run-" names 4 runs/);

    // A run between Ingest and its end holds the run lock: its id ends with the lock's owner (the execution name).
    const runId = '20990102T000000Z-nightly-5';
    await mkdir(join(dir, 'runs', runId), { recursive: true });
    await writeFile(l.runManifest(runId), JSON.stringify({ ...manifest, runId, candidateUri: l.candidate(runId) }));
    assert.ok((await acquireRunLock(l, { owner: 'nightly-5', holder: 'state machine' })).acquired);
    const shownNow = (await wdp(dir, 'runs', 'show', 'nightly-5')) as { verdict: unknown };
    assert.deepEqual(shownNow.verdict, { kind: 'in_progress', lockHolder: 'state machine' });

    // A local run killed (kill -9, a crash) still holds the lock, but its process is gone: it is not
    // in progress (the next run takes its lock over at once), it failed where it stopped.
    const killedId = '20990103T000000Z-local-6';
    await mkdir(join(dir, 'runs', killedId), { recursive: true });
    await writeFile(l.runManifest(killedId), JSON.stringify({ ...manifest, runId: killedId, candidateUri: l.candidate(killedId) }));
    await releaseRunLock(l, 'nightly-5', 'test');
    const gone = `${hostname()} pid 2147483646`;
    assert.ok((await acquireRunLock(l, { owner: 'local-6', holder: gone })).acquired);
    const killed = (await wdp(dir, 'runs', 'show', 'local-6')) as { verdict: unknown };
    assert.deepEqual(killed.verdict, { kind: 'failed', stage: 'in Train (no candidate model was saved)' });
  });
});
