import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aucDifference } from '../../src/evaluation/bootstrap.ts';
import { auc } from '../../src/evaluation/metrics.ts';
import { Rng } from '../../src/util/random.ts';

/** Labels ~ Bernoulli(0.3) and a score that carries `signal` of the label plus N(0,1) noise. */
function rows(n: number, seed: number) {
  const rng = new Rng(seed);
  const labels = Float32Array.from({ length: n }, () => (rng.next() < 0.3 ? 1 : 0));
  const score = (signal: number) => Float32Array.from(labels, (y) => signal * y + rng.normal());
  return { labels, score };
}

test('the difference on the rows as they are is the mean AUCs difference, ties counted as half', () => {
  const { labels, score } = rows(500, 1);
  const a1 = score(1);
  const a2 = score(1.2);
  const b = Float32Array.from(score(0.5), (v) => Math.round(v * 2) / 2); // many ties
  const d = aucDifference(labels, [a1, a2], [b], { rounds: 50 });
  const want = (auc(a1, labels) + auc(a2, labels)) / 2 - auc(b, labels);
  assert.ok(Math.abs(d.difference - want) < 1e-12, `${d.difference} vs ${want}`);
});

test('a clearly better model: the interval excludes 0; the same model twice: 0 inside, width shrinking with rows', () => {
  const { labels, score } = rows(2000, 2);
  const strong = score(1.5);
  const weak = score(0.3);
  const d = aucDifference(labels, [strong], [weak], { rounds: 400 });
  assert.ok(d.ci95[0] > 0.1 && d.ci95[0] < d.difference && d.difference < d.ci95[1], JSON.stringify(d));
  assert.equal(d.shareNotAbove, 0);

  const same = aucDifference(labels, [strong], [strong], { rounds: 50 });
  assert.deepEqual([same.difference, ...same.ci95], [0, 0, 0]);

  const small = rows(500, 3);
  const big = rows(8000, 3);
  const width = (r: ReturnType<typeof rows>) => {
    const d2 = aucDifference(r.labels, [r.score(1)], [r.score(0.9)], { rounds: 300 });
    return d2.ci95[1] - d2.ci95[0];
  };
  const [ws, wb] = [width(small), width(big)];
  // the interval narrows like 1/√rows: 16× the rows, about a quarter of the width
  assert.ok(wb < ws / 2.5 && wb > ws / 6, `widths ${ws} (500 rows) vs ${wb} (8000 rows)`);
});

test('deterministic for a seed; bad input is refused by name', () => {
  const { labels, score } = rows(300, 4);
  const a = score(1);
  const b = score(0.8);
  assert.deepEqual(aucDifference(labels, [a], [b], { seed: 5, rounds: 100 }), aucDifference(labels, [a], [b], { seed: 5, rounds: 100 }));
  assert.throws(() => aucDifference(labels, [], [b]), /at least one model on each side/);
  assert.throws(() => aucDifference(labels, [a.subarray(1)], [b]), /299 predictions for 300 labelled rows/);
  assert.throws(() => aucDifference(labels, [a], [b], { rounds: 0 }), /rounds must be a positive integer/);
  const oneClass = new Float32Array(300);
  assert.throws(() => aucDifference(oneClass, [a], [b]), /needs both labels \(0 and 1\)/);
});

test('blocks (cross-fitting folds): the AUC is the mean of the blocks’ AUCs, never ranking one block against another', () => {
  const first = rows(400, 6);
  const second = rows(600, 7);
  // The second fold's model scores everything 10 higher: a pooled AUC would rank all its rows
  // above the first fold's, whatever their labels; per block that shift does not matter.
  const a1 = first.score(1);
  const a2 = Float32Array.from(second.score(1), (v) => v + 10);
  const b1 = first.score(0.5);
  const b2 = second.score(0.5);
  const labels = Float32Array.from([...first.labels, ...second.labels]);
  const a = Float32Array.from([...a1, ...a2]);
  const b = Float32Array.from([...b1, ...b2]);
  const d = aucDifference(labels, [a], [b], { rounds: 200, blocks: [400, 600] });
  const want = (auc(a1, first.labels) + auc(a2, second.labels)) / 2 - (auc(b1, first.labels) + auc(b2, second.labels)) / 2;
  assert.ok(Math.abs(d.difference - want) < 1e-12, `${d.difference} vs ${want}`);
  assert.ok(d.ci95[0] < d.difference && d.difference < d.ci95[1], JSON.stringify(d));
  const pooled = aucDifference(labels, [a], [b], { rounds: 10 });
  assert.ok(Math.abs(pooled.difference - d.difference) > 0.01, 'the pooled AUC is another number here');
  assert.throws(
    () => aucDifference(labels, [a], [b], { blocks: [400, 599] }),
    /blocks must be positive whole sizes adding up to the 1000 rows, got 400, 599/,
  );
  assert.throws(() => aucDifference(labels, [a], [b], { blocks: [1000, 0] }), /blocks must be positive/);
});
