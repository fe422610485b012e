/**
 * A Parquet log file is read from the version listed (LogFile.etag): one rewritten by another
 * process between the listing and the reads, or between two row groups (two epochs of a
 * training), stops the reader with a DataError saying so. Before, the later ranges were read from
 * the new file with the old footer's offsets: a training silently mixed two versions of its data.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DataError } from '../../src/data/errors.ts';
import { listLogFiles, readLogChunks } from '../../src/data/logs.ts';
import { FileStore } from '../../src/storage/file-store.ts';
import { StoragePreconditionError } from '../../src/storage/errors.ts';
import { writeParquet } from '../helpers/parquet-write.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-parquet-pin-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const replaced = (e: unknown) =>
  e instanceof DataError && /the file was replaced while it was being read \(another process rewrote it\)/.test(e.message);

/** Writes a Parquet file of `rows` values of x = `value`, in row groups of 10, through a temp file and rename. */
async function version(path: string, rows: number, value: number): Promise<void> {
  const tmp = `${path}.new`;
  await writeParquet(tmp, [{ name: 'x', type: 'DOUBLE', data: new Array<number>(rows).fill(value) }], { rowGroupSize: 10 });
  await new FileStore().write(path, await readFile(tmp));
}

test('a file replaced after it was listed is not read at all', async () => {
  const path = join(dir, 'listed.parquet');
  await version(path, 30, 1);
  const files = await listLogFiles([path]);
  await version(path, 30, 2);
  const read = async () => {
    for await (const _ of readLogChunks(files, { columns: [{ name: 'x', kind: 'numeric' }] }));
  };
  await assert.rejects(read(), replaced);
});

test('a file replaced between two row groups stops the reader after the first', async () => {
  const path = join(dir, 'midway.parquet');
  await version(path, 40, 1);
  const files = await listLogFiles([dir]);
  const seen: number[] = [];
  const read = async () => {
    for await (const chunk of readLogChunks(
      files.filter((f) => f.uri === path),
      { columns: [{ name: 'x', kind: 'numeric' }], chunkRows: 10 },
    )) {
      seen.push(...(chunk.columns.get('x') as Float64Array));
      if (seen.length === 10) await version(path, 40, 2);
    }
  };
  await assert.rejects(read(), replaced);
  assert.ok(
    seen.every((v) => v === 1),
    'no value of the second version was read',
  );
});

test('FileStore.readRange with ifMatch: the listed version is read, a rewritten file refused', async () => {
  const store = new FileStore();
  const path = join(dir, 'plain.bin');
  await store.write(path, 'abcdef');
  const etag = (await store.list(`${dir}/`)).find((b) => b.uri === path)?.etag;
  assert.equal(etag, (await store.stat(path))?.etag);
  assert.deepEqual(Buffer.from(await store.readRange(path, 1, 3, { ifMatch: etag! })).toString(), 'bc');
  await writeFile(path, 'ABCDEF');
  await assert.rejects(store.readRange(path, 1, 3, { ifMatch: etag! }), StoragePreconditionError);
});

test('a CSV log file replaced after it was listed (the next epoch reopens it) is not read; FileStore.readStream with ifMatch', async () => {
  const path = join(dir, 'listed.csv');
  const store = new FileStore();
  await store.write(path, 'x\n1\n2\n');
  const files = await listLogFiles([path]);
  const read = async () => {
    const xs: number[] = [];
    for await (const c of readLogChunks(files, { columns: [{ name: 'x', kind: 'numeric' }] }))
      xs.push(...(c.columns.get('x') as Float64Array));
    return xs;
  };
  assert.deepEqual(await read(), [1, 2], 'the listed version reads');
  await store.write(path, 'x\n7\n8\n9\n');
  await assert.rejects(read(), replaced);
  const etag = (await store.stat(path))!.etag!;
  const chunks: Uint8Array[] = [];
  for await (const c of store.readStream(path, { ifMatch: etag })) chunks.push(c);
  assert.equal(Buffer.concat(chunks).toString('utf8'), 'x\n7\n8\n9\n');
  await assert.rejects(
    (async () => {
      for await (const _ of store.readStream(path, { ifMatch: files[0]!.etag! }));
    })(),
    StoragePreconditionError,
  );
});
