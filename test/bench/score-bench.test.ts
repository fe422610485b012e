/**
 * The scoring bench's huge-pages environment: added once, beside any tunables already given.
 * (The bench itself is run as `npx wdp bench score`; no timing is asserted here.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pairedP50Ratio } from '../../src/bench/peer.ts';
import { HUGE_PAGES_TUNABLE, withHugePages } from '../../src/bench/score-bench.ts';

test('withHugePages adds the malloc tunable, keeps other tunables, and never doubles it', () => {
  assert.equal(withHugePages({}).GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1');
  assert.equal(HUGE_PAGES_TUNABLE, 'glibc.malloc.hugetlb=1');
  assert.equal(
    withHugePages({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES,
    'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1',
  );
  const given = { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1', PATH: '/bin' };
  assert.equal(withHugePages(given), given);
  // The caller's environment is not modified.
  const env = { PATH: '/bin' };
  withHugePages(env);
  assert.deepEqual(env, { PATH: '/bin' });
});

test('pairedP50Ratio is the median of each round against the peer run after it', () => {
  // Round 2 ran under load on both sides: its ratio is like the others, its absolute times not.
  const ours = [
    [9, 10, 11],
    [19, 20, 40],
    [10, 11, 12],
  ];
  assert.equal(pairedP50Ratio(ours, [20, 40, 20]), 0.5);
  // Against one peer run at the end (the loaded one), the ratios would read 0.25–0.5.
  assert.throws(() => pairedP50Ratio(ours, [20, 40]), /3 rounds of ours against 2 peer runs/);
});
