import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ConfigError,
  configSchema,
  DEFAULT_WIDE_BUCKETS,
  MAX_CONFIG_BYTES,
  parseConfig,
  parseConfigText,
  readConfigDocument,
  WIDE_INIT_LR_DEFAULTS,
  WIDE_INIT_MAX_ROWS,
  WIDE_INIT_MIN_ROWS,
  wideBucketsOf,
  wideInitOf,
  withoutFilledWideBuckets,
} from '../../src/config/index.ts';
import { TINY_CONFIG } from '../helpers/tiny-data.ts';

const expectField = (value: unknown, field: string, text: RegExp) =>
  assert.throws(
    () => parseConfig(value, 'c.json'),
    (e: unknown) => e instanceof ConfigError && e.field === field && text.test(e.message) && e.message.startsWith(`c.json: ${field}`),
  );

test('defaults are filled in', () => {
  const c = parseConfig({ label: 'y', features: { a: { kind: 'categorical' } }, wide: { features: ['a'] } });
  assert.deepEqual(c.deep.hiddenUnits, [1024, 512, 256]);
  assert.equal(c.deep.defaultEmbeddingDim, 32);
  assert.equal(c.training.batchSize, 512);
  assert.equal(c.optimizer.ftrl.l1, 0.001);
  assert.equal(c.data.onBadRow, 'error');
});

test('the example config is valid', () => {
  const c = parseConfigText(readFileSync('examples/app-store/wdp.config.json', 'utf8'), 'example');
  assert.equal(c.label, 'installed');
});

test('bad configs name the field', () => {
  expectField({ ...TINY_CONFIG, label: 7 }, 'label', /expected string/i);
  expectField({ ...TINY_CONFIG, wide: { features: ['nope'], crosses: [] } }, 'wide.features.0', /unknown feature "nope"/);
  expectField({ ...TINY_CONFIG, deep: { ...TINY_CONFIG.deep, numeric: ['user'] } }, 'deep.numeric.0', /"user" is categorical, not numeric/);
  expectField({ ...TINY_CONFIG, training: { batchSize: 0 } }, 'training.batchSize', /too small|>=/i);
  expectField(
    { ...TINY_CONFIG, features: { ...TINY_CONFIG.features, x: { kind: 'numeric', boundaries: [3, 1] } } },
    'features.x.boundaries',
    /strictly ascending/,
  );
  expectField(
    { ...TINY_CONFIG, features: { ...TINY_CONFIG.features, user: { kind: 'categorical', vocab: {}, hashBuckets: 3 } } },
    'features.user',
    /either vocab or hashBuckets/,
  );
  expectField({ ...TINY_CONFIG, optimiser: {} }, '', /unrecognized key/i);
});

test('wide.init: zeros by default (left out), the shorthand and the object fill the same defaults, bad values name the field', () => {
  const withInit = (init?: unknown) => ({ ...TINY_CONFIG, wide: { ...TINY_CONFIG.wide!, ...(init !== undefined ? { init } : {}) } });
  const unset = parseConfig(withInit());
  assert.equal(unset.wide.init, undefined, 'unset stays unset, so older manifests read back unchanged');
  assert.equal(wideInitOf(unset), undefined);
  assert.equal(wideInitOf(parseConfig(withInit('zeros'))), undefined);
  const lr = { kind: 'logistic-regression', l2: 1e-3, maxRows: 1_000_000 };
  assert.deepEqual(wideInitOf(parseConfig(withInit('logistic-regression'))), lr);
  assert.deepEqual(wideInitOf(parseConfig(withInit({ kind: 'logistic-regression' }))), lr);
  assert.deepEqual(wideInitOf(parseConfig(withInit({ kind: 'logistic-regression', l2: 0.01, maxRows: 5000 }))), {
    ...lr,
    l2: 0.01,
    maxRows: 5000,
  });
  const choices = /expected "zeros", "logistic-regression" or \{"kind": "logistic-regression"/;
  expectField(withInit('lr'), 'wide.init', choices);
  expectField(withInit({ kind: 'ftrl' }), 'wide.init', choices);
  expectField(withInit({ kind: 'logistic-regression', maxRows: '5000' }), 'wide.init', /"maxRows"\?: integer ≥ 1000\}$/);
  expectField(withInit({ kind: 'logistic-regression', l2: 0 }), 'wide.init.l2', /expected number to be >0/);
  expectField(withInit({ kind: 'logistic-regression', l2: -1 }), 'wide.init.l2', /expected number to be >0/);
  expectField(withInit({ kind: 'logistic-regression', maxRows: 0 }), 'wide.init.maxRows', /at least 1000 rows/);
  expectField(withInit({ kind: 'logistic-regression', rows: 10 }), 'wide.init', /Unrecognized key: "rows"/);
});

