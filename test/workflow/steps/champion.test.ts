import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChampionMove, Registry, RegistryEntry } from '../../../src/workflow/schemas.ts';
import { championLog, championStack, previousChampion } from '../../../src/workflow/steps/champion.ts';

const entry = (version: number): RegistryEntry => ({
  version,
  status: 'promoted',
  runId: `run-${version}`,
  modelId: `m${version}`,
  uri: `/b/models/registry/v${version}`,
  candidateUri: `/b/models/candidates/run-${version}`,
  parentVersion: version > 1 ? version - 1 : null,
  parentModelId: version > 1 ? `m${version - 1}` : null,
  metrics: {},
  reasons: [],
  data: { train: [], holdout: [] },
  reportUri: 'x',
  lambdaVersion: null,
  at: `2026-01-0${version}T00:00:00.000Z`,
});
const ref = (v: number) => ({ version: v, uri: `/b/models/registry/v${v}`, modelId: `m${v}` });
const moved = (action: ChampionMove['action'], version: number, from: number | null): ChampionMove => ({
  action,
  version,
  modelId: `m${version}`,
  from,
  at: 'x',
});

describe('the previous champion (what `wdp models rollback` goes back to)', () => {
  const runs: Registry = { formatVersion: 1, champion: ref(3), history: [entry(1), entry(2), entry(3)] };

  it('without a champion log (an older registry), the promoted history entries in order stand for it', () => {
    assert.deepEqual(
      championLog(runs).map((m) => [m.action, m.version, m.from]),
      [
        ['run', 1, null],
        ['run', 2, 1],
        ['run', 3, 2],
      ],
    );
    assert.equal(previousChampion(runs), 2);
  });

  it('a rollback takes the top off: v3 → v2 → v1, then nowhere; promoting v3 again puts it back on top', () => {
    const log = championLog(runs);
    const after1: Registry = { ...runs, champion: ref(2), championLog: [...log, moved('rollback', 2, 3)] };
    assert.deepEqual(championStack(after1), [1, 2]);
    assert.equal(previousChampion(after1), 1, 'never back to v3, the version just rolled back from');
    const after2: Registry = { ...after1, champion: ref(1), championLog: [...after1.championLog!, moved('rollback', 1, 2)] };
    assert.equal(previousChampion(after2), null);
    const again: Registry = { ...after2, champion: ref(3), championLog: [...after2.championLog!, moved('promote', 3, 1)] };
    assert.deepEqual(championStack(again), [1, 3]);
    assert.equal(previousChampion(again), 1);
  });

  it('a nightly promotion after a rollback stacks on the rolled-back-to champion', () => {
    const log = [...championLog(runs), moved('rollback', 2, 3), moved('run', 4, 2)];
    const r: Registry = { ...runs, champion: ref(4), history: [...runs.history, entry(4)], championLog: log };
    assert.deepEqual(championStack(r), [1, 2, 4]);
    assert.equal(previousChampion(r), 2);
  });

  it('a champion set outside the log (a registry rebuilt after a hand move) counts as a rollback to it, or a promotion', () => {
    const back: Registry = { ...runs, champion: ref(1) };
    assert.deepEqual(championStack(back), [1]);
    assert.equal(previousChampion(back), null);
    const other: Registry = { ...runs, history: [...runs.history, entry(5)], champion: ref(5) };
    assert.deepEqual(championStack(other), [1, 2, 3, 5]);
  });
});
