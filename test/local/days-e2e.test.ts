/**
 * No day lost, bad files up front: the synthesized retraining definition run locally through
 * `npm start`'s runner, with the faults injected into the bucket folder (a shuffled-label day, a
 * file added late to an old partition, a file of the wrong schema or a truncated one).
 */
import assert from 'node:assert/strict';
import { copyFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readRegistry } from '../../src/workflow/bucket/state.ts';
import { showRun } from '../../src/workflow/steps/runs.ts';
import { tinyChunk } from '../helpers/tiny-data.ts';
import { writeTinyParquet } from '../helpers/tiny-files.ts';
import { localBuckets } from '../helpers/local-buckets.ts';
import { addDays, smallConfig } from '../helpers/workflow-fixture.ts';

// biome-ignore lint/suspicious/noExplicitAny: state documents read raw, as an operator would
const readState = async (path: string): Promise<any> => JSON.parse(await readFile(path, 'utf8'));

describe('local runs: days of a rejected run, late files, bad files', () => {
  const buckets = localBuckets('wdp-days-');
  after(buckets.cleanup);
  const { run } = buckets;
  /** A bucket folder whose champion is v1, trained on 2026-01-01..02 with 2026-01-03 held out. */
  const bucketWithChampion = async () => {
    const b = await buckets.bucketWithChampion();
    return { ...b, watermark: join(b.dir, 'state', 'watermark.json') };
  };

  it('a rejected bad holdout day is held; the good day before it and the next good day reach a champion; the bad day only by an operator', async () => {
    const { dir, watermark } = await bucketWithChampion();
    await addDays(dir, 1); // 2026-01-04
    assert.equal((await run(dir)).promotion?.version, 2);
    await addDays(dir, 1, { shuffleLabels: true }); // 2026-01-05: labels are noise
    const rejected = await run(dir);
    assert.equal(rejected.status, 'rejected');
    assert.deepEqual(rejected.ingest?.hasNewData && [rejected.ingest.trainPartitions, rejected.ingest.holdoutPartitions], [
      ['2026-01-04'],
      ['2026-01-05'],
    ]);
    await addDays(dir, 1); // 2026-01-06, a normal day
    const next = await run(dir);
    // Before the fix: train=2026-01-05 (the bad day) holdout=2026-01-06, rejected again, and
    // 2026-01-04 never reached a champion.
    assert.deepEqual(next.ingest?.hasNewData && [next.ingest.trainPartitions, next.ingest.holdoutPartitions], [
      ['2026-01-04'],
      ['2026-01-06'],
    ]);
    assert.equal(next.status, 'promoted', JSON.stringify(next.error ?? next.validation));
    assert.equal(next.promotion?.version, 3);
    let w = await readState(watermark);
    // Champion v2 also failed 2026-01-05 (auc ≈ 0.5), so the holdout was the bad day and 2026-01-04 was cleared.
    assert.deepEqual(
      w.held.map((h: { day: string; role: string }) => [h.day, h.role]),
      [['2026-01-05', 'holdout']],
    );
    const registry = await readState(join(dir, 'registry', 'registry.json'));
    assert.deepEqual(
      registry.history.map((e: { status: string; data: { train: string[] } }) => [e.status, e.data.train.join(',')]),
      [
        ['promoted', '2026-01-01,2026-01-02'],
        ['promoted', '2026-01-03'],
        ['rejected', '2026-01-04'],
        ['promoted', '2026-01-04'],
      ],
      'the bad day is in no candidate after the rejection',
    );
    w = await readState(watermark);
    assert.deepEqual(w.untrained, ['2026-01-06']);
    assert.deepEqual(
      w.held.map((h: { day: string }) => h.day),
      ['2026-01-05'],
      'still held: no run reads it without an operator',
    );

    // The operator's say, through the CLI: list, then drop; the day is never read again.
    const { spawnSync } = await import('node:child_process');
    const wdp = (...args: string[]) => spawnSync(process.execPath, ['bin/wdp.mjs', 'days', ...args, '--bucket', dir], { encoding: 'utf8' });
    const listed = wdp('list', '--json');
    assert.equal(listed.status, 0, listed.stderr);
    assert.deepEqual(
      JSON.parse(listed.stdout).held.map((h: { day: string }) => h.day),
      ['2026-01-05'],
    );
    const notHeld = wdp('release', '2026-01-04');
    assert.equal(notHeld.status, 1);
    assert.match(notHeld.stderr, /error: 2026-01-04 is not held \(held: 2026-01-05\)/);
    const dropped = wdp('drop', '2026-01-05');
    assert.equal(dropped.status, 0, dropped.stderr);
    w = await readState(watermark);
    assert.deepEqual(w.held, []);
    assert.deepEqual(
      w.dropped.map((d: { day: string; from: string }) => [d.day, d.from]),
      [['2026-01-05', 'held']],
    );
    await addDays(dir, 1); // 2026-01-07
    const after = await run(dir);
    assert.deepEqual(after.ingest?.hasNewData && after.ingest.trainPartitions, ['2026-01-06']);
  });

  it('a file added later to an already-read partition is trained in the next run and reported', async () => {
    const { dir, watermark } = await bucketWithChampion();
    // A late delivery for 2026-01-02, after v1 was trained on it.
    await copyFile(join(dir, 'logs/dt=2026-01-02/part-00000.parquet'), join(dir, 'logs/dt=2026-01-02/part-00001.parquet'));
    await addDays(dir, 1);
    const r = await run(dir);
    assert.equal(r.status, 'promoted', JSON.stringify(r.error ?? r.validation));
    const late = join(dir, 'logs/dt=2026-01-02/part-00001.parquet');
    assert.deepEqual(r.ingest?.hasNewData && r.ingest.lateFiles, [late]);
    assert.ok(r.ingest?.hasNewData);
    const manifest = await readState(r.ingest.manifestUri);
    assert.ok(manifest.data.includes(late), 'the late file is in the training data');
    const w = await readState(watermark);
    // Recorded as bucket keys (bucket/keys.ts), whatever the bucket's spelling.
    assert.deepEqual(
      w.files['2026-01-02'].map((f: { uri: string }) => f.uri),
      ['logs/dt=2026-01-02/part-00000.parquet', 'logs/dt=2026-01-02/part-00001.parquet'],
    );
  });

  it('a wrong-schema file in a new partition fails at Ingest naming it (data.onBadFile "error"): no training, the watermark stays', async () => {
    const { dir, watermark } = await bucketWithChampion();
    await addDays(dir, 1);
    const bad = join(dir, 'logs/dt=2026-01-04/part-00001.parquet');
    await writeTinyParquet(bad, tinyChunk({ rows: 50, seed: 3 })); // a Parquet file of another schema
    const r = await run(dir);
    assert.equal(r.status, 'failed');
    assert.deepEqual(
      [...new Set(r.states.map((s) => s.name))],
      ['Lock', 'LockAcquired', 'Ingest', 'IngestFailed', 'UnlockFailed', 'DescribeFailure', 'FailureAsRecorded', 'NotifyFailure', 'Failed'],
      'found before any training',
    );
    assert.match(
      r.states.find((s) => s.name === 'Ingest')?.error ?? '',
      /part-00001\.parquet: column "country": required string column is missing/,
    );
    const notes = await readdir(join(dir, 'notifications'));
    const note = await readFile(join(dir, 'notifications', notes[0]!), 'utf8');
    assert.ok(note.includes(bad) && note.includes('required'), note);
    assert.equal((await readState(watermark)).through, '2026-01-03');
    // Every night fails the same way until the file is fixed; removing it lets the run go on.
    await rm(bad);
    assert.equal((await run(dir)).status, 'promoted');
  });

  it('with data.onBadFile "quarantine", a truncated file in a new partition is set aside, listed, and the run promotes without it', async () => {
    const { dir, l } = await bucketWithChampion();
    await writeFile(l.config, JSON.stringify({ ...smallConfig(), data: { onBadFile: 'quarantine' } }));
    await addDays(dir, 1);
    const bad = join(dir, 'logs/dt=2026-01-04/part-00001.parquet');
    await writeFile(bad, 'PAR1 and then the upload stopped');
    const r = await run(dir);
    assert.equal(r.status, 'promoted', JSON.stringify(r.error ?? r.validation));
    assert.ok(r.ingest?.hasNewData);
    assert.deepEqual(
      r.ingest.quarantined.map((q) => q.uri),
      [bad],
    );
    assert.deepEqual((await readState(r.ingest.manifestUri)).holdout, [join(dir, 'logs/dt=2026-01-04/part-00000.parquet')]);
    const { spawnSync } = await import('node:child_process');
    const listed = spawnSync(process.execPath, ['bin/wdp.mjs', 'days', '--bucket', dir], { encoding: 'utf8' });
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stderr, new RegExp(`quarantined: \\n  ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}  not a Parquet file`));
    // Notified at once (not only on a rejection), and named in the registry entry of the run.
    assert.ok(r.states.some((s) => s.name === 'NotifyQuarantined' && s.status === 'succeeded'));
    const notes = await readdir(l.notifications);
    const texts = await Promise.all(notes.map((n) => readFile(join(l.notifications, n), 'utf8')));
    assert.ok(
      texts.some((t) => t.includes('wdp log files quarantined') && t.includes(bad)),
      texts.join('\n'),
    );
    const registry = await readRegistry(l);
    assert.deepEqual(
      registry.history.at(-1)?.quarantined?.map((q) => q.uri),
      [bad],
    );
  });

  it('unsafe file names: one in the logs is skipped, one an older wdp recorded in the watermark is kept; both are named JSON-quoted in the summary, `wdp runs show` and the report', async () => {
    const { dir, l, watermark } = await bucketWithChampion();
    // As an older wdp recorded it, before Ingest skipped such names: it failed every run at Ingest.
    const recorded = 'logs/dt=2026-01-01/old\\name\u001b[2J.parquet';
    const w = await readState(watermark);
    w.files['2026-01-01'].push({ uri: recorded, sizeBytes: 7 });
    await writeFile(watermark, JSON.stringify(w));
    await addDays(dir, 1);
    const skipped = join(dir, 'logs/dt=2026-01-04/new\\name\u001b]0;x\u0007.parquet');
    await copyFile(join(dir, 'logs/dt=2026-01-04/part-00000.parquet'), skipped);
    const lines: string[] = [];
    const r = await run(dir, { print: (line) => lines.push(line) });
    assert.equal(r.status, 'promoted', JSON.stringify(r.error ?? r.validation));
    assert.ok(r.ingest?.hasNewData);
    assert.deepEqual(
      r.ingest.skippedFiles?.map((f) => f.uri),
      [skipped, `${dir}/${recorded}`],
    );
    const screen = lines.join('\n');
    assert.ok(!screen.includes('\u001b'), 'no raw escape reaches the terminal');
    assert.ok(
      screen.includes(`WARNING skipped ${JSON.stringify(skipped)}: it contains a control character (U+001B); rename it to train on it`),
      screen,
    );
    assert.ok(
      screen.includes(`WARNING skipped ${JSON.stringify(`${dir}/${recorded}`)}: recorded in state/watermark.json by an older wdp`),
      screen,
    );
    // Promote rewrote the watermark with the entry as it was recorded.
    assert.ok((await readState(watermark)).files['2026-01-01'].some((f: { uri: string }) => f.uri === recorded));
    const shown = await showRun(l, r.ingest.runId);
    assert.deepEqual(shown.skippedFiles, r.ingest.skippedFiles);
    const report = await readFile(l.runReport(r.ingest.candidateUri), 'utf8');
    assert.ok(report.includes('skipped: name not a safe key'), 'the run report names them');
    assert.ok(report.includes(JSON.stringify(skipped).replace(/"/g, '&quot;')), 'JSON-quoted in the report');
  });
});
