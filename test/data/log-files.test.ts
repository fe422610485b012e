import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { listLogFiles, parsePartition } from '../../src/data/log-files.ts';
import { writeParquet } from '../helpers/parquet-write.ts';
import { FileStore } from '../../src/storage/file-store.ts';
import { freshFolders, isDataError } from '../helpers/log-fixtures.ts';

const store = new FileStore();
const fresh = freshFolders();

describe('listLogFiles', () => {
  it('expands folders to .parquet/.csv files sorted by (partition, uri), skipping _ and . names', async () => {
    const root = fresh();
    for (const k of [
      'dt=2024-01-02/b.parquet',
      'dt=2024-01-02/a.csv',
      'dt=2024-01-01/z.parquet',
      'dt=2024-01-01/_SUCCESS',
      'dt=2024-01-01/.a.parquet.crc',
      'dt=2024-01-01/_temporary/x.parquet',
      'dt=2024-01-01/notes.txt',
    ]) {
      await store.write(join(root, k), 'x');
    }

    const files = await listLogFiles([root]);
    // Each with the version listed (LogFile.etag), which every later read of it asks for.
    for (const f of files) assert.equal(f.etag, (await store.stat(f.uri))?.etag);
    assert.deepEqual(
      files.map(({ etag: _, ...f }) => f),
      [
        { uri: join(root, 'dt=2024-01-01/z.parquet'), format: 'parquet', partition: '2024-01-01', sizeBytes: 1 },
        { uri: join(root, 'dt=2024-01-02/a.csv'), format: 'csv', partition: '2024-01-02', sizeBytes: 1 },
        { uri: join(root, 'dt=2024-01-02/b.parquet'), format: 'parquet', partition: '2024-01-02', sizeBytes: 1 },
      ],
    );
  });

  it('takes a file named explicitly, sniffing Parquet when the extension says nothing', async () => {
    const root = fresh();
    await writeParquet(join(root, 'part-0000'), [{ name: 'x', type: 'DOUBLE', data: [1] }]);
    await store.write(join(root, 'data.txt'), 'a,b\n1,2\n');

    const [file] = await listLogFiles([join(root, 'part-0000')]);
    assert.equal(file?.format, 'parquet');
    await assert.rejects(listLogFiles([join(root, 'data.txt')]), isDataError(join(root, 'data.txt')));
  });

  it('keeps file:// URIs and dedupes a file reached twice', async () => {
    const root = pathToFileURL(fresh()).href;
    await store.write(`${root}/dt=2024-03-04/p.csv`, 'a\n1\n');

    const files = await listLogFiles([`${root}/`, `${root}/dt=2024-03-04/p.csv`]);
    assert.deepEqual(
      files.map((f) => [f.uri, f.partition]),
      [[`${root}/dt=2024-03-04/p.csv`, '2024-03-04']],
    );
  });

  it('names a missing input', async () => {
    const missing = join(fresh(), 'nope');
    await assert.rejects(listLogFiles([missing]), isDataError(missing));
  });

  it('parses the dt= partition from the last dt segment only', () => {
    assert.equal(parsePartition('s3://b/logs/dt=2024-05-01/part-0.parquet'), '2024-05-01');
    assert.equal(parsePartition('/x/dt=2024-05-01/y/dt=2024-05-02/p.csv'), '2024-05-02');
    assert.equal(parsePartition('/x/adt=2024-05-01/p.csv'), undefined);
    assert.equal(parsePartition('/x/dt=2024-05-01x/p.csv'), undefined);
  });

  it('a dt= segment that is not a calendar date is no partition: dt=2026-13-45 would sort after every real day', () => {
    assert.equal(parsePartition('s3://b/logs/dt=2026-13-45/part-0.parquet'), undefined);
    assert.equal(parsePartition('s3://b/logs/dt=2026-02-30/part-0.parquet'), undefined);
    assert.equal(parsePartition('s3://b/logs/dt=2026-00-10/part-0.parquet'), undefined);
    assert.equal(parsePartition('s3://b/logs/dt=2024-02-29/part-0.parquet'), '2024-02-29');
    // The last dt= segment names the day: a bad one there is no day, whatever comes before it.
    assert.equal(parsePartition('/x/dt=2024-05-01/y/dt=2024-05-32/p.csv'), undefined);
  });
});
