/**
 * Scoring with mapped tables (model/mapped-tables.ts) gives exactly the scores of the copy in
 * memory, whatever the user/item split, tower backend or precision; a plan built ahead adopts
 * the mapping; a serving file replaced after its check is refused at the next session it opens.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SERVING_FILE } from '../../src/model/artifact.ts';
import { writeQuantizedCopy } from '../../src/model/quantize-copy.ts';
import { Scorer, type ScorerOptions } from '../../src/scoring/scorer.ts';
import { saveBigTableModel } from '../helpers/big-table-model.ts';

let dir = '';
let model = '';
let int8Model = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-mapped-scoring-'));
  model = await saveBigTableModel(dir, 'big');
  int8Model = join(dir, 'big-int8');
  await writeQuantizedCopy(model, int8Model);
});
after(() => rm(dir, { recursive: true, force: true }));

const candidates = [
  { item: 'i1', tags: ['t3'] },
  { item: 'i2', tags: ['t1', 't4'] },
  { item: 'i7', tags: [] },
  { item: 'never-seen', tags: ['t5', 't5', 't0'] },
];
// Every kind of split: the user context, a list in the context (several rows read and pooled),
// everything per candidate (the batch split), and context that holds every deep input.
const REQUESTS = [
  { context: { user: 'u1', x: 0.3 }, candidates },
  { context: { user: 'u3', tags: ['t1', 't2', 't2'] }, candidates: candidates.map(({ item }) => ({ item, x: 0.7 })) },
  { context: {}, candidates: candidates.map((c, i) => ({ ...c, user: `u${i}`, x: i / 4 })) },
  { context: { user: 'u2', item: 'i3', tags: ['t3'], x: 0.1 }, candidates: [{}, {}] },
];

async function scoresOf(uri: string, options: ScorerOptions): Promise<number[][]> {
  const s = await Scorer.load(uri, { cache: false, ...options });
  try {
    const out: number[][] = [];
    for (const r of REQUESTS) out.push((await s.score(r)).scores);
    return out;
  } finally {
    s.dispose();
  }
}

describe('scoring with mapped tables', () => {
  for (const backend of ['onnx', 'js'] as const) {
    test(`${backend} tower: the scores of the tables copied into memory, for every split`, async () => {
      const copied = await scoresOf(model, { backend, mapTables: false });
      const mapped = await scoresOf(model, { backend, mapTables: true });
      assert.deepEqual(mapped, copied);
    });
  }

  test('a serving file that is a symlink into another folder (git-annex, DVC) is mapped from where it is', async () => {
    const linked = join(dir, 'linked');
    await cp(model, linked, { recursive: true });
    const store = join(dir, 'blob-store');
    await mkdir(store, { recursive: true });
    await rename(join(linked, SERVING_FILE), join(store, 'blob'));
    await symlink(join(store, 'blob'), join(linked, SERVING_FILE));
    const expected = await scoresOf(model, { backend: 'onnx', mapTables: false });
    const s = await Scorer.load(linked, { cache: false, backend: 'onnx' });
    try {
      assert.equal(s.model.mappedTableBytes, 4 << 20);
      for (const [i, r] of REQUESTS.entries()) assert.deepEqual((await s.score(r)).scores, expected[i]);
    } finally {
      s.dispose();
    }
  });

  test('copied on request (mapTables: false): nothing is left in the file', async () => {
    const s = await Scorer.load(model, { cache: false, mapTables: false });
    try {
      assert.equal(s.model.mappedTableBytes, 0);
    } finally {
      s.dispose();
    }
  });

  test('int8 tower: the same scores mapped and copied', async () => {
    const copied = await scoresOf(int8Model, { backend: 'onnx', precision: 'int8', mapTables: false });
    const mapped = await scoresOf(int8Model, { backend: 'onnx', precision: 'int8', mapTables: true });
    assert.deepEqual(mapped, copied);
  });

  test('with fixed context features the plan built ahead maps the tables and is adopted', async () => {
    const contextFeatures = ['user', 'x'];
    const expected = (await scoresOf(model, { backend: 'onnx', mapTables: false }))[0];
    const s = await Scorer.load(model, { cache: false, backend: 'onnx', contextFeatures });
    try {
      assert.equal(s.planCacheStats().size, 1);
      assert.deepEqual((await s.score(REQUESTS[0])).scores, expected);
      assert.equal(s.planCacheStats().hits, 1);
      assert.equal(s.planCacheStats().misses, 0);
      // The session gathers the item tables from the file itself; all three tables stay there (4 MiB).
      assert.equal((await s.model.plan(new Set(contextFeatures))).tower?.mapsTables, true);
      assert.equal(s.model.mappedTableBytes, 4 << 20);
    } finally {
      s.dispose();
    }
  });

  test('a serving file renamed over the checked one (a save over the folder) is not served: new plans read the tables as loaded', async () => {
    const copy = join(dir, 'swap');
    await cp(model, copy, { recursive: true });
    const expected = await scoresOf(model, { backend: 'onnx', mapTables: false });
    const logs: string[] = [];
    const s = await Scorer.load(copy, { cache: false, backend: 'onnx', log: (m) => logs.push(m) });
    try {
      assert.deepEqual((await s.score(REQUESTS[0])).scores, expected[0]);
      // Another file in its place, whose item table differs everywhere.
      const file = join(copy, SERVING_FILE);
      const bytes = await readFile(file);
      const headerLen = Number(bytes.readBigUInt64LE(0));
      const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
      const [a, b] = header['embedding/item']!.data_offsets;
      for (let i = 8 + headerLen + a; i < 8 + headerLen + b; i += 4) bytes[i + 3] = bytes[i + 3]! ^ 0x40;
      await writeFile(`${file}.new`, bytes);
      await rename(`${file}.new`, file);
      // The plan already built keeps its mapping of the checked file; a new plan reads the
      // tables through the descriptor opened at load: both score the model that was loaded.
      assert.deepEqual((await s.score(REQUESTS[0])).scores, expected[0]);
      assert.deepEqual((await s.score(REQUESTS[2])).scores, expected[2]);
      assert.deepEqual((await s.score(REQUESTS[1])).scores, expected[1]);
      assert.ok(
        logs.some((m) => /is no longer the file this model was loaded from/.test(m)),
        logs.join('\n'),
      );
    } finally {
      s.dispose();
    }
  });
});
