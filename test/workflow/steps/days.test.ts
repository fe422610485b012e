import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readJson, writeJson } from '../../../src/workflow/bucket/json-store.ts';
import { layout } from '../../../src/workflow/bucket/layout.ts';
import { acquireRunLock, readRunLock, releaseRunLock } from '../../../src/workflow/bucket/run-lock.ts';
import { watermarkSchema, type RunManifest, type ValidationReport } from '../../../src/workflow/schemas.ts';
import { daysStatus, dropDay, releaseDay, watermarkAfterRejection } from '../../../src/workflow/steps/days.ts';
import { runChecks } from '../../../src/workflow/steps/validate.ts';
import { thresholdsSchema } from '../../../src/workflow/steps/thresholds.ts';

const T = thresholdsSchema.parse({ minAuc: 0.6 });
const metrics = (auc: number) => ({ rows: 1000, auc, logloss: 0.4, calibration: 1, accuracy: 0.8 });
const dry = { requests: 4, scorer: 'test', p95LatencyMs: 1, maxAbsDiff: 0, allFinite: true };

/** A run that trained on 01-04 (and a late file of 01-02) and held out 01-05, as Ingest writes it. */
function run(): RunManifest {
  const file = (d: string, n = 0) => ({ uri: `/b/logs/dt=${d}/part-0000${n}.parquet`, sizeBytes: 10 });
  return {
    formatVersion: 1,
    runId: 'r5',
    createdAt: 'x',
    bucketUri: '/b',
    configUri: '/b/config/wdp.config.json',
    config: {},
    partitions: { train: ['2026-01-04'], holdout: ['2026-01-05'] },
    data: [file('2026-01-04').uri, file('2026-01-02', 1).uri],
    holdout: [file('2026-01-05').uri],
    late: [file('2026-01-02', 1)],
    champion: { version: 2, uri: '/b/models/registry/v2', modelId: 'm2' },
    candidateUri: '/b/models/candidates/r5',
    watermarkAfter: watermarkSchema.parse({
      through: '2026-01-05',
      untrained: ['2026-01-05'],
      held: [{ day: '2026-01-01', role: 'holdout', runId: 'r1', reason: 'older', at: 'x' }],
      files: {
        '2026-01-02': [file('2026-01-02'), file('2026-01-02', 1)],
        '2026-01-04': [file('2026-01-04')],
        '2026-01-05': [file('2026-01-05')],
      },
      runId: 'r5',
      updatedAt: 'x',
    }),
  };
}

function report(candidateAuc: number, championAuc: number | null, dryRun = dry): ValidationReport {
  const cand = metrics(candidateAuc);
  const champ = championAuc === null ? null : metrics(championAuc);
  const checks = runChecks(T, cand, champ, dryRun);
  return {
    runId: 'r5',
    candidateUri: '/b/models/candidates/r5',
    candidateModelId: 'r5',
    champion: null,
    holdout: [],
    passed: false,
    reasons: checks.filter((c) => !c.passed).map((c) => c.message),
    checks,
    candidateMetrics: cand,
    championMetrics: champ,
    dryRun,
    thresholds: { ...T },
    createdAt: 'x',
  };
}

describe('the days of a rejected run', () => {
  const held = (w: { held: { day: string; role: string }[] }) => w.held.map((h) => `${h.day}:${h.role}`);

  it('the champion fails the holdout too (a bad holdout day): the holdout is held, the training day stays untrained', () => {
    const w = watermarkAfterRejection(run(), report(0.5, 0.51));
    assert.deepEqual(held(w), ['2026-01-01:holdout', '2026-01-05:holdout']);
    assert.deepEqual(w.untrained, ['2026-01-04']);
    assert.equal(w.through, '2026-01-05');
    // The late file the rejected candidate read is read again by the next run.
    assert.deepEqual(
      w.files['2026-01-02']?.map((f) => f.uri),
      ['/b/logs/dt=2026-01-02/part-00000.parquet'],
    );
  });

  it('the champion passes the holdout (the candidate got worse from what it trained on): the training day is held too, as suspect', () => {
    const w = watermarkAfterRejection(run(), report(0.5, 0.75));
    assert.deepEqual(held(w), ['2026-01-01:holdout', '2026-01-04:train', '2026-01-05:holdout']);
    assert.deepEqual(w.untrained, []);
    assert.match(w.held[1]!.reason, /trained into the candidate of run r5 rejected: min_auc/);
  });

  it('no champion to compare with: every day of the run is held', () => {
    const w = watermarkAfterRejection(run(), report(0.5, null));
    assert.deepEqual(held(w), ['2026-01-01:holdout', '2026-01-04:train', '2026-01-05:holdout']);
  });

  it('rejected by the serving dry run only: no day is implicated, all stay untrained', () => {
    const w = watermarkAfterRejection(run(), report(0.75, 0.75, { ...dry, p95LatencyMs: 10_000 }));
    assert.deepEqual(held(w), ['2026-01-01:holdout']);
    assert.deepEqual(w.untrained, ['2026-01-04', '2026-01-05']);
  });
});

