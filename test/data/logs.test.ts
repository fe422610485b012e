import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { DataError } from '../../src/data/errors.ts';
import { type ColumnRequirement, type LogFile, listLogFiles, parsePartition, readLogChunks } from '../../src/data/logs.ts';
import { type ParquetColumn, writeParquet } from '../../src/data/parquet-write.ts';
import type { RowChunk } from '../../src/data/row-chunk.ts';
import { FileStore } from '../../src/storage/file-store.ts';
import { clearStoreCache } from '../../src/storage/index.ts';
import { setS3Env, startS3rver } from '../helpers/s3rver.ts';

const store = new FileStore();
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-logs-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
/** A fresh folder per test. */
const fresh = (): string => join(dir, `t${n++}`);

async function collect(files: LogFile[], columns: ColumnRequirement[], chunkRows?: number): Promise<RowChunk[]> {
  const out: RowChunk[] = [];
  for await (const c of readLogChunks(files, chunkRows === undefined ? { columns } : { columns, chunkRows })) out.push(c);
  return out;
}

async function oneFile(uri: string): Promise<LogFile[]> {
  return listLogFiles([uri]);
}

/** Asserts a DataError naming `source` (and `column`/`row` when given) in both fields and message. */
function isDataError(source: string, column?: string, row?: number) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof DataError, `expected DataError, got ${String(err)}`);
    assert.equal(err.source, source);
    assert.ok(err.message.includes(source), err.message);
    if (column !== undefined) {
      assert.equal(err.column, column);
      assert.ok(err.message.includes(`"${column}"`), err.message);
    }
    if (row !== undefined) assert.equal(err.row, row);
    return true;
  };
}

const ALL_TYPES: ParquetColumn[] = [
  { name: 'label', type: 'INT32', data: [1, 0, null] },
  { name: 'price', type: 'DOUBLE', data: [1.25, null, -3] },
  { name: 'score32', type: 'FLOAT', data: [0.5, 2, null] },
  { name: 'count64', type: 'INT64', data: [2n ** 40n, null, -7n] },
  { name: 'flag', type: 'BOOLEAN', data: [true, false, null] },
  { name: 'country', type: 'STRING', data: ['fr', null, ''] },
  { name: 'app_id', type: 'INT64', data: [123n, 9007199254740993n, null] },
  { name: 'ratio', type: 'DOUBLE', data: [0.25, 3, null] },
  { name: 'installed', type: 'STRING_LIST', data: [['a', 'b'], [], null] },
  { name: 'unused', type: 'STRING', data: ['u', 'u', 'u'] },
];

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
    assert.deepEqual(files, [
      { uri: join(root, 'dt=2024-01-01/z.parquet'), format: 'parquet', partition: '2024-01-01', sizeBytes: 1 },
      { uri: join(root, 'dt=2024-01-02/a.csv'), format: 'csv', partition: '2024-01-02', sizeBytes: 1 },
      { uri: join(root, 'dt=2024-01-02/b.parquet'), format: 'parquet', partition: '2024-01-02', sizeBytes: 1 },
    ]);
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
});

