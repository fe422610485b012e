/**
 * Tables left in a local model's serving file (model/mapped-tables.ts): the read that leaves
 * them out still hashes every byte, the loader returns them as mapped tables with the rows a full
 * load would give, and a file changed after its check is refused rather than served.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rename, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mkdtemp, rm, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { encodeTensors } from '../../src/model/safetensors.ts';
import { mapServingTablesUnchecked, readModelFiles, SERVING_FILE } from '../../src/model/artifact.ts';
import { ModelLoadError } from '../../src/model/errors.ts';
import { readManifest } from '../../src/model/manifest.ts';
import { MAPPED_TABLE_MIN_BYTES, mapsTablesByDefault } from '../../src/model/mapped-tables.ts';
import { claimPrefetched, clearPrefetched, prefetchServingWeights } from '../../src/model/prefetch.ts';
import { readWithSha256InWorker } from '../../src/storage/read-worker.ts';
import { saveBigTableModel } from '../helpers/big-table-model.ts';

let dir = '';
let model = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-mapped-'));
  model = await saveBigTableModel(dir, 'big');
});
after(() => rm(dir, { recursive: true, force: true }));

describe('a read that leaves tables unread', () => {
  test('hashes every byte, keeps the rest, and never writes the tables into the buffer', async () => {
    const big = new Float32Array(MAPPED_TABLE_MIN_BYTES / 4).map((_, i) => (i % 97) - 48);
    const small = new Float32Array(100).map((_, i) => i / 7);
    const file = join(dir, 'leave.safetensors');
    const bytes = encodeTensors(
      new Map([
        ['embedding/big', { shape: [big.length / 8, 8], data: big }],
        ['embedding/small', { shape: [25, 4], data: small }],
        ['W0', { shape: [10, 10], data: small }],
      ]),
    );
    await writeFile(file, bytes);
    for (const pieceBytes of [4096, 1 << 20]) {
      const r = await readWithSha256InWorker(file, file, {
        pieceBytes,
        leaveUnread: { prefix: 'embedding/', minBytes: MAPPED_TABLE_MIN_BYTES },
      });
      assert.equal(r.sha256, createHash('sha256').update(bytes).digest('hex'));
      assert.equal(r.unread.length, 1);
      const t = r.unread[0]!;
      assert.equal(t.name, 'embedding/big');
      assert.equal(t.end - t.start, big.byteLength);
      // Left untouched: zeros where the table is, the file's bytes everywhere else.
      assert.ok(r.data.subarray(t.start, t.end).every((b) => b === 0));
      assert.deepEqual(Buffer.from(r.data.subarray(0, t.start)), Buffer.from(bytes.subarray(0, t.start)));
      assert.deepEqual(Buffer.from(r.data.subarray(t.end)), Buffer.from(bytes.subarray(t.end)));
      assert.equal(r.identity.size, bytes.length);
    }
  });

  test('a header that does not parse leaves nothing out (the read is then a plain one)', async () => {
    const file = join(dir, 'not-safetensors.bin');
    const bytes = new Uint8Array(3 << 20).map((_, i) => (i * 13) & 0xff);
    await writeFile(file, bytes);
    const r = await readWithSha256InWorker(file, file, { leaveUnread: { prefix: 'embedding/', minBytes: 1 } });
    assert.deepEqual(r.unread, []);
    assert.deepEqual(Buffer.from(r.data), Buffer.from(bytes));
  });
});

describe('readModelFiles with mapTables', () => {
  test('maps the large tables with the rows a full load gives; the small tensors stay in memory', async () => {
    const full = await readModelFiles(model, { weightsOnly: true });
    const mapped = await readModelFiles(model, { weightsOnly: true, mapTables: true });
    try {
      assert.ok(mapped.mappedTables);
      assert.deepEqual([...mapped.mappedTables.tables.keys()].sort(), ['item', 'tags', 'user']);
      assert.equal(mapped.state.embeddings.size, 0);
      assert.deepEqual(mapped.state.tower?.tensors['W0'], full.state.tower?.tensors['W0']);
      assert.deepEqual(mapped.state.wide?.weights, full.state.wide?.weights);
      for (const f of ['user', 'item', 'tags']) {
        const table = full.state.embeddings.get(f)!;
        assert.deepEqual(mapped.mappedTables.readTable(f), table.weights);
        const ids = Int32Array.of(5, 0, table.rows - 1, 5);
        const rows = mapped.mappedTables.readRows(f, ids, 1, 4);
        assert.deepEqual(
          rows,
          Float32Array.from([0, table.rows - 1, 5].flatMap((id) => [...table.weights.subarray(id * table.dim, (id + 1) * table.dim)])),
        );
      }
      assert.throws(() => mapped.mappedTables!.readRows('user', Int32Array.of(8192), 0, 1), RangeError);
    } finally {
      mapped.mappedTables?.close();
    }
    // Closed: a read now names the file instead of reading whatever the descriptor number became.
    assert.throws(
      () => mapped.mappedTables!.readTable('user'),
      (e: unknown) => e instanceof ModelLoadError && /closed/.test(e.message),
    );
  });

  test('a byte flipped inside a mapped table fails the load: the tables are hashed like every byte', async () => {
    const bad = join(dir, 'flipped');
    await cp(model, bad, { recursive: true });
    const file = join(bad, SERVING_FILE);
    const bytes = await readFile(file);
    const headerLen = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
    bytes[8 + headerLen + header['embedding/user']!.data_offsets[0] + 100]! ^= 0x01;
    await writeFile(file, bytes);
    await assert.rejects(
      readModelFiles(bad, { weightsOnly: true, mapTables: true }),
      (e: unknown) => e instanceof ModelLoadError && /sha256/.test(e.message),
    );
  });

  test('a file put in place of the checked one is refused when a session would map it', async () => {
    const copy = join(dir, 'swapped');
    await cp(model, copy, { recursive: true });
    const loaded = await readModelFiles(copy, { weightsOnly: true, mapTables: true });
    try {
      loaded.mappedTables!.assertUnchanged();
      // Same bytes, a new file renamed over it: not the file that was checked.
      const file = join(copy, SERVING_FILE);
      await writeFile(`${file}.new`, await readFile(file));
      await rename(`${file}.new`, file);
      assert.throws(
        () => loaded.mappedTables!.assertUnchanged(),
        (e: unknown) => e instanceof ModelLoadError && /changed after it was checked/.test(e.message),
      );
    } finally {
      loaded.mappedTables?.close();
    }
  });

  test('a file cut short in place after the check: the row reads name it instead of reading past its end', async () => {
    const copy = join(dir, 'cut');
    await cp(model, copy, { recursive: true });
    const loaded = await readModelFiles(copy, { weightsOnly: true, mapTables: true });
    try {
      await truncate(join(copy, SERVING_FILE), 8);
      assert.throws(
        () => loaded.mappedTables!.readRows('user', Int32Array.of(3), 0, 1),
        (e: unknown) =>
          e instanceof ModelLoadError && /serving\.safetensors ended at byte \d+: it changed after it was checked/.test(e.message),
      );
      assert.throws(() => loaded.mappedTables!.assertUnchanged(), /changed after it was checked/);
    } finally {
      loaded.mappedTables?.close();
    }
  });

  test('a prefetch that left tables unread is used only by a mapping load; a copying load reads the file again', async () => {
    prefetchServingWeights(model, { mapTables: true });
    const full = await readModelFiles(model, { weightsOnly: true });
    // The copying load must not have taken zeros for tables: its user table is the file's.
    const mapped = await readModelFiles(model, { weightsOnly: true, mapTables: true });
    try {
      assert.deepEqual(full.state.embeddings.get('user')!.weights, mapped.mappedTables!.readTable('user'));
      assert.ok(full.state.embeddings.get('user')!.weights.some((v) => v !== 0));
    } finally {
      mapped.mappedTables?.close();
      clearPrefetched();
    }
    prefetchServingWeights(model, { mapTables: true });
    const claimed = await claimPrefetched(model, SERVING_FILE);
    assert.equal(claimed?.unread?.length, 3);
  });

  test('the unchecked mapping for a plan built ahead is the checked one (sameAs), and S3 models are not mapped', async () => {
    const manifest = await readManifest(model);
    const ahead = await mapServingTablesUnchecked(model, manifest);
    const checked = await readModelFiles(model, { weightsOnly: true, mapTables: true, manifest });
    try {
      assert.ok(ahead && checked.mappedTables);
      assert.ok(ahead.sameAs(checked.mappedTables));
    } finally {
      ahead?.close();
      checked.mappedTables?.close();
    }
    assert.equal(mapsTablesByDefault('s3://bucket/models/m1'), false);
    assert.equal(mapsTablesByDefault(model), process.env['WDP_MAP_TABLES'] !== '0');
  });
});
