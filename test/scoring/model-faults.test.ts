/**
 * Faults of the model, not of the request, met while scoring: non-finite scores from a table the
 * load does not scan, ONNX Runtime refusing a tower, and the scorer cache handing out a model
 * another folder holds.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ModelLoadError } from '../../src/model/errors.ts';
import { decodeTensors, encodeTensors } from '../../src/model/safetensors.ts';
import { createSplitTower } from '../../src/scoring/create-split-tower.ts';
import { NonFiniteScoresError, RequestError, TowerRefusedError } from '../../src/scoring/errors.ts';
import { createScoreHandler, type ErrorBody } from '../../src/scoring/handler.ts';
import { Scorer } from '../../src/scoring/scorer.ts';
import { tinyChunk } from '../helpers/tiny-data.ts';
import { resign, setTensorValue } from '../helpers/model-edit.ts';
import { tinyModelScratch } from '../helpers/tiny-model.ts';

const scratch = tinyModelScratch('wdp-model-faults-');

/** The embedding id of a vocabulary token (tokens[i] has id i + 1; 0 is OOV). */
async function tokenId(uri: string, feature: string, token: string): Promise<number> {
  const m = JSON.parse(await readFile(join(uri, 'manifest.json'), 'utf8'));
  const i = (m.transforms.features[feature].tokens as string[]).indexOf(token);
  assert.ok(i >= 0, `${token} is in the vocabulary`);
  return i + 1;
}

/** A copy of the good model whose item embedding row for `token` is NaN (the load does not scan tables). */
async function withNanItem(token: string): Promise<string> {
  const m = await scratch.copyOf(scratch.good);
  const id = await tokenId(m, 'item', token);
  // defaultEmbeddingDim 4 in the tiny config.
  for (let j = 0; j < 4; j++) await setTensorValue(join(m, 'serving.safetensors'), 'embedding/item', id * 4 + j, Number.NaN);
  await resign(m);
  return m;
}

const request = (items: string[]) => ({ context: { user: 'u1', x: 0.3 }, candidates: items.map((item) => ({ item, tags: ['t1'] })) });

for (const backend of ['js', 'onnx'] as const) {
  test(`a NaN embedding row: Scorer.score throws a ScoringError naming how many and the first candidate, not a null score (${backend})`, async () => {
    const m = await withNanItem('i2');
    const scorer = await Scorer.load(m, { cache: false, backend });
    try {
      // i1 and i3 score as usual.
      const ok = await scorer.score(request(['i1', 'i3']));
      assert.ok(ok.scores.every(Number.isFinite));
      await assert.rejects(scorer.score(request(['i1', 'i2', 'i3', 'i2'])), (e: unknown) => {
        assert.ok(e instanceof NonFiniteScoresError && !(e instanceof RequestError));
        assert.equal(e.count, 2);
        assert.equal(e.first, 1);
        assert.match(e.message, /^2 of 4 scores are not finite \(first: candidate 1, logit NaN\)/);
        return true;
      });
    } finally {
      scorer.dispose();
    }
  });
}

test('an infinite wide weight: refused, not served as a score of exactly 1', async () => {
  const m = await scratch.copyOf(scratch.good);
  const file = join(m, 'serving.safetensors');
  const tensors = decodeTensors(await readFile(file), 'serving.safetensors');
  tensors.get('wide')!.data.fill(Number.POSITIVE_INFINITY);
  await writeFile(file, encodeTensors(tensors, { format: 'wdp-serving' }));
  await resign(m);
  const scorer = await Scorer.load(m, { cache: false });
  try {
    await assert.rejects(scorer.score(request(['i1', 'i2'])), /2 of 2 scores are not finite \(first: candidate 0, logit Infinity\)/);
  } finally {
    scorer.dispose();
  }
});

