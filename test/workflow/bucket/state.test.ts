import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeJson } from '../../../src/workflow/bucket/json-store.ts';
import { layout } from '../../../src/workflow/bucket/layout.ts';
import { advanceWatermark, readRegistryVersioned, StateConflictError, writeRegistry } from '../../../src/workflow/bucket/state.ts';
import { mockS3Memory } from '../../helpers/s3-memory.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
const bucket = async () => {
  const d = await mkdtemp(join(tmpdir(), 'wdp-state-'));
  dirs.push(d);
  return layout(d);
};
const mark = (runId: string, through: string) => ({
  through,
  untrained: [],
  held: [],
  dropped: [],
  files: {},
  runId,
  updatedAt: '2026-01-01T00:00:00Z',
});

describe('registry and watermark writes are compare-and-swap', () => {
  it('a registry write from a stale read fails naming the document, and the other write survives', async () => {
    const l = await bucket();
    const first = await readRegistryVersioned(l);
    assert.equal(first.etag, undefined);
    await writeRegistry(l, { ...first.registry, history: [] }, first.etag);
    // Two writers read the same version; the first one to write wins.
    const a = await readRegistryVersioned(l);
    const b = await readRegistryVersioned(l);
    await writeRegistry(l, { ...a.registry, champion: { version: 1, uri: l.registryModel(1), modelId: 'a' } }, a.etag);
    await assert.rejects(
      writeRegistry(l, { ...b.registry, champion: { version: 1, uri: l.registryModel(1), modelId: 'b' } }, b.etag),
      (e: Error) => e instanceof StateConflictError && /the registry .*registry\.json was changed by another writer/.test(e.message),
    );
    assert.equal((await readRegistryVersioned(l)).registry.champion?.modelId, 'a');
    // Creating when one already exists loses too (both saw none).
    const l2 = await bucket();
    await writeRegistry(l2, first.registry, undefined);
    await assert.rejects(writeRegistry(l2, first.registry, undefined), StateConflictError);
  });

  it('the watermark: a write racing another fails instead of overwriting it; it never moves backwards', async () => {
    const l = await bucket();
    await advanceWatermark(l, mark('r1', '2026-01-02'));
    const results = await Promise.allSettled([
      advanceWatermark(l, mark('r2', '2026-01-03')),
      advanceWatermark(l, mark('r3', '2026-01-04')),
    ]);
    const lost = results.filter((r) => r.status === 'rejected');
    for (const r of lost)
      assert.match(String((r as PromiseRejectedResult).reason), /the watermark .*watermark\.json was changed by another writer/);
    assert.notEqual((await advanceWatermark(l, mark('r0', '2026-01-01'))).runId, 'r0', 'an older run does not move it back');
  });

  it('on S3: the second registry write carries If-Match of the etag read', async () => {
    const s3 = mockS3Memory();
    try {
      const l = layout('s3://wdp-state');
      await writeJson(l.registry, { formatVersion: 1, champion: null, history: [] });
      const read = await readRegistryVersioned(l);
      await writeRegistry(l, read.registry, read.etag);
      const last = s3.puts().at(-1)!;
      assert.equal(last.Key, 'registry/registry.json');
      assert.equal(last.IfMatch, read.etag);
    } finally {
      s3.restore();
    }
  });
});
