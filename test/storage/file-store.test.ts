import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { StorageError, StoragePreconditionError } from '../../src/storage/errors.ts';
import { FileStore } from '../../src/storage/file-store.ts';
import { blobStoreContract, conditionalWriteContract } from './contract.ts';

const roots: string[] = [];
async function tempRoot(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wdp-file-store-'));
  roots.push(dir);
  return dir;
}
after(async () => {
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
});

blobStoreContract('FileStore, plain paths', async () => ({ store: new FileStore(), root: await tempRoot() }));
blobStoreContract('FileStore, file:// URIs', async () => ({ store: new FileStore(), root: pathToFileURL(await tempRoot()).href }));
conditionalWriteContract('FileStore', async () => ({ store: new FileStore(), root: await tempRoot() }));

describe('FileStore', () => {
  it("lists a file that is a symlink to a file (git-annex, DVC, ln -s), with its target's size; not a dangling one", async () => {
    const root = await tempRoot();
    const store = new FileStore();
    await store.write(join(root, 'store', 'blob'), 'twelve bytes');
    await mkdir(join(root, 'logs'), { recursive: true });
    await symlink(join(root, 'store', 'blob'), join(root, 'logs', 'linked.parquet'));
    await symlink(join(root, 'store', 'gone'), join(root, 'logs', 'dangling.parquet'));
    const listed = await store.list(join(root, 'logs/'));
    assert.deepEqual(
      listed.map((b) => [b.uri, b.sizeBytes]),
      [[join(root, 'logs', 'linked.parquet'), 12]],
    );
    assert.deepEqual(listed[0]!.etag, (await store.stat(join(root, 'logs', 'linked.parquet')))?.etag);
  });

  it('lists a file once when a symlink in the listing points to it (a log linked to a sibling is not trained twice)', async () => {
    const root = await tempRoot();
    const store = new FileStore();
    await store.write(join(root, 'logs', 'dt=2026-01-01', 'part-0.parquet'), 'day one');
    await store.write(join(root, 'outside', 'blob'), 'outside');
    await mkdir(join(root, 'logs', 'dt=2026-01-02'), { recursive: true });
    // To a sibling in the listing (left out), twice to one file outside it (listed once).
    await symlink(join(root, 'logs', 'dt=2026-01-01', 'part-0.parquet'), join(root, 'logs', 'dt=2026-01-02', 'again.parquet'));
    await symlink(join(root, 'outside', 'blob'), join(root, 'logs', 'dt=2026-01-02', 'a.parquet'));
    await symlink(join(root, 'outside', 'blob'), join(root, 'logs', 'dt=2026-01-02', 'b.parquet'));
    const listed = await store.list(join(root, 'logs/'));
    assert.deepEqual(
      listed.map((b) => relative(root, b.uri)),
      [join('logs', 'dt=2026-01-01', 'part-0.parquet'), join('logs', 'dt=2026-01-02', 'a.parquet')],
    );
  });

  it('a conditional write onto a folder fails as a storage error naming it, not as a lost race', async () => {
    const root = await tempRoot();
    const store = new FileStore();
    await mkdir(join(root, 'state', 'doc.json'), { recursive: true });
    for (const condition of [{ ifNoneMatch: '*' as const }, { ifMatch: 'x' }]) {
      await assert.rejects(
        store.write(join(root, 'state', 'doc.json'), '{}', condition),
        (e: Error) => e instanceof StorageError && !(e instanceof StoragePreconditionError) && /a folder is at this path/.test(e.message),
      );
    }
  });

  it('keeps relative paths relative when listing', async () => {
    const root = relative(process.cwd(), await tempRoot());
    const store = new FileStore();
    await store.write(`${root}/x/a.txt`, 'a');

    assert.deepEqual(
      (await store.list(`${root}/x/`)).map((b) => b.uri),
      [`${root}/x/a.txt`],
    );
  });

  it('leaves no temp file behind after a write', async () => {
    const root = await tempRoot();
    const store = new FileStore();
    await store.write(join(root, 'f.bin'), new Uint8Array(10));

    assert.deepEqual(await readdir(root), ['f.bin']);
  });
});
