import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { parseConfigText } from '../../src/config/load.ts';
import {
  DEFAULT_GENERATOR_PARAMS,
  ExistingDaysError,
  LOG_COLUMNS,
  generateDayWithTruth,
  generateLogs,
  plantedLogit,
  rocAuc,
  truthAucs,
  type GeneratorParams,
} from '../../src/generator/generate.ts';
import type { BlobInfo, BlobStore } from '../../src/storage/blob-store.ts';

/** A smaller user population keeps the world build fast; the signal design is unchanged. */
const SMALL: Partial<GeneratorParams> = { numUsers: 5000 };
const MEDIUM: GeneratorParams = { ...DEFAULT_GENERATOR_PARAMS, numUsers: 20_000 };

/** The BlobStore subset generateLogs needs, in memory. */
class MemoryStore implements Pick<BlobStore, 'write' | 'list' | 'delete'> {
  readonly blobs = new Map<string, Uint8Array>();
  async write(uri: string, data: Uint8Array | string): Promise<{ etag: string }> {
    this.blobs.set(uri, typeof data === 'string' ? new TextEncoder().encode(data) : data);
    return { etag: String(this.blobs.size) };
  }
  async delete(uri: string): Promise<void> {
    this.blobs.delete(uri);
  }
  async list(prefix: string): Promise<BlobInfo[]> {
    return [...this.blobs.keys()]
      .filter((u) => u.startsWith(prefix))
      .sort()
      .map((uri) => ({ uri, sizeBytes: this.blobs.get(uri)!.length, lastModifiedEpochMs: 0 }));
  }
}

