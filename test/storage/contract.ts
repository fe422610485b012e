/**
 * One behaviour contract for every BlobStore. Each implementation's test file calls
 * `blobStoreContract` with a fixture that hands out an empty root folder per test.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { BlobStore } from '../../src/storage/blob-store.ts';
import { StorageNotFoundError, StoragePreconditionError } from '../../src/storage/errors.ts';
import { joinUri } from '../../src/storage/index.ts';

export interface ContractFixture {
  readonly store: BlobStore;
  /** An empty folder URI (no trailing slash) owned by this test. */
  readonly root: string;
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of stream) parts.push(p);
  return new Uint8Array(Buffer.concat(parts));
}

/** Registers the contract tests; `fixture()` is called once per test. */
export function blobStoreContract(name: string, fixture: () => Promise<ContractFixture>): void {
  describe(`BlobStore contract: ${name}`, () => {
    it('reads back what was written, as bytes or string', async () => {
      const { store, root } = await fixture();
      const a = joinUri(root, 'a.bin');
      await store.write(a, new Uint8Array([0, 1, 2, 255]));
      await store.write(joinUri(root, 'b.txt'), 'héllo');

      assert.deepEqual([...(await store.read(a))], [0, 1, 2, 255]);
      assert.equal(text(await store.read(joinUri(root, 'b.txt'))), 'héllo');
    });

    it('overwrites an existing object and creates missing parent folders', async () => {
      const { store, root } = await fixture();
      const uri = joinUri(root, 'deep/er/x.json');
      await store.write(uri, 'old');
      await store.write(uri, 'new!');

      assert.equal(text(await store.read(uri)), 'new!');
      assert.equal((await store.stat(uri))?.sizeBytes, 4);
    });

    it('stat gives size and time, and undefined for a missing object', async () => {
      const { store, root } = await fixture();
      const uri = joinUri(root, 's.txt');
      const before = Date.now();
      await store.write(uri, '12345');

      const info = await store.stat(uri);
      assert.equal(info?.uri, uri);
      assert.equal(info?.sizeBytes, 5);
      // S3 times have 1 s resolution.
      assert.ok(info !== undefined && info.lastModifiedEpochMs >= before - 2000);
      assert.equal(await store.stat(joinUri(root, 'missing.txt')), undefined);
    });

    it('read/readRange/readStream of a missing object throw StorageNotFoundError naming it', async () => {
      const { store, root } = await fixture();
      const uri = joinUri(root, 'nope.bin');

      for (const op of [() => store.read(uri), () => store.readRange(uri, 0, 4), () => collect(store.readStream(uri))]) {
        await assert.rejects(op, (err: unknown) => err instanceof StorageNotFoundError && err.message.includes(uri));
      }
    });

    it('readRange returns [start, end), empty for start === end, and stops at the end of the object', async () => {
      const { store, root } = await fixture();
      const uri = joinUri(root, 'r.bin');
      await store.write(uri, new Uint8Array(Array.from({ length: 100 }, (_, i) => i)));

      assert.deepEqual([...(await store.readRange(uri, 10, 14))], [10, 11, 12, 13]);
      assert.equal((await store.readRange(uri, 50, 50)).length, 0);
      assert.deepEqual([...(await store.readRange(uri, 98, 120))], [98, 99]);
    });

    it('streams a multi-megabyte object intact', async () => {
      const { store, root } = await fixture();
      const uri = joinUri(root, 'big.bin');
      const data = new Uint8Array(3 * 1024 * 1024 + 17);
      for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
      await store.write(uri, data);

      const back = await collect(store.readStream(uri));
      assert.equal(back.length, data.length);
      assert.ok(Buffer.from(back).equals(Buffer.from(data)));
      assert.deepEqual([...(await store.readRange(uri, 2_000_000, 2_000_004))], [...data.subarray(2_000_000, 2_000_004)]);
    });

    it('readWithSha256 gives the whole object and its sha256 (multi-megabyte, small and empty objects)', async () => {
      const { store, root } = await fixture();
      const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 7919) % 251);
      for (const [name, data] of [
        ['big.bin', big],
        ['small.bin', new Uint8Array([1, 2, 3])],
        ['empty.bin', new Uint8Array(0)],
      ] as const) {
        const uri = joinUri(root, name);
        await store.write(uri, data);
        const r = await store.readWithSha256(uri);
        assert.equal(r.data.length, data.length, name);
        assert.ok(Buffer.from(r.data).equals(Buffer.from(data)), name);
        assert.equal(r.sha256, createHash('sha256').update(data).digest('hex'), name);
        assert.ok(r.by === 'read' || r.by === 'store');
      }
      await assert.rejects(store.readWithSha256(joinUri(root, 'nope.bin')), StorageNotFoundError);
    });

    it('lists recursively, sorted, filtered by string prefix, in the URI style given', async () => {
      const { store, root } = await fixture();
      const keys = [
        'logs/dt=2024-01-02/p1.parquet',
        'logs/dt=2024-01-01/p0.parquet',
        'logs/dt=2024-01-01/_SUCCESS',
        'logsx/other.csv',
        'top.txt',
      ];
      for (const k of keys) await store.write(joinUri(root, k), k);

      const folder = await store.list(`${joinUri(root, 'logs')}/`);
      assert.deepEqual(
        folder.map((b) => b.uri),
        ['logs/dt=2024-01-01/_SUCCESS', 'logs/dt=2024-01-01/p0.parquet', 'logs/dt=2024-01-02/p1.parquet'].map((k) => joinUri(root, k)),
      );
      assert.equal(folder[1]?.sizeBytes, 'logs/dt=2024-01-01/p0.parquet'.length);

      const partial = await store.list(joinUri(root, 'logs/dt=2024-01-0'));
      assert.equal(partial.length, 3);
      const all = await store.list(joinUri(root, 'log'));
      assert.deepEqual(all.map((b) => b.uri).at(-1), joinUri(root, 'logsx/other.csv'));
      // Listed URIs are usable as-is.
      assert.equal(text(await store.read(folder[2]!.uri)), 'logs/dt=2024-01-02/p1.parquet');
    });

    it('lists many objects across pages', async () => {
      const { store, root } = await fixture();
      const names = Array.from({ length: 7 }, (_, i) => `many/k${i}.txt`);
      await Promise.all(names.map((n) => store.write(joinUri(root, n), n)));

      const listed = await store.list(`${joinUri(root, 'many')}/`);
      assert.deepEqual(
        listed.map((b) => b.uri),
        names.map((n) => joinUri(root, n)),
      );
    });

    it('lists nothing under a missing prefix', async () => {
      const { store, root } = await fixture();
      assert.deepEqual(await store.list(`${joinUri(root, 'none')}/`), []);
    });

    it('deletes an object, and deleting a missing one is not an error', async () => {
      const { store, root } = await fixture();
      const uri = joinUri(root, 'd.txt');
      await store.write(uri, 'x');
      await store.delete(uri);
      await store.delete(uri);

      assert.equal(await store.stat(uri), undefined);
      assert.deepEqual(await store.list(joinUri(root, 'd')), []);
    });
  });
}

