import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ColumnValues, RowChunk } from '../../src/data/row-chunk.ts';
import { DataError } from '../../src/data/errors.ts';
import { FeatureTransforms } from '../../src/features/transforms.ts';
import { TransformStateError, UnknownFeatureError } from '../../src/features/errors.ts';
import { murmur3 } from '../../src/util/murmur3.ts';
import { cfg, chunk, chunks, row } from '../helpers/feature-fixtures.ts';

test('layouts follow config order with the documented segment sizes', async () => {
  const config = cfg({
    features: {
      country: { kind: 'categorical' },
      user: { kind: 'categorical', hashBuckets: 1000 },
      age: { kind: 'numeric', boundaries: [18, 30, 50] },
      apps: { kind: 'categorical_list', combiner: 'sum' },
    },
    wide: { features: ['country', 'user', 'age'], crosses: [{ features: ['apps', 'country'], hashBuckets: 500 }] },
    deep: { embeddings: ['country', 'apps', 'user'], embeddingDims: { apps: 8 }, defaultEmbeddingDim: 4, numeric: ['age'] },
  });
  const t = await FeatureTransforms.fit(
    config,
    chunks(
      chunk({
        country: ['us', 'de', 'us'],
        user: ['u1', 'u2', 'u3'],
        age: new Float64Array([20, 40, 60]),
        apps: [['a'], ['b', 'c'], null],
      }),
    ),
  );
  // country vocab [us, de] → size 3; user 1000 buckets; age 3 boundaries → 4; cross 500.
  assert.deepEqual(t.wideLayout.segments, [
    { name: 'country', offset: 0, size: 3 },
    { name: 'user', offset: 3, size: 1000 },
    { name: 'age', offset: 1003, size: 4 },
    { name: 'apps_x_country', offset: 1007, size: 500 },
  ]);
  assert.equal(t.wideLayout.size, 1507);
  assert.deepEqual(t.deepLayout.embeddings, [
    { feature: 'country', vocabSize: 3, dim: 4, combiner: 'sum' },
    { feature: 'apps', vocabSize: 4, dim: 8, combiner: 'sum' },
    { feature: 'user', vocabSize: 1000, dim: 4, combiner: 'sum' },
  ]);
  assert.deepEqual(t.deepLayout.numeric, ['age']);
  assert.equal(t.deepLayout.inputDim, 4 + 8 + 4 + 1);
  assert.deepEqual(t.requiredColumns(true), [
    { name: 'country', kind: 'string' },
    { name: 'user', kind: 'string' },
    { name: 'age', kind: 'numeric' },
    { name: 'apps', kind: 'list' },
    { name: 'clicked', kind: 'label' },
  ]);
  assert.deepEqual(FeatureTransforms.requiredColumns(config, false), t.requiredColumns(false));
  assert.deepEqual(t.vocabTokens('country'), ['', 'us', 'de']);
  assert.equal(t.vocabTokens('user'), undefined);
  assert.equal(t.segmentSignature('country'), 'vocab');
  assert.equal(t.segmentSignature('user'), 'hash:1000');
  assert.equal(t.segmentSignature('age'), 'buckets:18,30,50');
  assert.equal(t.segmentSignature('apps_x_country'), 'cross:500:apps,country');
  assert.throws(() => t.segmentSignature('nope'), UnknownFeatureError);
});

