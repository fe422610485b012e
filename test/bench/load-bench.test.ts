/**
 * `wdp bench load` end to end at a toy size: the server child starts, serves varying context
 * sets over loopback, reports its plan cache and RSS, and is stopped. No timing is asserted
 * (the numbers come from running the command itself).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { benchLoad } from '../../src/bench/load-bench.ts';

test('bench load: every request answered, varying context sets evict plans past the cap, RSS sampled', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wdp-load-bench-'));
  try {
    const r = await benchLoad({
      shape: 'small',
      modelDir: join(dir, 'model'),
      concurrency: 3,
      seconds: 2,
      // On a loaded machine 2 s may answer only a few requests: the run goes on until 8 have been.
      minRequests: 8,
      warmupSeconds: 0,
      candidates: 20,
      varyShare: 1,
      planCacheSize: 2,
      allowSpinning: false,
    });
    assert.equal(r.error_count, 0, JSON.stringify(r.error_samples));
    assert.ok(r.requests >= 8, `${r.requests} requests`);
    assert.ok(r.distinct_context_sets > 2);
    assert.equal(r.plan_cache.capacity, 2);
    assert.ok(r.plan_cache.size <= 2);
    assert.equal(r.plan_cache.misses - r.plan_cache.evictions, r.plan_cache.size);
    assert.ok(r.rss_mb.start > 0 && r.rss_mb.after_warmup > 0 && r.rss_mb.end > 0 && r.rss_mb.peak >= r.rss_mb.end);
    assert.ok(r.latency_p99_ms >= r.latency_p50_ms);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