describe('readLogChunks, Parquet', () => {
  it('converts every column type, keeping nulls as NaN / null', async () => {
    const uri = join(fresh(), 'all.parquet');
    await writeParquet(uri, ALL_TYPES);

    const chunks = await collect(await oneFile(uri), [
      { name: 'label', kind: 'label' },
      { name: 'price', kind: 'numeric' },
      { name: 'score32', kind: 'numeric' },
      { name: 'count64', kind: 'numeric' },
      { name: 'flag', kind: 'numeric' },
      { name: 'country', kind: 'string' },
      { name: 'app_id', kind: 'string' },
      { name: 'ratio', kind: 'string' },
      { name: 'installed', kind: 'list' },
    ]);

    assert.equal(chunks.length, 1);
    const c = chunks[0]!;
    assert.deepEqual([c.source, c.rowOffset, c.numRows], [uri, 0, 3]);
    assert.deepEqual(c.columns.get('label'), new Float64Array([1, 0, NaN]));
    assert.deepEqual(c.columns.get('price'), new Float64Array([1.25, NaN, -3]));
    assert.deepEqual(c.columns.get('score32'), new Float64Array([0.5, 2, NaN]));
    assert.deepEqual(c.columns.get('count64'), new Float64Array([2 ** 40, NaN, -7]));
    assert.deepEqual(c.columns.get('flag'), new Float64Array([1, 0, NaN]));
    assert.deepEqual(c.columns.get('country'), ['fr', null, '']);
    // bigint → exact decimal text, beyond 2^53 too.
    assert.deepEqual(c.columns.get('app_id'), ['123', '9007199254740993', null]);
    assert.deepEqual(c.columns.get('ratio'), ['0.25', '3', null]);
    assert.deepEqual(c.columns.get('installed'), [['a', 'b'], [], null]);
    assert.equal(c.columns.has('unused'), false);
  });

  it('reads only the requested columns', async () => {
    const uri = join(fresh(), 'p.parquet');
    await writeParquet(uri, ALL_TYPES);

    const [c] = await collect(await oneFile(uri), [{ name: 'installed', kind: 'list' }]);
    assert.deepEqual([...c!.columns.keys()], ['installed']);
  });

  it('emits one chunk per row group, and splits a large row group at chunkRows', async () => {
    const uri = join(fresh(), 'groups.parquet');
    const x = Array.from({ length: 250 }, (_, i) => i);
    await writeParquet(
      uri,
      [
        { name: 'x', type: 'INT32', data: x },
        { name: 's', type: 'STRING', data: x.map(String) },
      ],
      { rowGroupSize: 100 },
    );

    const chunks = await collect(
      await oneFile(uri),
      [
        { name: 'x', kind: 'numeric' },
        { name: 's', kind: 'string' },
      ],
      40,
    );
    // Row groups 100, 100, 50 → 40+40+20, 40+40+20, 40+10.
    assert.deepEqual(
      chunks.map((c) => [c.rowOffset, c.numRows]),
      [
        [0, 40],
        [40, 40],
        [80, 20],
        [100, 40],
        [140, 40],
        [180, 20],
        [200, 40],
        [240, 10],
      ],
    );
    const all = chunks.flatMap((c) => [...(c.columns.get('x') as Float64Array)]);
    assert.deepEqual(all, x);
    assert.deepEqual(
      chunks.flatMap((c) => c.columns.get('s') as string[]),
      x.map(String),
    );
  });

  it('fills an optional column the file lacks with NaN / null', async () => {
    const uri = join(fresh(), 'p.parquet');
    await writeParquet(uri, [{ name: 'x', type: 'DOUBLE', data: [1, 2] }]);

    const [c] = await collect(await oneFile(uri), [
      { name: 'x', kind: 'numeric' },
      { name: 'y', kind: 'numeric', optional: true },
      { name: 'tags', kind: 'list', optional: true },
    ]);
    assert.deepEqual(c!.columns.get('y'), new Float64Array([NaN, NaN]));
    assert.deepEqual(c!.columns.get('tags'), [null, null]);
  });

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

  describe('rejects bad files, naming file and column', () => {
    const x: ColumnRequirement[] = [{ name: 'x', kind: 'numeric' }];

    it('a file that is not Parquet', async () => {
      const uri = join(fresh(), 'fake.parquet');
      await store.write(uri, 'this is not parquet at all, just text');
      await assert.rejects(collect(await oneFile(uri), x), isDataError(uri));
    });

    it('a 0-byte file', async () => {
      const uri = join(fresh(), 'empty.parquet');
      await store.write(uri, '');
      await assert.rejects(collect(await oneFile(uri), x), (err: unknown) => isDataError(uri)(err) && /empty/.test((err as Error).message));
    });

    it('a file with 0 rows', async () => {
      const uri = join(fresh(), 'norows.parquet');
      await writeParquet(uri, [{ name: 'x', type: 'DOUBLE', data: [] }]);
      await assert.rejects(
        collect(await oneFile(uri), x),
        (err: unknown) => isDataError(uri)(err) && /0 rows/.test((err as Error).message),
      );
    });

    it('a missing required column', async () => {
      const uri = join(fresh(), 'p.parquet');
      await writeParquet(uri, ALL_TYPES);
      await assert.rejects(
        collect(await oneFile(uri), [
          { name: 'price', kind: 'numeric' },
          { name: 'nope', kind: 'label' },
        ]),
        isDataError(uri, 'nope'),
      );
    });

    const wrongTypes: [string, ColumnRequirement][] = [
      ['a string column read as numeric', { name: 'country', kind: 'numeric' }],
      ['a string column read as label', { name: 'country', kind: 'label' }],
      ['a list column read as numeric', { name: 'installed', kind: 'numeric' }],
      ['a string column read as list', { name: 'country', kind: 'list' }],
      ['a list column read as string', { name: 'installed', kind: 'string' }],
    ];
    for (const [what, req] of wrongTypes) {
      it(`${what}, before reading rows`, async () => {
        const uri = join(fresh(), 'p.parquet');
        await writeParquet(uri, ALL_TYPES);
        await assert.rejects(
          collect(await oneFile(uri), [req]),
          (err: unknown) => isDataError(uri, req.name)(err) && /wrong type/.test((err as Error).message),
        );
      });
    }
  });
});