test('vocab ids, hash buckets, bucketized and quantile-normalised numerics', async () => {
  const config = cfg({
    features: {
      country: { kind: 'categorical', vocab: { minCount: 2 } },
      user: { kind: 'categorical', hashBuckets: 1000 },
      age: { kind: 'numeric', boundaries: [0, 10, 100], quantiles: 5 },
    },
    wide: { features: ['country', 'user', 'age'] },
    deep: { embeddings: ['country'], numeric: ['age'] },
  });
  // country counts: us 3, de 2, fr 1 → vocab [us, de]; age 1..10 → cuts [3, 5, 7, 9].
  const fitChunk = chunk({
    country: ['us', 'de', 'us', 'fr', 'de', 'us', null, null, null, null],
    user: new Array<string>(10).fill('u'),
    age: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
  });
  const t = await FeatureTransforms.fit(config, chunks(fitChunk));
  assert.deepEqual(t.toState().features.age, {
    kind: 'numeric',
    quantiles: 5,
    quantileCuts: [3, 5, 7, 9],
    boundaries: [0, 10, 100],
    wideBuckets: null,
  });

  const { batch } = t.encode(
    chunk({
      country: ['us', 'de', 'fr', null, 'xx'],
      user: ['hello', 'hello', null, 'x', 'y'],
      age: new Float64Array([-1, 3, 10, 100, 1e6]),
      clicked: new Float64Array([0, 1, 0, 1, 1]),
    }),
    { withLabels: true },
  );
  assert.equal(batch.size, 5);
  assert.deepEqual([...batch.labels!], [0, 1, 0, 1, 1]);
  // Embedding ids: us 1, de 2, fr (rare) 0, null 0, unseen 0.
  assert.deepEqual([...batch.embeddingInputs[0]!.ids], [1, 2, 0, 0, 0]);
  assert.deepEqual([...batch.embeddingInputs[0]!.offsets], [0, 1, 2, 3, 4, 5]);
  // Wide row 0: country us → 0+1; user 'hello' → 3 + 351 (murmur3('hello') % 1000 = 351);
  // age −1 → bucket 0 → 1003 + 0.
  assert.deepEqual(row(batch.wideOffsets, batch.wideIds, 0), [1, 354, 1003]);
  assert.deepEqual(row(batch.wideOffsets, batch.wideIds, 1), [2, 354, 1004]); // age 3 → bucket 1
  assert.deepEqual(row(batch.wideOffsets, batch.wideIds, 2)[2], 1005); // age 10 → bucket 2
  assert.deepEqual(row(batch.wideOffsets, batch.wideIds, 3)[2], 1006); // age 100 → bucket 3
  assert.deepEqual(row(batch.wideOffsets, batch.wideIds, 4)[2], 1006);
  assert.deepEqual([...batch.wideValues], new Array(15).fill(1));
  // Quantiles [3,5,7,9]: −1 → 0, 3 → 0.25, 10 → 1, 100 → 1, 1e6 → 1.
  assert.deepEqual([...batch.numeric], [0, 0.25, 1, 1, 1]);
  for (const v of batch.numeric) assert.ok(v >= 0 && v <= 1);
});

