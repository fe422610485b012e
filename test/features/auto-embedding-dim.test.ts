import assert from 'node:assert/strict';
import { test } from 'node:test';
import { autoEmbeddingDim, estimateModelMemory, parseConfig } from '../../src/config/index.ts';
import { FeatureTransforms } from '../../src/features/transforms.ts';
import { cfg, chunk, chunks } from '../helpers/feature-fixtures.ts';

test('autoEmbeddingDim is round(6·V^¼) clamped to [4, 64]', () => {
  assert.deepEqual([1, 2, 10, 100, 1000, 10_000, 12_000, 13_000, 1_000_000].map(autoEmbeddingDim), [6, 7, 11, 19, 34, 60, 63, 64, 64]);
});

test('"auto" sizes each embedding from its fitted table; embeddingDims still wins; a warm start keeps the parent dims', async () => {
  const config = cfg({
    features: {
      country: { kind: 'categorical' },
      user: { kind: 'categorical', hashBuckets: 1000 },
      apps: { kind: 'categorical_list', combiner: 'sum' },
    },
    wide: { features: ['country'] },
    deep: { embeddings: ['country', 'user', 'apps'], embeddingDims: { apps: 8 }, defaultEmbeddingDim: 'auto' },
  });
  const data = () => chunks(chunk({ country: ['us', 'de', 'us'], user: ['u1', 'u2', 'u3'], apps: [['a'], ['b', 'c'], null] }));
  const t = await FeatureTransforms.fit(config, data());
  // country: 2 tokens + OOV = 3 rows → round(6·3^¼) = 8; user: 1000 buckets → 34; apps: given 8.
  assert.deepEqual(
    t.deepLayout.embeddings.map((e) => [e.feature, e.vocabSize, e.dim]),
    [
      ['country', 3, 8],
      ['user', 1000, 34],
      ['apps', 4, 8],
    ],
  );
  // The memory check sizes the same rule (vocabularies at their maxSize before the fit).
  const est = estimateModelMemory(config);
  assert.equal(est.tables.find((x) => x.name === 'embedding "user"')?.dim, 34);

  // A child fitted on a bigger vocabulary keeps the parent's country dim, so the rows carry over.
  const parent = t.toState();
  const grown = chunks(
    chunk({ country: Array.from({ length: 200 }, (_, i) => `c${i}`), user: Array(200).fill('u'), apps: Array(200).fill(null) }),
  );
  const child = await FeatureTransforms.fit(config, grown, { parent });
  assert.equal(child.deepLayout.embeddings[0]!.vocabSize, 201);
  assert.equal(child.deepLayout.embeddings[0]!.dim, 8);
  assert.equal(
    (
      await FeatureTransforms.fit(
        config,
        chunks(chunk({ country: Array.from({ length: 200 }, (_, i) => `c${i}`), user: Array(200).fill('u'), apps: Array(200).fill(null) })),
      )
    ).deepLayout.embeddings[0]!.dim,
    23,
  );
});

test('defaultEmbeddingDim accepts a number or "auto", nothing else', () => {
  const base = { label: 'y', features: { a: { kind: 'categorical' } }, deep: { embeddings: ['a'] } } as const;
  assert.equal(parseConfig({ ...base, deep: { ...base.deep, defaultEmbeddingDim: 'auto' } }, 't').deep.defaultEmbeddingDim, 'auto');
  assert.equal(parseConfig(base, 't').deep.defaultEmbeddingDim, 32);
  assert.throws(
    () => parseConfig({ ...base, deep: { ...base.deep, defaultEmbeddingDim: 'big' } } as never, 't'),
    /deep\.defaultEmbeddingDim/,
  );
});

test('the regularisation and validation fields are validated, naming the field, and left out when unset', () => {
  const base = { label: 'y', features: { a: { kind: 'categorical' } }, deep: { embeddings: ['a'] } } as const;
  const plain = parseConfig(base, 't');
  assert.equal('dropout' in plain.deep || 'validation' in plain.training || 'earlyStopping' in plain.training, false);
  assert.throws(() => parseConfig({ ...base, deep: { ...base.deep, dropout: 1 } }, 't'), /deep\.dropout/);
  assert.throws(() => parseConfig({ ...base, deep: { ...base.deep, embeddingL2: -1 } }, 't'), /deep\.embeddingL2/);
  assert.throws(
    () => parseConfig({ ...base, training: { validation: { kind: 'hash', fraction: 0.1 } } }, 't'),
    /training\.validation\.column/,
  );
  assert.throws(() => parseConfig({ ...base, training: { earlyStopping: { patience: 0 } } }, 't'), /training\.earlyStopping\.patience/);
  const ok = parseConfig(
    { ...base, data: { idColumns: ['id'] }, training: { validation: { kind: 'hash', fraction: 0.1 }, earlyStopping: {} } },
    't',
  );
  assert.deepEqual(ok.training.earlyStopping, { metric: 'logloss', patience: 2, minDelta: 0 });
});

test('early stopping counts its in-memory copy of the best weights in the memory estimate', () => {
  const base = {
    label: 'y',
    features: { a: { kind: 'categorical', hashBuckets: 100_000 } },
    deep: { embeddings: ['a'] },
    data: { idColumns: ['id'] },
  } as const;
  const plain = estimateModelMemory(parseConfig(base, 't'));
  const stopping = estimateModelMemory(
    parseConfig({ ...base, training: { validation: { kind: 'hash', fraction: 0.1 }, earlyStopping: {} } }, 't'),
  );
  const copy = stopping.tables.find((t) => t.field.join('.') === 'training.earlyStopping');
  assert.equal(
    copy?.bytes,
    plain.tables.reduce((s, t) => s + t.bytes, 0),
  );
  assert.equal(stopping.bytes - plain.bytes, copy!.bytes);
});

test('a feature named like an Object property (constructor, toString) gets the default dimension, not the inherited function', async () => {
  // embeddingDims is a plain object: a lookup of a name it does not hold used to find
  // Object.prototype's member, so the fit saved a function as the dim and failed after the data
  // pass ("deep.embeddings[0].dim: expected number, received function"), and the memory check
  // counted NaN bytes and let any model through.
  const config = cfg({
    features: { constructor: { kind: 'categorical' as const }, toString: { kind: 'categorical' as const, hashBuckets: 1000 } },
    deep: { embeddings: ['constructor', 'toString'], defaultEmbeddingDim: 5 },
  });
  const t = await FeatureTransforms.fit(config, chunks(chunk({ constructor: ['a', 'b'], toString: ['p', 'q'], clicked: [0, 1] })));
  assert.deepEqual(
    t.deepLayout.embeddings.map((e) => [e.feature, e.dim]),
    [
      ['constructor', 5],
      ['toString', 5],
    ],
  );
  assert.ok(Number.isFinite(estimateModelMemory(config).bytes));
  assert.equal(estimateModelMemory(config).tables.find((x) => x.name === 'embedding "toString"')?.dim, 5);
  // The memory check still refuses such a table when it is too big.
  assert.throws(
    () =>
      parseConfig(
        {
          label: 'y',
          features: { valueOf: { kind: 'categorical', hashBuckets: 1 << 26 } },
          deep: { embeddings: ['valueOf'], defaultEmbeddingDim: 1024 },
        },
        't',
      ),
    /features\.valueOf\.hashBuckets/,
  );
});
