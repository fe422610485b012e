import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import { cellToNumber, cellToToken } from '../../src/data/cells.ts';
import { listLogFiles, readLogChunks } from '../../src/data/logs.ts';
import { writeParquet } from '../helpers/parquet-write.ts';
import type { Cell, RowChunk } from '../../src/data/row-chunk.ts';
import { isHoldoutValue } from '../../src/data/row-split.ts';
import { FeatureTransforms } from '../../src/features/transforms.ts';
import { buildColumns } from '../../src/scoring/request.ts';
import { FileStore } from '../../src/storage/file-store.ts';

const BIG = '1000000000000000000000'; // 1e21, the first number String() writes with an exponent
const POW70 = '1180591620717411303424'; // 2 ** 70

describe('cellToToken', () => {
  const cases: [string, readonly unknown[], string | null][] = [
    ['small integers', [7, 7n, '7'], '7'],
    ['integers ≥ 1e21, in plain decimal', [1e21, 10n ** 21n, BIG], BIG],
    ['negative big integers', [-1e21, -(10n ** 21n), `-${BIG}`], `-${BIG}`],
    ['2^70', [2 ** 70, 2n ** 70n, POW70], POW70],
    ['zero and -0', [0, -0, 0n, '0'], '0'],
    ['fractions', [0.25, '0.25'], '0.25'],
    ['small numbers keep their exponent', [1e-7, '1e-7'], '1e-7'],
    ['booleans', [true, 'true'], 'true'],
    ['bytes as UTF-8 text', [new TextEncoder().encode('fr'), 'fr'], 'fr'],
    ['dates as ISO 8601', [new Date(Date.UTC(2024, 4, 1)), '2024-05-01T00:00:00.000Z'], '2024-05-01T00:00:00.000Z'],
    ['missing: null, undefined, NaN', [null, undefined, NaN], null],
    ['lists and objects are not one token', [['a'], [1, 2], {}], null],
  ];
  for (const [name, values, token] of cases) {
    it(name, () => {
      for (const v of values) assert.equal(cellToToken(v), token, `cellToToken(${String(v)})`);
    });
  }

  it('strings are never reinterpreted', () => {
    for (const s of ['007', '1e+21', 'NaN', '-0', '', ' x ']) assert.equal(cellToToken(s), s);
  });

  it('cellToNumber reads the same cells as numbers', () => {
    assert.deepEqual([7, 7n, '7', ' 7 ', true, false].map(cellToNumber), [7, 7, 7, 7, 1, 0]);
    assert.deepEqual([null, undefined, NaN, '', ' '].map(cellToNumber), [NaN, NaN, NaN, NaN, NaN]);
    assert.deepEqual(['x', Infinity, ['1']].map(cellToNumber), [undefined, undefined, undefined]);
  });

  it('the hash split sees one key per value too', () => {
    for (const f of [0.1, 0.5, 0.9]) {
      assert.equal(isHoldoutValue(1e21, f), isHoldoutValue(BIG, f));
      assert.equal(isHoldoutValue(10n ** 21n, f), isHoldoutValue(BIG, f));
      assert.equal(isHoldoutValue(NaN, f), isHoldoutValue(null, f));
    }
  });
});

// The same five rows, as each source delivers them. Row 3 is missing everywhere.
const config = parseConfig({
  label: 'clicked',
  features: {
    id: { kind: 'categorical' },
    flag: { kind: 'categorical' },
    apps: { kind: 'categorical_list', combiner: 'sum' },
  },
  wide: { features: ['id', 'flag', 'apps'], crosses: [{ features: ['id', 'apps'], hashBuckets: 97 }] },
  deep: { embeddings: ['id', 'apps'], defaultEmbeddingDim: 2 },
});

/** What a client sends (JSON: no NaN, no bigint; a missing value is null). */
const REQUEST_ROWS: Record<string, unknown>[] = [
  { id: 1e21, flag: true, apps: [1e21, 7] },
  { id: -0, flag: false, apps: [-0] },
  { id: 7, flag: true, apps: [] },
  { id: null, flag: null, apps: null },
  { id: 2 ** 70, flag: false, apps: [2 ** 70, null] },
];

function memoryChunk(source: string, columns: Record<string, readonly Cell[]>): RowChunk {
  return { source, rowOffset: 0, numRows: 5, columns: new Map(Object.entries(columns)) };
}