test('deep.numericPieces: each deep numeric feeds that many adjacent tower inputs, saved with the state', async () => {
  const config = cfg({
    features: {
      country: { kind: 'categorical' },
      age: { kind: 'numeric', quantiles: 5, wideBuckets: 2 },
      hours: { kind: 'numeric', quantiles: 5, wideBuckets: 2 },
    },
    wide: { features: ['country'] },
    deep: { embeddings: ['country'], defaultEmbeddingDim: 2, numeric: ['age', 'hours'], numericPieces: 3 },
  });
  const values = new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const fitChunk = chunk({ country: new Array<string>(10).fill('us'), age: values, hours: values });
  const t = await FeatureTransforms.fit(config, chunks(fitChunk));
  // Both numerics have cuts [3, 5, 7, 9] (as in the test above).
  assert.deepEqual(t.deepLayout.numeric, ['age', 'age', 'age', 'hours', 'hours', 'hours']);
  assert.equal(t.deepLayout.inputDim, 2 + 6);
  assert.equal(t.toState().deep.numericPieces, 3);
  const rows = chunk({
    country: ['us', 'us', 'us'],
    age: new Float64Array([3, 5, 10]), // q 0.25, 0.5, 1
    hours: new Float64Array([1, 7, 5]), // q 0, 0.75, 0.5
    clicked: new Float64Array([0, 1, 0]),
  });
  const { batch } = t.encode(rows, { withLabels: true });
  // 3 pieces of q: clamp(3q − t, 0, 1) for t = 0, 1, 2.
  assert.deepEqual([...batch.numeric], [0.75, 0, 0, 0, 0, 0, /* row 1 */ 1, 0.5, 0, 1, 1, 0.25, /* row 2 */ 1, 1, 1, 1, 0.5, 0]);
  // Encoding only the hours feature fills its pieces and leaves age's at 0 (serving's split).
  const hoursOnly = t.encode(rows, { withLabels: false, features: new Set(['hours']) }).batch;
  assert.deepEqual([...hoursOnly.numeric].slice(0, 6), [0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...hoursOnly.numeric].slice(6, 12), [0, 0, 0, 1, 1, 0.25]);
  // Round trip, and a state saved before the option existed (no numericPieces) feeds one input each.
  const again = FeatureTransforms.fromState(JSON.parse(JSON.stringify(t.toState())));
  assert.deepEqual([...again.encode(rows, { withLabels: true }).batch.numeric], [...batch.numeric]);
  const { numericPieces: _, ...oldDeep } = t.toState().deep;
  const old = FeatureTransforms.fromState({ ...t.toState(), deep: oldDeep });
  assert.deepEqual(old.deepLayout.numeric, ['age', 'hours']);
  assert.deepEqual([...old.encode(rows, { withLabels: true }).batch.numeric], [0.25, 0, 0.5, 0.75, 1, 0.5]);
  // A state file asking for more pieces than a config may is refused before any layout is built.
  assert.throws(
    () => FeatureTransforms.fromState({ ...t.toState(), deep: { ...t.toState().deep, numericPieces: 1e9 } }),
    (e: unknown) => e instanceof TransformStateError && /numericPieces/.test(e.message) && /64/.test(e.message),
  );
  // One piece (the default) is left out of the saved state, so states read back unchanged.
  const one = await FeatureTransforms.fit(cfg({ ...config, deep: { ...config.deep, numericPieces: 1 } }), chunks(fitChunk));
  assert.equal('numericPieces' in one.toState().deep, false);
});

test('JSON-style cells are canonicalised: 7, 7n, "7" are one token; booleans are true/false', async () => {
  const config = cfg({
    features: { c: { kind: 'categorical' }, n: { kind: 'numeric', boundaries: [1] } },
    wide: { features: ['c', 'n'] },
  });
  const t = await FeatureTransforms.fit(config, chunks(chunk({ c: ['7', 'true'], n: new Float64Array([0, 2]) })));
  assert.deepEqual(t.vocabTokens('c'), ['', '7', 'true']);
  const { batch } = t.encode(chunk({ c: [7, 7n, '7', true, false], n: [0, 2n, '3', true, 0.5] }), { withLabels: false });
  assert.equal(batch.labels, undefined);
  const ids = [0, 1, 2, 3, 4].map((i) => row(batch.wideOffsets, batch.wideIds, i));
  // c: 7 → 1, 7n → 1, '7' → 1, true → 2, false → OOV 0. n (offset 3): 0 → 0, 2 → 1, '3' → 1, true=1 → 1, 0.5 → 0.
  assert.deepEqual(ids, [
    [1, 3],
    [1, 4],
    [1, 4],
    [2, 4],
    [0, 3],
  ]);
});

