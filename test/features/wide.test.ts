import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeatureTransforms, MAX_CROSS_IDS_PER_EXAMPLE } from '../../src/features/transforms.ts';
import { cfg, chunk, chunks, row } from '../helpers/feature-fixtures.ts';

test('a list × single cross emits one id per list element, from raw tokens', async () => {
  const features = {
    installed: { kind: 'categorical_list' as const },
    impression: { kind: 'categorical' as const },
  };
  const wide = { crosses: [{ features: ['installed', 'impression'], hashBuckets: 1 << 20 }] };
  const fitData = chunk({ installed: [['a', 'b', 'c']], impression: ['x'] });
  const t = await FeatureTransforms.fit(cfg({ features, wide }), chunks(fitData));
  const data = chunk({ installed: [['a', 'b', 'c'], ['b'], [], null, ['q', 'q']], impression: ['x', 'x', 'x', 'x', null] });
  const { batch } = t.encode(data, { withLabels: false });
  const r0 = row(batch.wideOffsets, batch.wideIds, 0);
  assert.equal(r0.length, 3);
  assert.equal(new Set(r0).size, 3);
  for (const id of r0) assert.ok(id >= 0 && id < 1 << 20);
  // (b, x) is the same cross id wherever it appears.
  assert.deepEqual(row(batch.wideOffsets, batch.wideIds, 1), [r0[1]]);
  // An empty or missing list crosses to nothing; a missing single value still crosses.
  assert.deepEqual(row(batch.wideOffsets, batch.wideIds, 2), []);
  assert.deepEqual(row(batch.wideOffsets, batch.wideIds, 3), []);
  assert.equal(row(batch.wideOffsets, batch.wideIds, 4).length, 2);

  // Hashing uses raw tokens, not vocab ids: hashed features and a different vocab give the same ids.
  const hashed = {
    installed: { kind: 'categorical_list' as const, hashBuckets: 7 },
    impression: { kind: 'categorical' as const, hashBuckets: 3 },
  };
  const t2 = await FeatureTransforms.fit(cfg({ features: hashed, wide }), chunks(chunk({ installed: [['zzz']], impression: ['y'] })));
  assert.deepEqual([...t2.encode(data, { withLabels: false }).batch.wideIds], [...batch.wideIds]);
});

test('a cross of two lists is the cartesian product, capped per example', async () => {
  const config = cfg({
    features: { a: { kind: 'categorical_list' }, b: { kind: 'categorical_list' }, n: { kind: 'numeric', boundaries: [5] } },
    wide: { crosses: [{ features: ['a', 'b', 'n'], hashBuckets: 1 << 24, name: 'abn' }] },
  });
  const t = await FeatureTransforms.fit(config, chunks(chunk({ a: [['1']], b: [['1']], n: new Float64Array([1]) })));
  const big = Array.from({ length: 100 }, (_, i) => `t${i}`);
  const { batch } = t.encode(chunk({ a: [['1', '2'], big], b: [['x', 'y', 'z'], big], n: new Float64Array([1, 9]) }), {
    withLabels: false,
  });
  assert.equal(row(batch.wideOffsets, batch.wideIds, 0).length, 6); // 2 × 3 × 1
  assert.equal(row(batch.wideOffsets, batch.wideIds, 1).length, MAX_CROSS_IDS_PER_EXAMPLE); // 100 × 100 capped
  assert.equal(t.segmentSignature('abn'), 'cross:16777216:a,b,n[5]');
  // The numeric's bucket is its token: 1 and 4 share bucket 0, so the cross ids agree; 9 differs.
  const ids = (v: number) => [
    ...t.encode(chunk({ a: [['1']], b: [['x']], n: new Float64Array([v]) }), { withLabels: false }).batch.wideIds,
  ];
  assert.deepEqual(ids(1), ids(4));
  assert.notDeepEqual(ids(1), ids(9));
});
