/**
 * What a writer killed mid-write leaves beside a state document (`kill -9` between its lock
 * file's create and remove, or between its temp file and the rename), and the next write.
 * Before the fix: a dead writer's lock file counted as stale only after 30 s while a writer waits
 * 10 s, so the next compare-and-swap write failed ("another writer has held … for over 10 s"),
 * and temp files piled up.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FileStore } from '../../src/storage/file-store.ts';

const roots: string[] = [];
after(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));
async function documentIn(): Promise<{ dir: string; uri: string; etag: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'wdp-file-store-crash-'));
  roots.push(dir);
  const uri = join(dir, 'doc.json');
  const { etag } = await new FileStore().write(uri, '{"v":1}', { ifNoneMatch: '*' });
  return { dir, uri, etag };
}
/** Above any pid_max: no such process. */
const DEAD_PID = 2 ** 22 + 1;
const longAgo = new Date(Date.now() - 3600_000);

describe('FileStore after a killed writer', () => {
  it('a lock file left by a dead process of this host is taken over at once', async () => {
    const { dir, uri, etag } = await documentIn();
    await writeFile(join(dir, '.doc.json.wdp-tmp-lock'), `${DEAD_PID}@${hostname()}`);
    const started = Date.now();
    await new FileStore().write(uri, '{"v":2}', { ifMatch: etag });
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.deepEqual(await readdir(dir), ['doc.json']);
  });

  it('a lock file naming a pid of this host that another process has since taken is taken over at once', {
    skip: process.platform !== 'linux',
  }, async () => {
    const { dir, uri, etag } = await documentIn();
    // Our own pid with a start that is not ours: what a restarted container finds.
    await writeFile(join(dir, '.doc.json.wdp-tmp-lock'), `${process.pid}@${hostname()}\n0123abcd:5`);
    const started = Date.now();
    await new FileStore().write(uri, '{"v":2}', { ifMatch: etag });
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.deepEqual(await readdir(dir), ['doc.json']);
  });

  it('a lock file that names no process is taken over once older than the stale age', async () => {
    const { dir, uri, etag } = await documentIn();
    const lock = join(dir, '.doc.json.wdp-tmp-lock');
    await writeFile(lock, '');
    await utimes(lock, longAgo, longAgo);
    await new FileStore().write(uri, '{"v":2}', { ifMatch: etag });
    assert.deepEqual(await readdir(dir), ['doc.json']);
  });

  it('old temp files of the document are removed by its next conditional write, and never listed', async () => {
    const { dir, uri, etag } = await documentIn();
    const old = join(dir, '.doc.json.wdp-tmp-0123456789ab');
    const young = join(dir, '.doc.json.wdp-tmp-ba9876543210');
    await writeFile(old, '{"v":');
    await utimes(old, longAgo, longAgo);
    await writeFile(young, '{"v":');
    const store = new FileStore();
    assert.deepEqual(
      (await store.list(`${dir}/`)).map((b) => b.uri),
      [uri],
    );
    await store.write(uri, '{"v":2}', { ifMatch: etag });
    // The young one may be a live writer's: kept.
    assert.deepEqual((await readdir(dir)).sort(), ['.doc.json.wdp-tmp-ba9876543210', 'doc.json']);
  });
});