describe('wdp days release / drop on a folder bucket', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const bucket = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wdp-days-unit-'));
    dirs.push(dir);
    const l = layout(dir);
    // The fixture run's files are under a made-up bucket "/b", outside this one: a read would refuse them.
    await writeJson(l.watermark, { ...watermarkAfterRejection(run(), report(0.5, 0.75)), files: {} });
    return l;
  };

  it('release returns a held day to untrained; drop sets one aside for good; both name a day they cannot act on', async () => {
    const l = await bucket();
    await releaseDay(l, '2026-01-04');
    let w = await readJson(l.watermark, watermarkSchema);
    assert.deepEqual(w?.untrained, ['2026-01-04']);
    assert.deepEqual(
      w?.held.map((h) => h.day),
      ['2026-01-01', '2026-01-05'],
    );
    await dropDay(l, '2026-01-05', new Date('2026-01-06T00:00:00Z'));
    await dropDay(l, '2026-01-04', new Date('2026-01-06T00:00:00Z'));
    w = await readJson(l.watermark, watermarkSchema);
    assert.deepEqual(w?.untrained, []);
    assert.deepEqual(
      w?.dropped.map((d) => `${d.day}:${d.from}`),
      ['2026-01-05:held', '2026-01-04:untrained'],
    );
    await assert.rejects(releaseDay(l, '2026-01-03'), /2026-01-03 is not held \(held: 2026-01-01\)/);
    await assert.rejects(dropDay(l, '2026-01-03'), /2026-01-03 is neither held nor untrained/);
    const s = await daysStatus(l);
    assert.deepEqual(
      s.held.map((h) => h.day),
      ['2026-01-01'],
    );
    assert.deepEqual(s.quarantined, []);
  });

  it('fails clearly on a bucket where no run has finished', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wdp-days-unit-'));
    dirs.push(dir);
    await assert.rejects(releaseDay(layout(dir), '2026-01-01'), /no watermark at .*state\/watermark\.json: no run has finished/);
  });
});

describe('wdp days edits take the run lock', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('a release while a run holds the lock is refused naming the run, and goes through once it has ended', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wdp-days-lock-'));
    dirs.push(dir);
    const l = layout(dir);
    await writeJson(
      l.watermark,
      watermarkSchema.parse({
        through: '2026-01-03',
        untrained: [],
        held: [{ day: '2026-01-03', role: 'holdout', runId: 'r1', reason: 'rejected', at: '2026-01-04T00:00:00Z' }],
        runId: 'r1',
        updatedAt: '2026-01-04T00:00:00Z',
      }),
    );
    const run = await acquireRunLock(l, { owner: 'exec-42', holder: 'test' });
    assert.ok(run.acquired);
    await assert.rejects(releaseDay(l, '2026-01-03'), /a retraining run is in progress .*exec-42/);
    assert.equal((await readJson(l.watermark, watermarkSchema))?.held.length, 1, 'nothing changed');
    await releaseRunLock(l, 'exec-42', 'done');
    const w = await releaseDay(l, '2026-01-03');
    assert.deepEqual(w.untrained, ['2026-01-03']);
    assert.equal((await readRunLock(l))?.lock.state, 'released', 'the edit let go of the lock');
  });
});
