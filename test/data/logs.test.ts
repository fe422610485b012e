import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { listLogFiles } from '../../src/data/logs.ts';
import { writeParquet } from '../helpers/parquet-write.ts';
import { clearStoreCache } from '../../src/storage/index.ts';
import { ALL_TYPES, collect, freshFolders } from '../helpers/log-fixtures.ts';
import { setS3Env, startS3rver } from '../helpers/s3rver.ts';

const fresh = freshFolders();

describe('readLogChunks', () => {
  it('streams several files in (partition, uri) order', async () => {
    const root = fresh();
    await writeParquet(join(root, 'dt=2024-01-02/a.parquet'), [{ name: 'x', type: 'DOUBLE', data: [2] }]);
    await writeParquet(join(root, 'dt=2024-01-01/b.parquet'), [{ name: 'x', type: 'DOUBLE', data: [1] }]);

    const chunks = await collect(await listLogFiles([root]), [{ name: 'x', kind: 'numeric' }]);
    assert.deepEqual(
      chunks.map((c) => (c.columns.get('x') as Float64Array)[0]),
      [1, 2],
    );
  });
});

describe('readLogChunks from S3', () => {
  it('reads Parquet through S3Store from s3rver', async () => {
    const s3 = await startS3rver({ buckets: ['logs'] });
    const restoreEnv = setS3Env(s3.endpoint);
    clearStoreCache();
    try {
      const uri = 's3://logs/app/dt=2024-02-03/part-0.parquet';
      await writeParquet(uri, ALL_TYPES, { rowGroupSize: 2 });

      const files = await listLogFiles(['s3://logs/app']);
      assert.deepEqual(
        files.map((f) => [f.uri, f.format, f.partition]),
        [[uri, 'parquet', '2024-02-03']],
      );
      const chunks = await collect(files, [
        { name: 'price', kind: 'numeric' },
        { name: 'installed', kind: 'list' },
      ]);
      assert.deepEqual(
        chunks.map((c) => c.numRows),
        [2, 1],
      );
      assert.deepEqual(
        chunks.flatMap((c) => c.columns.get('installed') as unknown[]),
        [['a', 'b'], [], null],
      );
      assert.deepEqual(
        chunks.flatMap((c) => [...(c.columns.get('price') as Float64Array)]),
        [1.25, NaN, -3],
      );
    } finally {
      restoreEnv();
      clearStoreCache();
      await s3.stop();
    }
  });
});