test('wide.init.maxRows: an integer from 1000 (fewer rows can start the bias too far off) to 100M, each refusal with its own message', () => {
  const withMaxRows = (maxRows?: number) => ({
    ...TINY_CONFIG,
    wide: { ...TINY_CONFIG.wide!, init: { kind: 'logistic-regression', ...(maxRows !== undefined ? { maxRows } : {}) } },
  });
  const refused = (maxRows: number, message: string) =>
    assert.throws(
      () => parseConfig(withMaxRows(maxRows), 'c.json'),
      (e: unknown) => e instanceof ConfigError && e.field === 'wide.init.maxRows' && e.message === message,
      `maxRows ${maxRows}`,
    );
  const tooFew = (n: number) =>
    `c.json: wide.init.maxRows: must be at least 1000 rows (got ${n}): a regression fitted on fewer rows can start the bias so far off that training does not recover`;
  refused(1, tooFew(1));
  refused(999, tooFew(999));
  refused(2.5, 'c.json: wide.init.maxRows: must be an integer number of rows (got 2.5)');
  refused(1000.5, 'c.json: wide.init.maxRows: must be an integer number of rows (got 1000.5)');
  refused(
    100_000_001,
    "c.json: wide.init.maxRows: must be at most 100000000 rows (got 100000001): the sampled rows' wide ids are held in memory",
  );
  assert.equal(WIDE_INIT_MIN_ROWS, 1000);
  assert.equal(WIDE_INIT_MAX_ROWS, 100_000_000);
  assert.equal(wideInitOf(parseConfig(withMaxRows(1000)))?.maxRows, 1000);
  assert.equal(wideInitOf(parseConfig(withMaxRows(100_000_000)))?.maxRows, 100_000_000);
  assert.equal(wideInitOf(parseConfig(withMaxRows()))?.maxRows, WIDE_INIT_LR_DEFAULTS.maxRows);
  assert.ok(WIDE_INIT_LR_DEFAULTS.maxRows >= WIDE_INIT_MIN_ROWS, 'the default is legal');
  // A model saved with a smaller maxRows before the floor existed still loads: its manifest's
  // config is read with configSchema, which keeps the old range.
  const stored = configSchema.safeParse(withMaxRows(500));
  assert.ok(stored.success, 'configSchema still reads maxRows 500');
  assert.equal(wideInitOf(stored.data)?.maxRows, 500);
  assert.equal(configSchema.safeParse(withMaxRows(0)).success, false);
});

test('config text that is not JSON is a clear error', () => {
  assert.throws(() => parseConfigText('{"label":', 'c.json'), /c\.json: is not valid JSON/);
});

test('a config file is read through the size-limited JSON reader, errors as ConfigError naming the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wdp-config-'));
  try {
    assert.equal((await readConfigDocument('examples/app-store/wdp.config.json')).label, 'installed');
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ ...TINY_CONFIG, label: 7 }));
    await assert.rejects(readConfigDocument(bad), (e: unknown) => e instanceof ConfigError && e.field === 'label' && e.source === bad);
    const big = join(dir, 'big.json');
    await writeFile(big, ' '.repeat(MAX_CONFIG_BYTES + 1));
    await assert.rejects(
      readConfigDocument(big),
      new RegExp(`big\\.json: is ${MAX_CONFIG_BYTES + 1} bytes, over the limit of ${MAX_CONFIG_BYTES} bytes`),
    );
    await assert.rejects(readConfigDocument(join(dir, 'none.json')), /none\.json: not found/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('data.onBadFile: unset means "error" at Ingest and stays out of the parsed config; a wrong value names the field', () => {
  assert.equal(parseConfig(TINY_CONFIG).data.onBadFile, undefined);
  assert.equal(parseConfig({ ...TINY_CONFIG, data: { onBadFile: 'quarantine' } }).data.onBadFile, 'quarantine');
  expectField({ ...TINY_CONFIG, data: { onBadFile: 'skip' } }, 'data.onBadFile', /error|quarantine/);
});

test('a numeric feature with both boundaries and wideBuckets is refused, naming the feature and both fields', () => {
  expectField(
    { ...TINY_CONFIG, features: { ...TINY_CONFIG.features, x: { kind: 'numeric', boundaries: [1, 2, 3], wideBuckets: 5 } } },
    'features.x.wideBuckets',
    /numeric feature "x" sets both boundaries and wideBuckets/,
  );
  // Either alone is fine; the default (10) is read through wideBucketsOf, not filled in, so a
  // parsed config with boundaries parses again unchanged (wdp train --epochs, wdp tune re-parse).
  const withBoundaries = parseConfig({ ...TINY_CONFIG, features: { ...TINY_CONFIG.features, x: { kind: 'numeric', boundaries: [1, 2] } } });
  const x = withBoundaries.features.x!;
  assert.ok(x.kind === 'numeric');
  assert.equal(x.wideBuckets, undefined);
  assert.deepEqual(parseConfig(structuredClone(withBoundaries)), withBoundaries);
  const fitted = parseConfig({ ...TINY_CONFIG, features: { ...TINY_CONFIG.features, x: { kind: 'numeric' } } }).features.x!;
  assert.ok(fitted.kind === 'numeric');
  assert.equal(wideBucketsOf(fitted), DEFAULT_WIDE_BUCKETS);
  assert.equal(DEFAULT_WIDE_BUCKETS, 10);
});

test("a model manifest's config saved with the filled-in wideBuckets beside boundaries still reads", () => {
  const saved = { ...TINY_CONFIG, features: { ...TINY_CONFIG.features, x: { kind: 'numeric', boundaries: [1, 2], wideBuckets: 10 } } };
  const read = parseConfig(withoutFilledWideBuckets(saved));
  assert.deepEqual(read.features.x, { kind: 'numeric', quantiles: 20, boundaries: [1, 2] });
  // Only that pair is touched: a feature with wideBuckets alone keeps it.
  const alone = { ...TINY_CONFIG, features: { ...TINY_CONFIG.features, x: { kind: 'numeric', wideBuckets: 4 } } };
  assert.equal(withoutFilledWideBuckets(alone), alone);
});
