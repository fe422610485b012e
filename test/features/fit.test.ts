import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeatureTransforms } from '../../src/features/transforms.ts';
import { cfg, chunk, chunks } from '../helpers/feature-fixtures.ts';

test('fitted wide buckets are equal-frequency boundaries from the sample', async () => {
  const config = cfg({
    features: { x: { kind: 'numeric', wideBuckets: 2, quantiles: 2 } },
    wide: { features: ['x'] },
    deep: { numeric: ['x'] },
  });
  const t = await FeatureTransforms.fit(config, chunks(chunk({ x: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) })));
  // Boundary = sorted[floor(1·10/2)] = 6.
  assert.deepEqual(t.toState().features.x, { kind: 'numeric', quantiles: 2, quantileCuts: [6], boundaries: [6], wideBuckets: 2 });
  assert.equal(t.segmentSignature('x'), 'buckets:6');
});

test('warm-start fit keeps the parent cut points and boundaries but refits vocabularies', async () => {
  const config = cfg({
    features: { c: { kind: 'categorical' }, x: { kind: 'numeric', quantiles: 5, wideBuckets: 2 } },
    wide: { features: ['c', 'x'] },
    deep: { embeddings: ['c'], numeric: ['x'] },
  });
  const parent = await FeatureTransforms.fit(
    config,
    chunks(chunk({ c: ['a', 'a', 'b', 'b', 'b', 'a', 'a', 'a', 'a', 'a'], x: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) })),
  );
  const day2 = chunk({
    c: ['z', 'z', 'b', 'q', 'q', 'q', 'q', 'q', 'q', 'q'],
    x: new Float64Array([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]),
  });
  const child = await FeatureTransforms.fit(config, chunks(day2), { parent: parent.toState() });
  assert.deepEqual(child.vocabTokens('c'), ['', 'q', 'z', 'b']);
  const ps = parent.toState().features.x;
  const cs = child.toState().features.x;
  assert.deepEqual(cs, ps);
  assert.deepEqual(ps, { kind: 'numeric', quantiles: 5, quantileCuts: [3, 5, 7, 9], boundaries: [6], wideBuckets: 2 });

  const refit = await FeatureTransforms.fit(config, chunks(day2), { parent: parent.toState(), refitNumeric: true });
  assert.deepEqual(refit.toState().features.x, {
    kind: 'numeric',
    quantiles: 5,
    quantileCuts: [300, 500, 700, 900],
    boundaries: [600],
    wideBuckets: 2,
  });

  // A parent fitted with another n_q cannot be reused: the cut points are refitted.
  const config6 = cfg({ ...config, features: { ...config.features, x: { kind: 'numeric', quantiles: 2, wideBuckets: 2 } } });
  const changed = await FeatureTransforms.fit(config6, chunks(day2), { parent: parent.toState() });
  assert.deepEqual((changed.toState().features.x as { quantileCuts: number[] }).quantileCuts, [600]);
});

test('fit reports rows read so far', async () => {
  const config = cfg({ features: { c: { kind: 'categorical' } }, wide: { features: ['c'] } });
  const seen: number[] = [];
  await FeatureTransforms.fit(config, chunks(chunk({ c: ['a', 'b'] }), chunk({ c: ['c'] })), { onRows: (r) => seen.push(r) });
  assert.deepEqual(seen, [2, 3]);
});