describe('readLogChunks, CSV', () => {
  const columns: ColumnRequirement[] = [
    { name: 'label', kind: 'label' },
    { name: 'price', kind: 'numeric' },
    { name: 'country', kind: 'string' },
    { name: 'installed', kind: 'list' },
  ];

  it('parses numbers, empty cells as NaN/null, and |-separated lists, in chunks', async () => {
    const uri = join(fresh(), 'logs.csv');
    await store.write(uri, 'country,label,price,installed,extra\nfr,1,2.5,a|b,z\n,0,,,z\n"d,e",,1e3,c,z\n');

    const chunks = await collect(await oneFile(uri), columns, 2);
    assert.deepEqual(
      chunks.map((c) => [c.rowOffset, c.numRows]),
      [
        [0, 2],
        [2, 1],
      ],
    );
    const [a, b] = chunks;
    assert.deepEqual(a!.columns.get('label'), new Float64Array([1, 0]));
    assert.deepEqual(a!.columns.get('price'), new Float64Array([2.5, NaN]));
    assert.deepEqual(a!.columns.get('country'), ['fr', null]);
    assert.deepEqual(a!.columns.get('installed'), [['a', 'b'], []]);
    assert.deepEqual(b!.columns.get('label'), new Float64Array([NaN]));
    assert.deepEqual(b!.columns.get('price'), new Float64Array([1000]));
    assert.deepEqual(b!.columns.get('country'), ['d,e']);
    assert.equal(a!.columns.has('extra'), false);
  });

  it('names file, column and row of an unparsable number', async () => {
    const uri = join(fresh(), 'bad.csv');
    await store.write(uri, 'label,price,country,installed\n1,2,fr,a\n0,abc,fr,a\n');
    await assert.rejects(collect(await oneFile(uri), columns), isDataError(uri, 'price', 1));
  });

  it('names a column missing from the header', async () => {
    const uri = join(fresh(), 'nohead.csv');
    await store.write(uri, 'label,price,country\n1,2,fr\n');
    await assert.rejects(collect(await oneFile(uri), columns), isDataError(uri, 'installed'));
  });

  it('rejects a CSV with a header but no rows', async () => {
    const uri = join(fresh(), 'header-only.csv');
    await store.write(uri, 'label,price,country,installed\n');
    await assert.rejects(collect(await oneFile(uri), columns), isDataError(uri));
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