test('lists give CSR ids truncated to maxLength; combiner is reported in the layout', async () => {
  const config = cfg({
    features: { apps: { kind: 'categorical_list', combiner: 'mean', maxLength: 3 } },
    wide: { features: ['apps'] },
    deep: { embeddings: ['apps'] },
  });
  // With truncation the fit sees a, b | (none) | b, zz, a → a 2, b 2, zz 1 → ids a 1, b 2, zz 3.
  const c = chunk({ apps: [['a', 'b'], null, ['b', 'zz', 'a', 'c']] });
  const t = await FeatureTransforms.fit(config, chunks(c));
  assert.deepEqual(t.vocabTokens('apps'), ['', 'a', 'b', 'zz']);
  assert.equal(t.deepLayout.embeddings[0]!.combiner, 'mean');
  const { batch } = t.encode(chunk({ apps: [['a', 'b'], null, ['b', 'zz', 'a', 'c'], ['new', null, 'a'], []] }), { withLabels: false });
  const e = batch.embeddingInputs[0]!;
  // Null elements are dropped; unseen tokens are OOV 0.
  assert.deepEqual([...e.offsets], [0, 2, 2, 5, 7, 7]);
  assert.deepEqual([...e.ids], [1, 2, 2, 3, 1, 0, 1]);
  assert.deepEqual([...batch.wideOffsets], [...e.offsets]);
  assert.deepEqual([...batch.wideIds], [...e.ids]);
});

test('state round-trips through JSON and encodes identically', async () => {
  const config = cfg({
    features: {
      c: { kind: 'categorical' },
      h: { kind: 'categorical', hashBuckets: 97 },
      l: { kind: 'categorical_list', maxLength: 4 },
      x: { kind: 'numeric', default: 0.5 },
    },
    wide: { features: ['c', 'h', 'x', 'l'], crosses: [{ features: ['l', 'c'], hashBuckets: 1000 }] },
    deep: { embeddings: ['c', 'h', 'l'], numeric: ['x'] },
  });
  const data = chunk({
    c: ['a', 'b', null, 'a'],
    h: ['u1', 'u2', 'u3', null],
    l: [['p', 'q'], [], null, ['p', 'r', 's', 't', 'u']],
    x: new Float64Array([0.1, NaN, 3, 7]),
    clicked: new Float64Array([1, 0, 0, 1]),
  });
  const t = await FeatureTransforms.fit(config, chunks(data));
  const restored = FeatureTransforms.fromState(JSON.parse(JSON.stringify(t.toState())));
  assert.deepEqual(restored.toState(), t.toState());
  assert.deepEqual(restored.wideLayout, t.wideLayout);
  assert.deepEqual(restored.deepLayout, t.deepLayout);
  assert.deepEqual(restored.encode(data, { withLabels: true }), t.encode(data, { withLabels: true }));
  assert.equal(t.toState().formatVersion, 1);
});

test('fromState rejects malformed or inconsistent state with TransformStateError', async () => {
  const config = cfg({ features: { c: { kind: 'categorical' } }, wide: { features: ['c'] } });
  const good = (await FeatureTransforms.fit(config, chunks(chunk({ c: ['a'] })))).toState();
  assert.throws(() => FeatureTransforms.fromState({ ...good, formatVersion: 99 }), /formatVersion 99/);
  assert.throws(() => FeatureTransforms.fromState('nope'), TransformStateError);
  assert.throws(() => FeatureTransforms.fromState({ ...good, wide: { features: ['missing'], crosses: [] } }), /wide feature "missing"/);
  assert.throws(() => FeatureTransforms.fromState({ ...good, features: { c: { kind: 'categorical', tokens: ['a', 'a'] } } }), /duplicates/);
});

// --- Bad rows ------------------------------------------------------------------------------

const badConfig = cfg({
  features: { x: { kind: 'numeric', boundaries: [0] }, d: { kind: 'numeric', boundaries: [0], default: 5 } },
  wide: { features: ['x', 'd'] },
  deep: { numeric: ['x', 'd'] },
});

async function badTransforms(): Promise<FeatureTransforms> {
  return FeatureTransforms.fit(badConfig, chunks(chunk({ x: new Float64Array([1, 2]), d: new Float64Array([1, 2]) })));
}

/** Four rows where row 2 (file row 12) holds the given bad value in `column`. */
function withBad(column: 'x' | 'clicked', value: unknown): RowChunk {
  const cols: Record<string, unknown[]> = { x: [1, 2, 3, 4], d: [1, 2, 3, 4], clicked: [0, 1, 0, 1] };
  cols[column]![2] = value;
  return chunk(cols as Record<string, ColumnValues>, { source: 's3://logs/dt=2024-01-01/part-0.parquet', rowOffset: 10 });
}