describe('one token per value, from every source, at fit and at encode', () => {
  const store = new FileStore();
  let dir: string;
  const sources = new Map<string, RowChunk>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wdp-cells-'));
    const parquet = join(dir, 'rows.parquet');
    await writeParquet(parquet, [
      { name: 'id', type: 'DOUBLE', data: [1e21, -0, 7, NaN, 2 ** 70] },
      { name: 'flag', type: 'BOOLEAN', data: [true, false, true, null, false] },
      { name: 'apps', type: 'STRING_LIST', data: [[BIG, '7'], ['0'], [], null, [POW70, null]] },
    ]);
    const csv = join(dir, 'rows.csv');
    await store.write(csv, `id,flag,apps\n${BIG},true,${BIG}|7\n0,false,0\n7,true,\n,,\n${POW70},false,${POW70}\n`);
    const columns = FeatureTransforms.requiredColumns(config, false);
    for (const file of await listLogFiles([parquet, csv])) {
      const chunks: RowChunk[] = [];
      for await (const c of readLogChunks([file], { columns })) chunks.push(c);
      assert.equal(chunks.length, 1);
      sources.set(file.format, chunks[0]!);
    }
    sources.set(
      'numbers',
      memoryChunk('numbers', {
        id: [1e21, -0, 7, NaN, 2 ** 70],
        flag: [true, false, true, null, false],
        apps: [[1e21, 7], [-0], [], null, [2 ** 70, NaN]],
      }),
    );
    sources.set(
      'bigints',
      memoryChunk('bigints', {
        id: [10n ** 21n, 0n, 7n, undefined, 2n ** 70n],
        flag: ['true', 'false', 'true', null, 'false'],
        apps: [[10n ** 21n, 7n], [0n], [], null, [2n ** 70n, null]],
      }),
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function fitOn(chunk: RowChunk): Promise<FeatureTransforms> {
    return FeatureTransforms.fit(
      config,
      (async function* () {
        yield chunk;
      })(),
    );
  }

  it('the log reader hands fit the canonical tokens', () => {
    const parquet = sources.get('parquet')!;
    assert.deepEqual(parquet.columns.get('id'), [BIG, '0', '7', null, POW70]);
    assert.deepEqual(parquet.columns.get('flag'), ['true', 'false', 'true', null, 'false']);
    assert.deepEqual(parquet.columns.get('apps'), [[BIG, '7'], ['0'], [], null, [POW70]]);
    const csv = sources.get('csv')!;
    assert.deepEqual(csv.columns.get('id'), [BIG, '0', '7', null, POW70]);
    assert.deepEqual(csv.columns.get('apps'), [[BIG, '7'], ['0'], [], [], [POW70]]);
  });

  it('fit learns the same vocabularies from every source', async () => {
    const fromParquet = await fitOn(sources.get('parquet')!);
    assert.deepEqual([...fromParquet.vocabTokens('id')!].sort(), ['', '0', '7', BIG, POW70].sort());
    assert.deepEqual([...fromParquet.vocabTokens('flag')!].sort(), ['', 'false', 'true']);
    assert.deepEqual([...fromParquet.vocabTokens('apps')!].sort(), ['', '0', '7', BIG, POW70].sort());
    for (const name of ['csv', 'numbers', 'bigints']) {
      assert.deepEqual((await fitOn(sources.get(name)!)).toState(), fromParquet.toState(), `fit on ${name}`);
    }
  });

  it('encode gives the same ids for every source, and a scoring request matches training', async () => {
    const t = await fitOn(sources.get('parquet')!);
    const request = buildColumns({ context: {}, candidates: REQUEST_ROWS }, t.toState()).candidateChunk;
    const expected = t.encode(sources.get('parquet')!, { withLabels: false }).batch;
    for (const [name, chunk] of [...sources, ['request', request] as const]) {
      const { batch } = t.encode(chunk, { withLabels: false });
      assert.deepEqual(batch.wideOffsets, expected.wideOffsets, name);
      assert.deepEqual(batch.wideIds, expected.wideIds, name);
      assert.deepEqual(batch.embeddingInputs, expected.embeddingInputs, name);
    }
    // The request's 1e21 and 2^70 find their trained tokens (id 0 would be out of vocabulary).
    const ids = t.encode(request, { withLabels: false }).batch.embeddingInputs[0]!.ids;
    const vocab = t.vocabTokens('id')!;
    assert.deepEqual(
      [...ids].map((i) => vocab[i]),
      [BIG, '0', '7', '', POW70],
    );
  });
});
