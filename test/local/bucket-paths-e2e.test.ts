/**
 * The local runner and the bucket's paths: the same bucket spelled another way, or reached from
 * another working directory, is the same bucket (no old day comes back as "late"); sample logs go
 * only into a brand-new bucket; batch keys cannot leave the bucket.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { invokeLocalChampion } from '../../local/invoke.ts';
import { prepareLocalBucket } from '../../local/run-retraining.ts';
import { summaryScreen } from '../../local/run-summary.ts';
import { UnsafeKeyError } from '../../src/storage/index.ts';
import { readJson } from '../../src/workflow/bucket/json-store.ts';
import { layout } from '../../src/workflow/bucket/layout.ts';
import { registrySchema } from '../../src/workflow/schemas.ts';
import { localBuckets } from '../helpers/local-buckets.ts';
import { addDays, writeConfig } from '../helpers/workflow-fixture.ts';

describe('local bucket paths', () => {
  const { bucketWithChampion, run, cleanup } = localBuckets('wdp-paths-');
  const cwd = process.cwd();
  const scratch: string[] = [];
  after(async () => {
    process.chdir(cwd);
    await cleanup();
    await Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('the same bucket through another spelling and working directory: no late files, the right days, and invoke serves', async () => {
    const { dir } = await bucketWithChampion(); // promoted v1 through the absolute path
    await addDays(dir, 1);
    // Now from the bucket's parent, spelled relative (as `npm start` does from the repo).
    process.chdir(join(dir, '..'));
    try {
      const rel = `./${relative(process.cwd(), dir)}`;
      const r = await run(rel);
      assert.equal(r.status, 'promoted', JSON.stringify(r.error ?? r.validation));
      assert.equal(r.promotion?.version, 2);
      assert.deepEqual(r.ingest?.hasNewData && r.ingest.lateFiles, [], 'no old day comes back as late');
      assert.deepEqual(r.ingest?.hasNewData && r.ingest.trainPartitions, ['2026-01-03']);
      const registry = await readJson(layout(rel).registry, registrySchema);
      assert.deepEqual(registry?.history.at(-1)?.data.train, ['2026-01-03']);
      assert.equal(registry?.champion?.uri, 'models/registry/v2', 'recorded as a bucket key');

      // From somewhere else entirely, with the absolute path: the same champion, nothing new.
      const elsewhere = await mkdtemp(join(tmpdir(), 'wdp-paths-cwd-'));
      scratch.push(elsewhere);
      process.chdir(elsewhere);
      const served = (await invokeLocalChampion({ bucketUri: dir })) as { servedVersion: string; modelVersion: string };
      assert.equal(served.servedVersion, 'v2');
      assert.equal(served.modelVersion, r.promotion?.modelId);
      const again = await run(dir);
      assert.equal(again.status, 'no_new_data', JSON.stringify(again.error ?? again.ingest));
      assert.deepEqual(again.ingest && !again.ingest.hasNewData ? (again.ingest.lateFiles ?? []) : ['?'], []);
    } finally {
      process.chdir(cwd);
    }
  });

  it('a bucket with a champion but no logs gets no sample data: the run finds no data and changes nothing', async () => {
    const { dir, l } = await bucketWithChampion();
    await rm(join(dir, 'logs'), { recursive: true });
    const before = await readFile(l.registry, 'utf8');
    const lines: string[] = [];
    const r = await run(dir, { print: (line) => lines.push(line) });
    assert.equal(r.status, 'no_new_data', JSON.stringify(r.error));
    assert.equal(r.sampleData, undefined);
    assert.match(lines.join('\n'), /no sample data generated, as the bucket is not new/);
    assert.deepEqual(await readdir(join(dir, 'logs')).catch(() => []), []);
    assert.equal(await readFile(l.registry, 'utf8'), before);
  });

  it('sample logs go into a brand-new bucket only, and the summary says so', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'wdp-paths-new-'));
    scratch.push(fresh);
    const sample = await prepareLocalBucket({ bucketUri: fresh, sample: { days: 1, rowsPerDay: 100 } });
    assert.deepEqual(sample && [sample.rows, sample.days], [100, ['2026-01-01']]);
    assert.ok(await stat(join(fresh, 'logs/dt=2026-01-01')));

    // Only a registry (or a watermark, or a model folder) and no logs: not new.
    for (const leftover of ['registry/registry.json', 'state/watermark.json', 'models/registry/v3/claim.json']) {
      const old = await mkdtemp(join(tmpdir(), 'wdp-paths-old-'));
      scratch.push(old);
      await writeConfig(old);
      const { mkdir, writeFile } = await import('node:fs/promises');
      await mkdir(join(old, leftover, '..'), { recursive: true });
      await writeFile(join(old, leftover), '{}');
      assert.equal(await prepareLocalBucket({ bucketUri: old, sample: { days: 1, rowsPerDay: 100 } }), undefined, leftover);
      assert.deepEqual(await readdir(join(old, 'logs')).catch(() => []), [], leftover);
    }

    const screen = summaryScreen({
      status: 'no_new_data',
      bucketUri: fresh,
      executionName: 'x',
      ingest: { hasNewData: false, reason: 'only one partition' },
      sampleData: sample!,
      states: [],
      seconds: 1,
    });
    assert.match(screen.join('\n'), /this run generated 100 rows of synthetic logs for 2026-01-01/);
  });

  it('--config installs into a new bucket only: the same file again is fine, a different or missing one is refused', async () => {
    const { readFile, writeFile } = await import('node:fs/promises');
    const b = await mkdtemp(join(tmpdir(), 'wdp-paths-config-'));
    scratch.push(b);
    const mine = `${b}-mine.json`;
    scratch.push(mine);
    const example = await readFile(join(cwd, 'examples/app-store/wdp.config.json'), 'utf8');
    await writeFile(mine, example);
    await prepareLocalBucket({ bucketUri: b, configUri: mine, sample: { days: 1, rowsPerDay: 100 } });
    const installed = join(b, 'config/wdp.config.json');
    assert.equal(await readFile(installed, 'utf8'), example);
    await prepareLocalBucket({ bucketUri: b, configUri: mine });
    await writeFile(mine, example.replace(/"epochs": *\d+/, '"epochs": 7'));
    await assert.rejects(
      prepareLocalBucket({ bucketUri: b, configUri: mine }),
      (e: Error) =>
        e.message.includes(mine) &&
        e.message.includes('differs from the config this bucket already trains with') &&
        e.message.includes(installed),
    );
    await assert.rejects(prepareLocalBucket({ bucketUri: b, configUri: join(b, 'nope.json') }), /nope\.json/);
    assert.equal(await readFile(installed, 'utf8'), example, 'the installed config is untouched');
  });

  it('score-batch refuses prefixes that leave the bucket, writing nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wdp-paths-batch-'));
    scratch.push(dir);
    const { runLocalBatchScoring } = await import('../../local/run-batch.ts');
    const outside = `pwned-${process.pid}`;
    for (const [inputPrefix, outputPrefix] of [
      ['batch/input/../../logs/dt=2026-01-04/', 'batch/output/x/'],
      ['batch/input/x/', `batch/output/../../../../../tmp/${outside}/`],
    ] as const) {
      await assert.rejects(runLocalBatchScoring({ bucketUri: dir, inputPrefix, outputPrefix }), UnsafeKeyError);
    }
    await assert.rejects(stat(join('/tmp', outside)), /ENOENT/);
  });
});