const badCases: { name: string; column: 'x' | 'clicked'; value: unknown; message: RegExp }[] = [
  { name: 'null label', column: 'clicked', value: null, message: /label is missing/ },
  { name: 'NaN label', column: 'clicked', value: NaN, message: /label is missing/ },
  { name: 'label 2', column: 'clicked', value: 2, message: /label must be 0 or 1, got 2/ },
  { name: 'label "yes"', column: 'clicked', value: 'yes', message: /label is not a number: "yes"/ },
  { name: 'numeric NaN without default', column: 'x', value: NaN, message: /missing and the feature has no default/ },
  { name: 'numeric null without default', column: 'x', value: null, message: /missing and the feature has no default/ },
  { name: 'numeric Infinity', column: 'x', value: Infinity, message: /not a number: Infinity|not finite/ },
  { name: 'numeric -Infinity', column: 'x', value: -Infinity, message: /not a number: -Infinity|not finite/ },
  { name: 'non-numeric string', column: 'x', value: '12abc', message: /not a number: "12abc"/ },
];

for (const c of badCases) {
  test(`bad row (${c.name}): 'error' names file, column and row; 'skip' drops and counts it`, async () => {
    const t = await badTransforms();
    assert.throws(
      () => t.encode(withBad(c.column, c.value), { withLabels: true, onBadRow: 'error' }),
      (e: unknown) => {
        assert.ok(e instanceof DataError);
        assert.equal(e.source, 's3://logs/dt=2024-01-01/part-0.parquet');
        assert.equal(e.column, c.column);
        assert.equal(e.row, 12);
        assert.match(e.message, /^s3:\/\/logs\/dt=2024-01-01\/part-0\.parquet, column "(x|clicked)", row 12: /);
        assert.match(e.message, c.message);
        return true;
      },
    );
    const { batch, keptRows, skipped } = t.encode(withBad(c.column, c.value), { withLabels: true, onBadRow: 'skip' });
    assert.equal(skipped, 1);
    assert.deepEqual([...keptRows], [0, 1, 3]);
    assert.equal(batch.size, 3);
    assert.deepEqual([...batch.labels!], [0, 1, 1]);
    for (const v of batch.numeric) assert.ok(Number.isFinite(v));
  });
}

test('the default is the default onBadRow policy: error', async () => {
  const t = await badTransforms();
  assert.throws(() => t.encode(withBad('x', null), { withLabels: true }), DataError);
});

test('a null numeric with a default uses the default (not a bad row)', async () => {
  const t = await badTransforms();
  const { batch, skipped } = t.encode(chunk({ x: new Float64Array([1, 1]), d: [null, -3] }), { withLabels: false });
  assert.equal(skipped, 0);
  // d: default 5 → bucket 1 (offset 2 → 3); −3 → bucket 0 (→ 2).
  assert.deepEqual([...batch.wideIds], [1, 3, 1, 2]);
});

test('labels are not read (or required) when scoring', async () => {
  const t = await badTransforms();
  const { batch } = t.encode(chunk({ x: [1], d: [1] }), { withLabels: false });
  assert.equal(batch.labels, undefined);
});

test('a missing column throws DataError naming file and column', async () => {
  const t = await badTransforms();
  assert.throws(
    () => t.encode(chunk({ x: [1] }, { source: 'file:///tmp/a.csv' }), { withLabels: false }),
    (e: unknown) => e instanceof DataError && e.column === 'd' && /^file:\/\/\/tmp\/a\.csv, column "d": column is missing/.test(e.message),
  );
  assert.throws(() => t.encode(chunk({ x: [1], d: [1] }), { withLabels: true, onBadRow: 'skip' }), /column "clicked"/);
  await assert.rejects(FeatureTransforms.fit(badConfig, chunks(chunk({ x: [1] }))), /column "d": column is missing/);
});