test('batch scoring (scoreChunk) fails rather than return NaN, naming the chunk row', async () => {
  const m = await withNanItem('i2');
  const scorer = await Scorer.load(m, { cache: false });
  try {
    const chunk = tinyChunk({ rows: 40, seed: 5 });
    const items = chunk.columns.get('item') as ArrayLike<unknown>;
    const rows = Array.from({ length: chunk.numRows }, (_, r) => r).filter((r) => items[r] === 'i2');
    assert.ok(rows.length > 0 && rows[0]! > 0, 'the chunk has i2 rows, not first');
    await assert.rejects(scorer.scoreChunk(chunk), (e: unknown) => {
      assert.ok(e instanceof NonFiniteScoresError);
      assert.equal(e.count, rows.length);
      assert.equal(e.first, rows[0]);
      assert.match(e.message, new RegExp(`${rows.length} of 40 rows scored not finite \\(first: row ${rows[0]} of the chunk\\)`));
      return true;
    });
    // Several tower runs per chunk: the whole chunk is counted.
    await assert.rejects(scorer.model.scoreRows(scorer.transforms.encode(chunk, { withLabels: false }).batch, 7), (e: unknown) => {
      assert.ok(e instanceof NonFiniteScoresError);
      assert.equal(e.count, rows.length);
      assert.equal(e.first, rows[0]);
      return true;
    });
  } finally {
    scorer.dispose();
  }
});

test('the scoring handler answers non-finite scores 500 and logs them (the model is at fault, not the caller)', async () => {
  const m = await withNanItem('i2');
  const errors: string[] = [];
  const handle = createScoreHandler({
    modelUri: m,
    scorerOptions: { cache: false },
    logger: { info: () => {}, warn: () => {}, error: (_message, ...extra) => errors.push(String(extra[0]?.error)) },
  });
  const r = (await handle(request(['i2']))) as ErrorBody;
  assert.equal(r.statusCode, 500);
  assert.doesNotMatch(r.error, /finite/, 'no internals reach the caller');
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /1 of 1 scores are not finite/);
});

test('ONNX Runtime refusing a tower is thrown, not hidden behind a plain-JS fallback that fails too', async () => {
  // W1 too short for the shape: what a manifest whose hiddenUnits did not fit its weights gave ORT
  // (the load now refuses such a model first; this is the tower factory's own contract).
  const weights = {
    shape: { inputDim: 4, hiddenUnits: [3] },
    tensors: { W0: new Float32Array(4 * 3), b0: new Float32Array(3), W1: new Float32Array(2), b1: new Float32Array(1) },
  };
  const logs: string[] = [];
  const options = { itemRows: Int32Array.of(0, 1), userRows: Int32Array.of(2, 3) };
  for (const kind of ['auto', 'onnx'] as const)
    await assert.rejects(
      createSplitTower(kind, weights, options, (l) => logs.push(l)),
      (e: unknown) => {
        assert.ok(e instanceof TowerRefusedError);
        assert.match(e.message, /^ONNX Runtime refused the scoring tower: /);
        return true;
      },
    );
  assert.deepEqual(logs, [], 'no fallback, and no line blaming the install');
});

test('the scorer cache is per folder: a copy with the same model id is read and checked, not handed the cached scorer', async () => {
  Scorer.clearCache();
  try {
    const a = await Scorer.load(scratch.good, { backend: 'js' });
    const intact = await scratch.copyOf(scratch.good);
    const corrupt = await scratch.copyOf(scratch.good);
    const file = join(corrupt, 'serving.safetensors');
    const bytes = await readFile(file);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    await writeFile(file, bytes);

    await assert.rejects(
      Scorer.load(corrupt, { backend: 'js' }),
      (e: unknown) => e instanceof ModelLoadError && /serving\.safetensors is corrupted/.test(e.message) && e.uri === corrupt,
    );
    const b = await Scorer.load(intact, { backend: 'js' });
    assert.notEqual(b, a);
    assert.equal(b.uri, intact);
    assert.equal(b.modelVersion, a.modelVersion);
    // The cache still does its job: the same folder and manifest again is the same scorer.
    assert.equal(await Scorer.load(scratch.good, { backend: 'js' }), a);
    assert.equal(a.uri, scratch.good);
  } finally {
    Scorer.clearCache();
  }
});
