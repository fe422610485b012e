import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createScoreHandler } from '../../src/scoring/handler.ts';
import { Scorer } from '../../src/scoring/scorer.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';

let dir: string;
let model: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-preload-'));
  model = await saveTinyModel(dir, 'm');
});
after(async () => {
  Scorer.clearCache();
  await rm(dir, { recursive: true, force: true });
});

const REQUEST = { context: { user: 'u1' }, candidates: [{ item: 'i1', x: 0.2 }] };

test('preload: the model loads when the handler is built (the Lambda init phase), once, before any event', async () => {
  let loads = 0;
  let loaded!: () => void;
  const done = new Promise<void>((r) => {
    loaded = r;
  });
  const handle = createScoreHandler({
    modelUri: model,
    preload: true,
    scorerOptions: { backend: 'js', cache: false },
    loadScorer: async (uri, o) => {
      loads++;
      const s = await Scorer.load(uri, o);
      loaded();
      return s;
    },
  });
  await done;
  assert.equal(loads, 1);
  const r = (await handle(REQUEST)) as { scores: number[] };
  assert.equal(r.scores.length, 1);
  assert.equal(loads, 1);
});

test('a failed preload is logged and not kept: the first event loads again', async () => {
  let loads = 0;
  const errors: string[] = [];
  const handle = createScoreHandler({
    modelUri: model,
    preload: true,
    scorerOptions: { backend: 'js', cache: false },
    logger: { info: () => {}, warn: () => {}, error: (m) => errors.push(m) },
    loadScorer: async (uri, o) => {
      loads++;
      if (loads === 1) throw new Error('S3 was unreachable');
      return Scorer.load(uri, o);
    },
  });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(errors, ['model failed to load']);
  const r = (await handle(REQUEST)) as { scores: number[] };
  assert.equal(r.scores.length, 1);
  assert.equal(loads, 2);
});
