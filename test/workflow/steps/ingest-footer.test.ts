/**
 * What Ingest reads in each new file's footer beyond "it opens": a categorical column stored as
 * another type than before, and (from the statistics) labels and numerics training would refuse.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { createIngestHandler } from '../../../lambdas/ingest.ts';
import { storeFor } from '../../../src/storage/index.ts';
import { writeJson } from '../../../src/workflow/bucket/json-store.ts';
import { layout } from '../../../src/workflow/bucket/layout.ts';
import { readQuarantine } from '../../../src/workflow/bucket/quarantine.ts';
import { runManifestSchema, type IngestResult } from '../../../src/workflow/schemas.ts';
import { readRunManifest } from '../../../src/workflow/steps/ingest.ts';
import { editDay, storeColumnAsInt } from '../../helpers/parquet-edit.ts';
import { addDays, smallConfig, writeConfig } from '../../helpers/workflow-fixture.ts';

const dirs: string[] = [];
afterEach(() => Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true }))));

async function bucket(days: number, config?: Record<string, unknown>) {
  const dir = await mkdtemp(join(tmpdir(), 'wdp-ingest-footer-'));
  dirs.push(dir);
  if (config) await writeJson(layout(dir).config, config);
  else await writeConfig(dir);
  const names = await addDays(dir, days, { rowsPerDay: 300 });
  const file = (day: string) => join(dir, 'logs', `dt=${day}`, 'part-00000.parquet');
  const ingest = (name = 'exec') => createIngestHandler({ bucketUri: dir })({ executionName: name }) as Promise<IngestResult>;
  return { dir, days: names, file, ingest };
}

describe('Ingest: a categorical column stored as another type', () => {
  it('fails the day naming file, column, expected and found type, against the files the finished runs read', async () => {
    const b = await bucket(3);
    // A finished run read the first two days (as Promote stores its watermarkAfter).
    const first = await b.ingest('first');
    assert.ok(first.hasNewData);
    await writeJson(layout(b.dir).watermark, (await readRunManifest(first.manifestUri)).watermarkAfter);
    await addDays(b.dir, 1, { rowsPerDay: 300 });
    const day = '2026-01-04';
    await storeColumnAsInt(b.file(day), 'country');
    await assert.rejects(b.ingest('second'), (e: Error) => {
      assert.match(e.message, /1 log file\(s\) cannot be trained on/);
      assert.ok(
        e.message.includes(
          `${b.file(day)}: column "country": type changed: expected BYTE_ARRAY (UTF8) (text tokens, as in ${b.file('2026-01-03')}`,
        ),
        e.message,
      );
      assert.match(e.message, /found INT32 \(number tokens\): its values would become new tokens/);
      assert.match(e.message, /`wdp days drop 2026-01-04`/);
      return true;
    });
  });

  it('with no earlier run, most of the run\'s files decide; data.onBadFile "quarantine" sets the odd file aside', async () => {
    const b = await bucket(3, { ...smallConfig(), data: { onBadFile: 'quarantine' } });
    await storeColumnAsInt(b.file(b.days[1]!), 'country');
    const r = await b.ingest();
    assert.ok(r.hasNewData);
    assert.deepEqual(r.trainPartitions, [b.days[0]]);
    assert.match(
      r.quarantined[0]?.reason ?? '',
      /column "country": type changed: expected BYTE_ARRAY \(UTF8\) \(text tokens, as in 2 of this run's 3 files\), found INT32/,
    );
    assert.equal((await readQuarantine(layout(b.dir))).files.length, 1);
  });

  it('raises nothing on days whose types and values match (no false alarm on ordinary data)', async () => {
    const b = await bucket(2);
    const r = await b.ingest();
    assert.ok(r.hasNewData);
    assert.deepEqual(r.quarantined, []);
  });
});

describe('Ingest: values training would refuse, from the footer statistics', () => {
  it('a label of 2 fails Ingest naming file and column (nothing trained, the day droppable)', async () => {
    const b = await bucket(2);
    await editDay(b.file(b.days[0]!), (c) => {
      c.installed[5] = 2;
    });
    await assert.rejects(
      b.ingest(),
      new RegExp(
        `${b.file(b.days[0]!).replace(/[.]/g, '\\.')}: column "installed": label must be 0 or 1, but the file's statistics give values from 0 to 2`,
      ),
    );
  });

  it('an Infinity in a numeric fails Ingest; with data.onBadRow "skip" it is left to training (skipped, counted)', async () => {
    const b = await bucket(2);
    await editDay(b.file(b.days[1]!), (c) => {
      c.app_price[3] = Number.POSITIVE_INFINITY;
    });
    await assert.rejects(b.ingest(), /column "app_price": value is not finite \(the file's statistics give Infinity\)/);
    await storeFor(layout(b.dir).config).write(
      layout(b.dir).config,
      JSON.stringify({ ...smallConfig(), data: { onBadRow: 'skip', maxBadRowFraction: 0.05 } }),
    );
    const r = await b.ingest();
    assert.ok(r.hasNewData);
    assert.ok(runManifestSchema.safeParse(await readRunManifest(r.manifestUri)).success);
  });
});
