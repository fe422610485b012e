import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Server } from 'node:http';
import { serve } from '../../src/scoring/serve.ts';
import { Scorer } from '../../src/scoring/scorer.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';

let dir: string;
let server: Server;
let base: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-serve-'));
  const uri = await saveTinyModel(dir, 'm');
  const s = await serve({ modelUri: uri, port: 0, scorerOptions: { backend: 'js' } });
  server = s.server;
  base = `http://127.0.0.1:${s.port}/`;
});
after(async () => {
  await new Promise((r) => server.close(r));
  Scorer.clearCache();
  await rm(dir, { recursive: true, force: true });
});

test('wdp serve answers a scoring request over HTTP on localhost', async () => {
  const res = await fetch(base, {
    method: 'POST',
    body: JSON.stringify({
      context: { user: 'u1' },
      candidates: [
        { item: 'i1', x: 0.1 },
        { item: 'i2', x: 0.4 },
      ],
      topK: 1,
    }),
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { modelVersion: string; scores: number[]; ranked: unknown[] };
  assert.equal(body.modelVersion, 'm-m');
  assert.equal(body.scores.length, 2);
  assert.equal(body.ranked.length, 1);
});

test('wdp serve answers a bad request with 400 and its message', async () => {
  const res = await fetch(base, { method: 'POST', body: '{not json' });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { error: string }).error, 'request body is not valid JSON');
});