/**
 * Conditional writes, for stores that honour them (the folder store, S3). s3rver ignores
 * If-None-Match / If-Match, so its fixture runs only `blobStoreContract`; S3's request shape is
 * checked with the in-memory SDK mock, which answers as S3 does.
 */
export function conditionalWriteContract(name: string, fixture: () => Promise<ContractFixture>): void {
  describe(`BlobStore conditional writes: ${name}`, () => {
    it('ifNoneMatch creates once: the second create fails and leaves the first bytes', async () => {
      const { store, root } = await fixture();
      const uri = joinUri(root, 'lock.json');
      const first = await store.write(uri, 'one', { ifNoneMatch: '*' });
      await assert.rejects(store.write(uri, 'two', { ifNoneMatch: '*' }), StoragePreconditionError);
      const got = await store.readVersioned(uri);
      assert.equal(text(got!.data), 'one');
      assert.equal(got!.etag, first.etag);
      assert.deepEqual(
        (await store.list(`${root}/`)).map((b) => b.uri),
        [uri],
      );
    });

    it('of many racing creates exactly one wins', async () => {
      const { store, root } = await fixture();
      const uri = joinUri(root, 'race.json');
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.write(uri, `w${i}`, { ifNoneMatch: '*' })));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof StoragePreconditionError);
    });

    it('ifMatch replaces only the version that was read: a stale etag fails, the fresh one wins', async () => {
      const { store, root } = await fixture();
      const uri = joinUri(root, 'registry.json');
      await store.write(uri, 'v1');
      const seen = await store.readVersioned(uri);
      const stat = await store.stat(uri);
      assert.equal(stat?.etag, seen!.etag);
      const second = await store.write(uri, 'v2', { ifMatch: seen!.etag });
      assert.notEqual(second.etag, seen!.etag);
      await assert.rejects(store.write(uri, 'v3 from a stale read', { ifMatch: seen!.etag }), StoragePreconditionError);
      assert.equal(text(await store.read(uri)), 'v2');
      await store.write(uri, 'v3', { ifMatch: second.etag });
      assert.equal(text(await store.read(uri)), 'v3');
    });

    it('of two read-modify-writes from the same version exactly one wins', async () => {
      const { store, root } = await fixture();
      const uri = joinUri(root, 'watermark.json');
      await store.write(uri, '0');
      const seen = await store.readVersioned(uri);
      const results = await Promise.allSettled([
        store.write(uri, 'a', { ifMatch: seen!.etag }),
        store.write(uri, 'b', { ifMatch: seen!.etag }),
      ]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const winner = results.findIndex((r) => r.status === 'fulfilled');
      assert.equal(text(await store.read(uri)), winner === 0 ? 'a' : 'b');
    });

    it('readRange and readStream with ifMatch read only that version: a replaced object fails', async () => {
      const { store, root } = await fixture();
      const uri = joinUri(root, 'log.csv');
      await store.write(uri, 'x\n1\n');
      const listed = (await store.list(`${root}/`))[0]!.etag!;
      assert.equal(text(await collect(store.readStream(uri, { ifMatch: listed }))), 'x\n1\n');
      assert.equal(text(await store.readRange(uri, 0, 1, { ifMatch: listed })), 'x');
      await store.write(uri, 'x\n2\n');
      await assert.rejects(collect(store.readStream(uri, { ifMatch: listed })), StoragePreconditionError);
      await assert.rejects(store.readRange(uri, 0, 1, { ifMatch: listed }), StoragePreconditionError);
    });

    it('ifMatch on a missing object fails; readVersioned of a missing object is undefined', async () => {
      const { store, root } = await fixture();
      const uri = joinUri(root, 'gone.json');
      assert.equal(await store.readVersioned(uri), undefined);
      await assert.rejects(store.write(uri, 'x', { ifMatch: '"abc"' }), StoragePreconditionError);
      assert.equal(await store.stat(uri), undefined);
    });
  });
}