function arrayBufferOf(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

describe('generateLogs', () => {
  it('writes one dt= partition per day from 2026-01-01, then appends after the newest', async () => {
    const store = new MemoryStore();
    const progress: number[] = [];
    const first = await generateLogs(
      { days: 3, rowsPerDay: 200, seed: 1, out: 'mem://logs/', params: SMALL, onProgress: (done, total) => progress.push(done, total) },
      store,
    );
    assert.deepEqual(first.days, ['2026-01-01', '2026-01-02', '2026-01-03']);
    assert.deepEqual(first.files, [
      'mem://logs/dt=2026-01-01/part-00000.parquet',
      'mem://logs/dt=2026-01-02/part-00000.parquet',
      'mem://logs/dt=2026-01-03/part-00000.parquet',
    ]);
    assert.equal(first.rows, 600);
    assert.deepEqual(progress, [200, 600, 400, 600, 600, 600]);

    const next = await generateLogs({ days: 1, rowsPerDay: 200, seed: 1, out: 'mem://logs', params: SMALL }, store);
    assert.deepEqual(next.days, ['2026-01-04']);
    assert.deepEqual(next.files, ['mem://logs/dt=2026-01-04/part-00000.parquet']);
  });

  it('starts at startDate when given, across a month end', async () => {
    const store = new MemoryStore();
    const r = await generateLogs({ days: 2, rowsPerDay: 50, seed: 1, out: 'mem://x', startDate: '2026-02-28', params: SMALL }, store);
    assert.deepEqual(r.days, ['2026-02-28', '2026-03-01']);
    await assert.rejects(generateLogs({ days: 1, rowsPerDay: 50, seed: 1, out: 'mem://x', startDate: '2026-02-30' }, store), RangeError);
  });

  it('refuses a start date on days that hold files, writing nothing; replaceExisting replaces a day whole', async () => {
    const store = new MemoryStore();
    await generateLogs({ days: 2, rowsPerDay: 900, seed: 1, out: 'mem://r', maxRowsPerFile: 400, params: SMALL }, store);
    const before = new Map(store.blobs);
    // Days 2 (three part files) and 3 (none): refused as a whole, naming the day that holds files.
    await assert.rejects(
      generateLogs({ days: 2, rowsPerDay: 50, seed: 2, out: 'mem://r', startDate: '2026-01-02', params: SMALL }, store),
      (e: Error) =>
        e instanceof ExistingDaysError &&
        /mem:\/\/r already holds dt=2026-01-02 \(3 file\(s\)\): nothing was written.*--force/.test(e.message),
    );
    assert.deepEqual(store.blobs, before);
    // Replaced: the day's one new part file, and none of the three old ones left beside it.
    const r = await generateLogs(
      { days: 2, rowsPerDay: 50, seed: 2, out: 'mem://r', startDate: '2026-01-02', params: SMALL, replaceExisting: true },
      store,
    );
    assert.deepEqual(r.days, ['2026-01-02', '2026-01-03']);
    assert.deepEqual(
      [...store.blobs.keys()].filter((u) => u.includes('dt=2026-01-02')),
      ['mem://r/dt=2026-01-02/part-00000.parquet'],
    );
    assert.notDeepEqual(
      store.blobs.get('mem://r/dt=2026-01-02/part-00000.parquet'),
      before.get('mem://r/dt=2026-01-02/part-00000.parquet'),
    );
    assert.deepEqual(
      [...store.blobs.keys()].filter((u) => u.includes('dt=2026-01-01')),
      [...before.keys()].filter((u) => u.includes('dt=2026-01-01')),
      'other days untouched',
    );
  });

  it('splits a day that exceeds maxRowsPerFile into equal part files', async () => {
    const store = new MemoryStore();
    const r = await generateLogs({ days: 1, rowsPerDay: 1000, seed: 3, out: 'mem://p', maxRowsPerFile: 400, params: SMALL }, store);
    assert.deepEqual(
      r.files.map((f) => f.split('/').pop()),
      ['part-00000.parquet', 'part-00001.parquet', 'part-00002.parquet'],
    );
    const counts = await Promise.all(
      r.files.map(async (f) => (await parquetReadObjects({ file: arrayBufferOf(store.blobs.get(f)!) })).length),
    );
    assert.deepEqual(counts, [333, 333, 334]);
  });

  it('is deterministic: a day depends only on (seed, date), not on how many days one call writes', async () => {
    const all = new MemoryStore();
    await generateLogs({ days: 3, rowsPerDay: 300, seed: 7, out: 'mem://a', params: SMALL }, all);
    const alone = new MemoryStore();
    await generateLogs({ days: 1, rowsPerDay: 300, seed: 7, out: 'mem://a', startDate: '2026-01-03', params: SMALL }, alone);
    const day3 = 'mem://a/dt=2026-01-03/part-00000.parquet';
    assert.deepEqual(alone.blobs.get(day3), all.blobs.get(day3));

    const again = new MemoryStore();
    await generateLogs({ days: 3, rowsPerDay: 300, seed: 7, out: 'mem://a', params: SMALL }, again);
    assert.deepEqual([...again.blobs], [...all.blobs]);

    // Another day or another seed gives other rows.
    assert.notDeepEqual(all.blobs.get('mem://a/dt=2026-01-02/part-00000.parquet'), all.blobs.get(day3));
    const otherSeed = new MemoryStore();
    await generateLogs({ days: 1, rowsPerDay: 300, seed: 8, out: 'mem://a', startDate: '2026-01-03', params: SMALL }, otherSeed);
    assert.notDeepEqual(otherSeed.blobs.get(day3), all.blobs.get(day3));
  });

  it('writes the documented columns and types, which hyparquet reads back (lists as arrays, some nulls)', async () => {
    const store = new MemoryStore();
    const { files } = await generateLogs({ days: 1, rowsPerDay: 3000, seed: 5, out: 'mem://t', params: SMALL }, store);
    const buf = arrayBufferOf(store.blobs.get(files[0]!)!);
    const meta = parquetMetadata(buf);
    assert.equal(Number(meta.num_rows), 3000);
    const rows = (await parquetReadObjects({ file: buf })) as Record<string, unknown>[];
    assert.deepEqual(
      Object.keys(rows[0]!),
      LOG_COLUMNS.map((c) => c.name),
    );

    const ids = new Set<unknown>();
    let nullSessions = 0;
    let nullRatings = 0;
    for (const r of rows) {
      for (const c of ['impression_id', 'user_id', 'country', 'language', 'device_class', 'age_bucket', 'app_id', 'app_category']) {
        assert.equal(typeof r[c], 'string', c);
      }
      ids.add(r.impression_id);
      const apps = r.installed_apps as unknown[];
      assert.ok(Array.isArray(apps) && apps.length >= 3 && apps.length <= 30, `installed_apps length ${String(apps)}`);
      assert.ok(apps.every((a) => typeof a === 'string' && a.startsWith('app_')));
      assert.ok(!apps.includes(r.app_id), 'an installed app is never shown again');
      if (r.user_sessions_per_week === null) nullSessions++;
      else assert.equal(typeof r.user_sessions_per_week, 'number');
      if (r.app_rating === null) nullRatings++;
      else assert.ok((r.app_rating as number) >= 1 && (r.app_rating as number) <= 5);
      assert.ok(Number.isInteger(r.user_days_since_signup) && (r.user_days_since_signup as number) >= 0);
      assert.ok((r.app_price as number) >= 0);
      assert.ok((r.app_downloads as number) >= 100);
      assert.ok((r.position as number) >= 1 && (r.position as number) <= 10);
      assert.ok((r.hour_of_day as number) >= 0 && (r.hour_of_day as number) <= 23);
      assert.ok(r.installed === 0 || r.installed === 1);
    }
    assert.equal(ids.size, rows.length, 'impression_id is unique');
    // 3% of rows miss sessions → ~90 of 3000; a few percent of shown apps are unrated.
    assert.ok(nullSessions > 30 && nullSessions < 200, `null sessions ${nullSessions}`);
    assert.ok(nullRatings > 0, 'some apps are unrated');
  });
});

describe('generateDayWithTruth', () => {
  const day = generateDayWithTruth({ seed: 42, date: '2026-01-02', rows: 60_000, params: MEDIUM });

  it('has a base install rate of 5–12%', () => {
    const r = truthAucs(day);
    assert.ok(r.positiveRate > 0.05 && r.positiveRate < 0.12, `positive rate ${r.positiveRate}`);
  });

  it('planted pairs convert far above the base rate', () => {
    const { memo, appIndex, userIndex } = day.truth;
    const w = day.world;
    let hitRows = 0;
    let hitPos = 0;
    let otherRows = 0;
    let otherPos = 0;
    for (let i = 0; i < day.numRows; i++) {
      const u = userIndex[i]!;
      let planted = 0;
      for (let j = w.installedStart[u]!; j < w.installedStart[u + 1]!; j++) planted += plantedLogit(w, w.installedApp[j]!, appIndex[i]!);
      if (planted > 0) {
        hitRows++;
        hitPos += day.columns.installed[i]!;
      } else if (memo[i] === 0) {
        otherRows++;
        otherPos += day.columns.installed[i]!;
      }
    }
    const hitRate = hitPos / hitRows;
    const otherRate = otherPos / otherRows;
    // Uplift of +2.5…+3.5 logits on a ~5% base → several times the rate.
    assert.ok(hitRows > day.numRows * 0.05, `planted-pair rows ${hitRows}`);
    assert.ok(hitRate > 4 * otherRate, `planted ${hitRate} vs other ${otherRate}`);
  });

  it('needs both signals: the oracle AUC beats each ablation by a clear margin', () => {
    const r = truthAucs(day);
    assert.ok(r.oracle > r.withoutMemo + 0.05, `oracle ${r.oracle} vs without memo ${r.withoutMemo}`);
    assert.ok(r.oracle > r.withoutAffinity + 0.05, `oracle ${r.oracle} vs without affinity ${r.withoutAffinity}`);
    assert.ok(r.withoutMemo > r.baseOnly + 0.05 && r.withoutAffinity > r.baseOnly + 0.05);
  });

  it('shuffleLabels permutes the labels and keeps the features', () => {
    const small = generateDayWithTruth({ seed: 42, date: '2026-01-02', rows: 20_000, params: MEDIUM });
    const shuffled = generateDayWithTruth({ seed: 42, date: '2026-01-02', rows: 20_000, params: MEDIUM, shuffleLabels: true });
    assert.deepEqual(shuffled.columns.app_id, small.columns.app_id);
    assert.deepEqual(shuffled.truth.trueLabel, small.columns.installed);
    const sum = (a: Int32Array) => a.reduce((s, x) => s + x, 0);
    assert.equal(sum(shuffled.columns.installed), sum(small.columns.installed));
    assert.notDeepEqual(shuffled.columns.installed, small.columns.installed);
    const auc = truthAucs(shuffled).oracle;
    assert.ok(Math.abs(auc - 0.5) < 0.03, `oracle AUC on shuffled labels ${auc}`);
  });
});

describe('rocAuc', () => {
  it('matches a hand count with ties', () => {
    // Pairs (pos, neg): (0.9,0.1) win, (0.9,0.5) win, (0.5,0.1) win, (0.5,0.5) tie → 3.5 / 4.
    const auc = rocAuc(new Float64Array([0.9, 0.5, 0.5, 0.1]), new Int32Array([1, 1, 0, 0]));
    assert.ok(Math.abs(auc - 0.875) < 1e-12);
  });
});

describe('examples/app-store/wdp.config.json', () => {
  it('is a valid config whose features are generated columns', async () => {
    const path = new URL('../../examples/app-store/wdp.config.json', import.meta.url);
    const cfg = parseConfigText(await readFile(path, 'utf8'), path.pathname);
    const columns = new Set<string>(LOG_COLUMNS.map((c) => c.name));
    for (const name of Object.keys(cfg.features)) assert.ok(columns.has(name), name);
    assert.ok(columns.has(cfg.label));
    assert.ok(cfg.wide.crosses.some((c) => c.features.includes('installed_apps') && c.features.includes('app_id')));
    assert.equal(cfg.holdout.kind, 'newest_partition');
  });
});
