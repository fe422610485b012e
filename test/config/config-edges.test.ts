/**
 * Configs the schema used to accept and training then failed on (after the data pass) or went
 * silent on: repeated names, and tables that cannot be allocated or do not fit in memory.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  ConfigError,
  DEFAULT_MODEL_MEMORY_LIMIT_MIB,
  estimateModelMemory,
  MAX_MODEL_MEMORY_LIMIT_MIB,
  parseConfig,
  parseConfigText,
  type WdpConfigInput,
} from '../../src/config/index.ts';
import { TINY_CONFIG } from '../helpers/tiny-data.ts';

function rejected(value: WdpConfigInput, field: string): string {
  let message = '';
  assert.throws(
    () => parseConfig(value, 'c.json'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.field, field, e.message);
      assert.ok(e.message.startsWith(`c.json: ${field}: `), e.message);
      message = e.message;
      return true;
    },
  );
  return message;
}

const crosses = (c: NonNullable<NonNullable<WdpConfigInput['wide']>['crosses']>): WdpConfigInput => ({
  ...TINY_CONFIG,
  wide: { features: ['user', 'item', 'x'], crosses: c },
});

test('two crosses with the same name are refused at the second one', () => {
  const m = rejected(
    crosses([
      { features: ['tags', 'item'], hashBuckets: 512, name: 'tx' },
      { features: ['user', 'item'], hashBuckets: 64, name: 'tx' },
    ]),
    'wide.crosses.1.name',
  );
  assert.match(m, /cross name "tx" is already used by wide\.crosses\.0/);
});

test('two unnamed crosses of the same features collide on the default name, and the error says so', () => {
  const m = rejected(
    crosses([
      { features: ['tags', 'item'], hashBuckets: 512 },
      { features: ['tags', 'item'], hashBuckets: 64 },
    ]),
    'wide.crosses.1.name',
  );
  assert.match(m, /"tags_x_item" \(the default name: its features joined with _x_\) is already used by wide\.crosses\.0/);
});

test('a cross named like a feature (or the label) is refused', () => {
  assert.match(
    rejected(crosses([{ features: ['tags', 'item'], hashBuckets: 512, name: 'user' }]), 'wide.crosses.0.name'),
    /also the name of a feature/,
  );
  assert.match(
    rejected(crosses([{ features: ['tags', 'item'], hashBuckets: 512, name: 'y' }]), 'wide.crosses.0.name'),
    /also the name of the label/,
  );
});

test('a feature crossed with itself is refused', () => {
  assert.match(
    rejected(crosses([{ features: ['item', 'item'], hashBuckets: 512 }]), 'wide.crosses.0.features.1'),
    /"item" is crossed with itself/,
  );
});

test('a name listed twice in deep.embeddings, deep.numeric, wide.features or data.idColumns is refused at the repeat', () => {
  const deep = TINY_CONFIG.deep!;
  assert.match(
    rejected({ ...TINY_CONFIG, deep: { ...deep, embeddings: ['user', 'item', 'tags', 'item'] } }, 'deep.embeddings.3'),
    /"item" is listed twice \(also at deep\.embeddings\.1\)/,
  );
  rejected({ ...TINY_CONFIG, deep: { ...deep, numeric: ['x', 'x'] } }, 'deep.numeric.1');
  rejected({ ...TINY_CONFIG, wide: { features: ['user', 'user'], crosses: [] } }, 'wide.features.1');
  rejected({ ...TINY_CONFIG, data: { idColumns: ['id', 'id'] } }, 'data.idColumns.1');
});

test('hashBuckets 2^26 × dim 1024 is refused up front, not with "Invalid typed array length" after the fit', () => {
  const m = rejected(
    {
      label: 'y',
      features: { x: { kind: 'categorical', hashBuckets: 2 ** 26 } },
      deep: { embeddings: ['x'], embeddingDims: { x: 1024 }, hiddenUnits: [8] },
    },
    'features.x.hashBuckets',
  );
  assert.match(
    m,
    /embedding "x" needs an array of 68,719,476,736 values \(67,108,864 rows × 1024\), over the 4,294,967,296 a typed array can hold/,
  );
  // The estimate and the biggest tables: 2^26 rows × 1024 × (weight + AdaGrad slot) + 8 bytes of marks a row.
  assert.match(m, /needs up to 1\.0 TiB, the limit is 8\.0 GiB \(training\.memoryLimitMiB, default 8192\)/);
  assert.match(m, /biggest: embedding "x" 512\.5 GiB \(67,108,864 rows × 1024, features\.x\.hashBuckets\)/);
});

test('a wide table too long to index is refused at its biggest segment', () => {
  const big = Array.from({ length: 17 }, (_, i) => ({ features: ['user', 'item'], hashBuckets: 2 ** 26, name: `c${i}` }));
  const m = rejected({ ...crosses(big), training: { memoryLimitMiB: 1 << 20 } }, 'wide.crosses.0.hashBuckets');
  assert.match(m, /the wide table would have 1,142,850,694 rows .* over the limit of 1,073,741,824/);
});

test('a file too large for one buffer at save is refused even under a raised memory limit', () => {
  // 2^24 rows × 64: one 2^30-value array is fine, but embeddings.safetensors would be 8 GiB.
  const m = rejected(
    {
      label: 'y',
      features: { x: { kind: 'categorical', hashBuckets: 2 ** 24 } },
      deep: { embeddings: ['x'], embeddingDims: { x: 64 }, hiddenUnits: [8] },
      training: { memoryLimitMiB: 64 * 1024 },
    },
    'features.x.hashBuckets',
  );
  assert.match(m, /embeddings\.safetensors would be 8\.0 GiB, over the 4,294,967,296 bytes one buffer can hold/);
  assert.doesNotMatch(m, /over its memory limit/);
});

test('a model over the memory limit is refused naming its biggest table; a lower vocab.maxSize or a higher limit lets it pass', () => {
  const limited = { ...TINY_CONFIG, training: { ...TINY_CONFIG.training, memoryLimitMiB: 64 } };
  // Vocabularies count at their cap: user and item at the default 1,000,000 (+ OOV).
  const m = rejected(limited, 'features.user.vocab.maxSize');
  assert.match(m, /the model is over its memory limit\. The model needs up to 175\.5 MiB, the limit is 64\.0 MiB/);
  assert.match(m, /biggest: wide table 38\.2 MiB \(2,000,518 rows × 1, features\.user\.vocab\.maxSize\); embedding "user"/);
  parseConfig({ ...limited, training: { ...limited.training, memoryLimitMiB: 256 } });
  const small = { kind: 'categorical', vocab: { maxSize: 10_000 } } as const;
  parseConfig({ ...limited, features: { ...TINY_CONFIG.features, user: small, item: small } });
});

test('the estimate counts tables with their optimizer slots, the tower, and the biggest save buffer', () => {
  const cfg = parseConfig({
    label: 'y',
    features: { a: { kind: 'categorical', hashBuckets: 1000 }, b: { kind: 'numeric', boundaries: [1, 2, 3] } },
    wide: { features: ['a', 'b'], crosses: [{ features: ['a', 'b'], hashBuckets: 500 }] },
    deep: { embeddings: ['a'], embeddingDims: { a: 8 }, numeric: ['b'], hiddenUnits: [4] },
    training: { batchSize: 10 },
  });
  const est = estimateModelMemory(cfg);
  // wide: 1000 + 4 + 500 rows × 20 B; embedding: 1000 × 8 × 8 B + 1000 × 8 B;
  // tower 9→4→1: 45 parameters × 12 B + 10 rows × 14 units × 8 B; embeddings file 8000 × 8 B.
  assert.deepEqual(
    est.tables.map((t) => [t.name, t.bytes]),
    [
      ['embedding "a"', 72_000],
      ['wide table', 30_080],
      ['tower', 1660],
    ],
  );
  assert.deepEqual(est.files, { 'wide.safetensors': 18_048, 'embeddings.safetensors': 64_000, 'serving.safetensors': 38_196 });
  assert.equal(est.bytes, 72_000 + 30_080 + 1660 + 64_000);
  assert.equal(est.limitBytes, DEFAULT_MODEL_MEMORY_LIMIT_MIB * 2 ** 20);
});

test('the example config is well within the default limit', () => {
  const est = estimateModelMemory(parseConfigText(readFileSync('examples/app-store/wdp.config.json', 'utf8'), 'example'));
  assert.ok(est.bytes < est.limitBytes / 4, String(est.bytes));
});

test('training.memoryLimitMiB is capped at 1 TiB (a typo must not switch the memory check off)', () => {
  const withLimit = (memoryLimitMiB: number) => ({ ...TINY_CONFIG, training: { ...TINY_CONFIG.training, memoryLimitMiB } });
  const m = rejected(withLimit(1e7), 'training.memoryLimitMiB');
  assert.match(m, /1048576/);
  parseConfig(withLimit(MAX_MODEL_MEMORY_LIMIT_MIB));
});

test('deep.numericPieces: a whole number from 1 to 64; the tower estimate counts one input per piece', () => {
  const withPieces = (numericPieces: number): WdpConfigInput => ({ ...TINY_CONFIG, deep: { ...TINY_CONFIG.deep!, numericPieces } });
  assert.match(rejected(withPieces(0), 'deep.numericPieces'), />=1/);
  assert.match(rejected(withPieces(65), 'deep.numericPieces'), /<=64/);
  assert.match(rejected(withPieces(2.5), 'deep.numericPieces'), /int/);
  const tower = (c: WdpConfigInput) => estimateModelMemory(parseConfig(c)).tables.find((t) => t.name === 'tower')!.rows;
  // user, item, tags 4 each + x: 13 inputs → 8 → 4 → 1 = 13·8+8 + 8·4+4 + 4+1 = 153 parameters;
  // x in 4 pieces: 16 inputs, 24 more first-layer weights.
  assert.equal(tower(TINY_CONFIG), 153);
  assert.equal(tower(withPieces(4)), 153 + 3 * 8);
  assert.equal(parseConfig(TINY_CONFIG).deep.numericPieces, undefined, 'left out when unset');
});

test('a feature named __proto__ is refused by name, not lost from features and reported as unknown', () => {
  // JSON.parse keeps "__proto__" as an own key; assigning it to an object sets the prototype.
  const raw: unknown = JSON.parse('{"label":"y","features":{"__proto__":{"kind":"categorical"},"a":{"kind":"categorical"}}}');
  assert.throws(
    () => parseConfig(raw, 'proto.json'),
    (e: unknown) => e instanceof ConfigError && /features\.__proto__.*the name __proto__ is reserved/s.test(e.message),
  );
});