test('hashed categorical ids are murmur3(token) % buckets', async () => {
  const config = cfg({ features: { u: { kind: 'categorical', hashBuckets: 10_007 } }, deep: { embeddings: ['u'] } });
  const t = await FeatureTransforms.fit(config, chunks(chunk({ u: ['x'] })));
  const { batch } = t.encode(chunk({ u: ['hello', 'com.example.app'] }), { withLabels: false });
  assert.deepEqual([...batch.embeddingInputs[0]!.ids], [murmur3('hello') % 10_007, murmur3('com.example.app') % 10_007]);
  assert.deepEqual([...batch.embeddingInputs[0]!.ids], [613153351 % 10_007, 2285375060 % 10_007]);
});

test('a row with several bad cells is skipped (and counted) once', async () => {
  const t = await badTransforms();
  const data = chunk({ x: [1, null, 3], d: [1, 'bad', 3], clicked: [0, 7, 1] });
  const { batch, skipped, keptRows } = t.encode(data, { withLabels: true, onBadRow: 'skip' });
  assert.equal(skipped, 1);
  assert.deepEqual([...keptRows], [0, 2]);
  assert.equal(batch.size, 2);
});

test('an empty chunk encodes to an empty batch', async () => {
  const t = await badTransforms();
  const { batch, skipped } = t.encode(chunk({ x: [], d: [], clicked: [] }), { withLabels: true });
  assert.equal(batch.size, 0);
  assert.equal(skipped, 0);
  assert.deepEqual([...batch.wideOffsets], [0]);
  assert.equal(batch.numeric.length, 0);
});

test('a column whose length differs from numRows is a DataError', async () => {
  const t = await badTransforms();
  const c: RowChunk = {
    source: 'f.csv',
    rowOffset: 0,
    numRows: 3,
    columns: new Map<string, ColumnValues>([
      ['x', [1, 2, 3]],
      ['d', [1]],
    ]),
  };
  assert.throws(() => t.encode(c, { withLabels: false }), /f\.csv, column "d": column has 1 values for 3 rows/);
});

test('encode with `features` gives exactly the parts that read one of them, and reads only their columns', async () => {
  // user and age are the request's context side; item and apps vary by candidate; two crosses
  // mix them, and user×age is user-only.
  const config = cfg({
    features: {
      user: { kind: 'categorical', hashBuckets: 1000 },
      age: { kind: 'numeric', boundaries: [18, 30, 50], default: 33 },
      item: { kind: 'categorical' },
      apps: { kind: 'categorical_list' },
      price: { kind: 'numeric' },
    },
    wide: {
      features: ['user', 'age', 'item', 'price'],
      crosses: [
        { features: ['user', 'item'], hashBuckets: 500 },
        { features: ['age', 'apps'], hashBuckets: 300 },
        { features: ['user', 'age'], hashBuckets: 200 },
      ],
    },
    deep: { embeddings: ['user', 'item', 'apps'], defaultEmbeddingDim: 4, numeric: ['age', 'price'] },
  });
  const full = {
    user: ['u1', 'u1', 'u1'],
    age: new Float64Array([40, 40, 40]),
    item: ['a', 'b', 'zz'],
    apps: [['x'], ['y', 'x'], null],
    price: new Float64Array([1, 5, 9]),
  };
  const t = await FeatureTransforms.fit(config, chunks(chunk(full)));
  const whole = t.encode(chunk(full), { withLabels: false }).batch;
  // The candidates carry the item columns and the user ones a cross mixes with them (user, age).
  const items = chunk({ user: full.user, age: full.age, item: full.item, apps: full.apps, price: full.price });
  const sub = t.encode(items, { withLabels: false, features: new Set(['item', 'apps', 'price']) }).batch;
  const seg = (name: string) => t.wideLayout.segments.find((s) => s.name === name)!;
  const inSeg = (id: number, ...names: string[]) => names.some((n) => id >= seg(n).offset && id < seg(n).offset + seg(n).size);
  const itemSide = ['item', 'price', 'user_x_item', 'age_x_apps'];
  for (let i = 0; i < 3; i++) {
    const w = row(whole.wideOffsets, whole.wideIds, i);
    // The same ids as the whole encode's, for the segments that read an item feature, in order.
    assert.deepEqual(
      row(sub.wideOffsets, sub.wideIds, i),
      w.filter((id) => inSeg(id, ...itemSide)),
    );
    assert.ok(w.some((id) => inSeg(id, 'user', 'age', 'user_x_age')));
  }
  // Embeddings: user's left out (no ids), item's and apps' as in the whole encode.
  assert.deepEqual([...sub.embeddingInputs[0]!.offsets], [0, 0, 0, 0]);
  assert.equal(sub.embeddingInputs[0]!.ids.length, 0);
  for (const e of [1, 2]) {
    assert.deepEqual(sub.embeddingInputs[e]!.offsets, whole.embeddingInputs[e]!.offsets);
    assert.deepEqual(sub.embeddingInputs[e]!.ids, whole.embeddingInputs[e]!.ids);
  }
  // Numerics [age, price]: age left out (0), price as in the whole encode.
  for (let i = 0; i < 3; i++) {
    assert.equal(sub.numeric[i * 2], 0);
    assert.equal(sub.numeric[i * 2 + 1], whole.numeric[i * 2 + 1]);
  }
  // A column the included parts read is still required: the crosses read user and age.
  assert.throws(
    () =>
      t.encode(chunk({ item: full.item, apps: full.apps, price: full.price }), {
        withLabels: false,
        features: new Set(['item', 'apps', 'price']),
      }),
    (e: unknown) => e instanceof DataError && e.message.includes('"user"') && e.message.includes('column is missing'),
  );
  // …and a numeric outside them is not read: a missing price (no default) is no bad row there.
  const onlyItem = t.encode(chunk({ user: ['u2'], item: ['a'], price: new Float64Array([NaN]) }), {
    withLabels: false,
    features: new Set(['item']),
  }).batch;
  assert.equal(onlyItem.size, 1);
  assert.throws(
    () =>
      t.encode(chunk({ user: ['u2'], age: new Float64Array([20]), item: ['a'], apps: [null], price: new Float64Array([NaN]) }), {
        withLabels: false,
        features: new Set(['price']),
      }),
    (e: unknown) => e instanceof DataError && e.message.includes('"price"') && e.message.includes('no default'),
  );
});

test('a run of one value in a column encodes as each of its cells alone would', async () => {
  const config = cfg({
    features: { v: { kind: 'categorical', hashBuckets: 97 }, w: { kind: 'categorical' } },
    wide: { features: ['v', 'w'], crosses: [{ features: ['v', 'w'], hashBuckets: 89 }] },
    deep: { embeddings: ['v', 'w'], defaultEmbeddingDim: 2 },
  });
  const v = ['a', 'a', 'b', 'b', 'b', null, null, 'a', 7, 7, '7'];
  const w = ['x', 'y', 'y', 'y', 'x', 'x', 'q', 'q', 'x', 'x', 'x'];
  const t = await FeatureTransforms.fit(config, chunks(chunk({ v: ['a', 'b'], w: ['x', 'y'] })));
  const runs = t.encode(chunk({ v, w }), { withLabels: false }).batch;
  for (let i = 0; i < v.length; i++) {
    const one = t.encode(chunk({ v: [v[i]!], w: [w[i]!] }), { withLabels: false }).batch;
    assert.deepEqual(row(runs.wideOffsets, runs.wideIds, i), row(one.wideOffsets, one.wideIds, 0), `row ${i}`);
    assert.deepEqual(row(runs.embeddingInputs[0]!.offsets, runs.embeddingInputs[0]!.ids, i), [...one.embeddingInputs[0]!.ids]);
  }
});
