import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseConfig, parseConfigText } from '../../src/config/index.ts';
import { isHoldoutValue } from '../../src/data/row-split.ts';
import { evaluateModel } from '../../src/evaluation/evaluate.ts';
import { loadTrainableModel } from '../../src/model/trainable-model.ts';
import { trainModel } from '../../src/training/train.ts';
import { prepareTuningData, TuningDataError } from '../../src/tuning/data.ts';
import { activeSpace, aloneTrials, type SearchDimension } from '../../src/tuning/search-space.ts';
import { halvingSchedule, trialsTable, tune } from '../../src/tuning/tune.ts';
import { TINY_CONFIG, tinyChunk, tinyConfig } from '../helpers/tiny-data.ts';
import { writeTinyParquet } from '../helpers/tiny-files.ts';

let dir: string;
let logs: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-tune-'));
  logs = join(dir, 'logs.parquet');
  await writeTinyParquet(logs, tinyChunk({ rows: 1500, seed: 11 }));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// A small space keeps the test fast; the real one is SEARCH_SPACE.
const SPACE: SearchDimension[] = [
  { path: 'optimizer.ftrl.alpha', part: 'wide', kind: 'log', min: 0.05, max: 2 },
  { path: 'optimizer.adagrad.learningRate', part: 'deep', kind: 'log', min: 0.01, max: 0.3 },
  { path: 'deep.hiddenUnits', part: 'deep', kind: 'choice', values: [[8], [8, 4]] },
  { path: 'deep.noSuchKnob', part: 'deep', kind: 'choice', values: [1] },
];

test('the halving schedule: epochs ×eta, trials ÷eta, down to one or the last rung', () => {
  assert.deepEqual(halvingSchedule(27, 1, 9, 3), [
    { rung: 0, epochs: 1, trials: 27 },
    { rung: 1, epochs: 3, trials: 9 },
    { rung: 2, epochs: 9, trials: 3 },
  ]);
  assert.deepEqual(halvingSchedule(8, 1, 10, 2), [
    { rung: 0, epochs: 1, trials: 8 },
    { rung: 1, epochs: 2, trials: 4 },
    { rung: 2, epochs: 4, trials: 2 },
    { rung: 3, epochs: 8, trials: 1 },
  ]);
  // the last rung is capped at maxEpochs
  assert.deepEqual(
    halvingSchedule(9, 2, 5, 3).map((r) => r.epochs),
    [2, 5],
  );
  assert.throws(() => halvingSchedule(0, 1, 9, 3), /trials must be an integer ≥ 1, got 0/);
  assert.throws(() => halvingSchedule(9, 3, 2, 3), /max epochs must be an integer ≥ min epochs \(3\), got 2/);
});

test('a search space row the schema does not know is left out and named', () => {
  const s = activeSpace(tinyConfig(), 'wide_deep', SPACE);
  assert.deepEqual(
    s.dimensions.map((d) => d.path),
    ['optimizer.ftrl.alpha', 'optimizer.adagrad.learningRate', 'deep.hiddenUnits'],
  );
  assert.equal(s.skipped[0]!.path, 'deep.noSuchKnob');
  // a wide model is not searched over deep knobs
  assert.deepEqual(
    activeSpace(tinyConfig(), 'wide', SPACE).dimensions.map((d) => d.path),
    ['optimizer.ftrl.alpha'],
  );
});

test('deep.defaultEmbeddingDim is not searched when no embedding uses it (every one has its own embeddingDims), and the log says so', async () => {
  const dim: SearchDimension = { path: 'deep.defaultEmbeddingDim', part: 'deep', kind: 'choice', values: [4, 8, 16, 32] };
  const space = [...SPACE, dim];
  // Two of three embeddings with their own dims: the default still sizes `tags`, so it is searched.
  const some = tinyConfig({ deep: { ...TINY_CONFIG.deep!, embeddingDims: { user: 8, item: 6 } } });
  assert.ok(activeSpace(some, 'wide_deep', space).dimensions.some((d) => d.path === 'deep.defaultEmbeddingDim'));
  // All three: every trial would differ only in a value nothing reads.
  const all = tinyConfig({ deep: { ...TINY_CONFIG.deep!, embeddingDims: { user: 8, item: 6, tags: 3 } } });
  const s = activeSpace(all, 'wide_deep', space);
  assert.equal(
    s.dimensions.some((d) => d.path === 'deep.defaultEmbeddingDim'),
    false,
  );
  assert.deepEqual(
    s.skipped.find((k) => k.path === 'deep.defaultEmbeddingDim'),
    {
      path: 'deep.defaultEmbeddingDim',
      reason: 'every feature in deep.embeddings sets its own deep.embeddingDims: no embedding uses it',
    },
  );
  // No embeddings at all: the same.
  const none = tinyConfig({ deep: { embeddings: [], numeric: ['x'], hiddenUnits: [8, 4] } });
  assert.equal(
    activeSpace(none, 'wide_deep', space).skipped.find((k) => k.path === 'deep.defaultEmbeddingDim')?.reason,
    'deep.embeddings is empty: no embedding uses it',
  );
  // Through tune: no trial samples it, the trials table has no column for it, the record names it.
  const data = await prepareTuningData({ config: all, data: [logs], validationColumn: 'user' });
  const lines: string[] = [];
  const r = await tune({ config: all, data, trials: 3, maxEpochs: 1, eta: 3, seed: 2, space, backend: 'onnx', log: (l) => lines.push(l) });
  assert.ok(r.trials.every((t) => !('deep.defaultEmbeddingDim' in t.params)));
  assert.doesNotMatch(trialsTable(r), /defaultEmbeddingDim/);
  assert.ok(r.config.tuning!.notSearched.includes('deep.defaultEmbeddingDim'));
  assert.ok(
    lines.includes(
      'not searched: deep.defaultEmbeddingDim (every feature in deep.embeddings sets its own deep.embeddingDims: no embedding uses it)',
    ),
    lines.join('\n'),
  );
});

test('tune: the same seed gives the same trials, scores and winner; the rungs follow the schedule', async () => {
  const config = tinyConfig();
  const data = await prepareTuningData({ config, data: [logs], validationColumn: 'user', validationFraction: 0.25 });
  const run = (seed: number) =>
    tune({ config, data, kind: 'wide_deep', trials: 6, minEpochs: 1, maxEpochs: 4, eta: 2, seed, space: SPACE, backend: 'onnx' });
  const a = await run(5);
  const b = await run(5);
  assert.deepEqual(
    a.trials.map((t) => [t.params, t.epochs, t.score, t.stopped]),
    b.trials.map((t) => [t.params, t.epochs, t.score, t.stopped]),
  );
  assert.equal(a.best.id, b.best.id);
  // everything but the wall time
  const timeless = (r: typeof a) => ({ ...r.config, tuning: { ...r.config.tuning!, seconds: 0 } });
  assert.deepEqual(timeless(a), timeless(b));
  const c = await run(6);
  assert.notDeepEqual(
    a.trials.map((t) => t.params),
    c.trials.map((t) => t.params),
  );

  // 6 trials × 1 epoch, the best 3 to 2 epochs, the best one to 4; trial 0 (the given config) on
  // top of them through every rung.
  assert.deepEqual(
    a.schedule.map((r) => [r.epochs, r.trials]),
    [
      [1, 6],
      [2, 3],
      [4, 1],
    ],
  );
  assert.equal(a.trials[0]!.epochs, 4);
  const epochs = a.trials
    .slice(1)
    .map((t) => t.epochs)
    .sort((x, y) => x - y);
  assert.deepEqual(epochs, [1, 1, 2, 2, 4]);
  assert.equal(a.trials.filter((t) => t.stopped === 'completed').length, 2);
  // the rung-1 survivors are the three best rung-0 scores of the sampled trials (AUC after epoch 1)
  const afterOne = a.trials
    .slice(1)
    .map((t) => ({ id: t.id, auc: t.curve[0]!.auc }))
    .sort((x, y) => y.auc - x.auc || x.id - y.id);
  assert.deepEqual(
    afterOne
      .slice(0, 3)
      .map((t) => t.id)
      .sort(),
    a.trials
      .slice(1)
      .filter((t) => t.epochs >= 2)
      .map((t) => t.id)
      .sort(),
  );
  // each trial's curve has one validation point per epoch trained
  for (const t of a.trials) assert.equal(t.curve.length, t.epochs);
  assert.ok(a.best.score > 0.6, `best validation AUC ${a.best.score}`);
});

test('trial 0 is the given config, is never halved, and the search never ends below it on validation', async () => {
  // A starting point that successive halving would cut after one epoch: α far below the sampled
  // range and an L1 that holds every weight at zero (AUC 0.5; a small α alone scales the weights
  // but hardly changes their ranking, so it is not reliably the worst).
  const config = tinyConfig({ optimizer: { ftrl: { alpha: 0.001, beta: 1, l1: 10, l2: 0 } } });
  const data = await prepareTuningData({ config, data: [logs], validationColumn: 'user', validationFraction: 0.25 });
  const search = {
    config,
    data,
    kind: 'wide',
    trials: 4,
    minEpochs: 1,
    maxEpochs: 4,
    eta: 2,
    seed: 3,
    space: SPACE,
    backend: 'onnx',
  } as const;
  const r = await tune(search);
  const given = r.trials[0]!;
  assert.deepEqual(given.params, { 'optimizer.ftrl.alpha': 0.001 });
  assert.equal(given.epochs, 4);
  assert.equal(given.stopped, 'completed');
  // it was the worst after one epoch, so without the protection it would have been halved
  const firstEpoch = r.trials.map((t) => t.curve[0]!.auc);
  assert.equal(Math.min(...firstEpoch), firstEpoch[0]);
  assert.ok(r.trials.every((t) => !(t.score > r.best.score)));
  assert.ok(r.best.score >= given.score);
  // includeGiven: false samples every trial (trial 0 included) and halves them all alike
  const all = await tune({ ...search, includeGiven: false });
  assert.notEqual(all.trials[0]!.params['optimizer.ftrl.alpha'], 0.001);
  assert.equal(all.trials.filter((t) => t.epochs === 4).length, 1);
});

test('a trial replaces the given config only when it leads by more than minImprovementSe standard errors', async () => {
  const config = tinyConfig({ optimizer: { ftrl: { alpha: 0.05, beta: 1, l1: 0, l2: 0 } } });
  const data = await prepareTuningData({ config, data: [logs], validationColumn: 'user', validationFraction: 0.25 });
  const base = {
    config,
    data,
    kind: 'wide',
    trials: 4,
    minEpochs: 1,
    maxEpochs: 2,
    eta: 2,
    seed: 3,
    space: SPACE,
    backend: 'onnx',
  } as const;
  const plain = await tune({ ...base, minImprovementSe: 0 });
  const strict = await tune({ ...base, minImprovementSe: 1e9 });
  // the same search either way; only the choice differs
  assert.deepEqual(
    plain.trials.map((t) => t.score),
    strict.trials.map((t) => t.score),
  );
  const top = plain.best;
  assert.notEqual(top.id, 0, 'the setup needs a sampled trial on top');
  assert.equal(plain.config.tuning!.overGiven!.keptGiven, false);
  assert.equal(strict.best.id, 0);
  const lead = strict.config.tuning!.overGiven!;
  assert.equal(lead.topTrial, top.id);
  assert.equal(lead.keptGiven, true);
  assert.ok(lead.difference > 0 && lead.standardError > 0, JSON.stringify(lead));
  assert.equal(strict.config.training.epochs, strict.trials[0]!.bestEpoch);
  assert.equal(strict.config.optimizer.ftrl.alpha, 0.05);
  // the default, one standard error: taken exactly when the lead is larger than that
  const oneSe = await tune(base);
  assert.equal(oneSe.best.id === 0, lead.difference <= lead.standardError);
});

test('tune writes a config that records the search, parses and trains', async () => {
  const config = tinyConfig();
  const data = await prepareTuningData({ config, data: [logs], validationColumn: 'user' });
  const r = await tune({ config, data, trials: 4, maxEpochs: 2, eta: 2, seed: 1, space: SPACE, backend: 'onnx' });
  const text = JSON.stringify(r.config, null, 2);
  const reread = parseConfigText(text, 'wdp.config.json');
  const tuning = reread.tuning!;
  assert.equal(tuning.seed, 1);
  assert.equal(tuning.trials.length, 4);
  assert.equal(tuning.best.trial, r.best.id);
  assert.deepEqual(tuning.notSearched, ['deep.noSuchKnob']);
  assert.equal(tuning.validation.kind, 'hash');
  assert.equal(reread.training.epochs, r.best.bestEpoch);
  assert.equal(reread.optimizer.ftrl.alpha, r.best.params['optimizer.ftrl.alpha']);
  assert.deepEqual(reread.deep.hiddenUnits, r.best.params['deep.hiddenUnits']);
  // the rest of the config is the user's
  assert.deepEqual(reread.features, config.features);
  const out = join(dir, 'tuned-model');
  const trained = await trainModel({ config: reread, data: [logs], out, progress: false, backend: 'onnx' });
  assert.equal(trained.manifest.config.tuning?.best.trial, r.best.id);
  const loaded = await loadTrainableModel(out, { backend: 'onnx' });
  try {
    const m = await evaluateModel(loaded, [logs]);
    assert.ok(m.auc > 0.6, `AUC ${m.auc}`);
  } finally {
    loaded.model.dispose();
  }
});

test('scoring never touches the hash holdout: its rows are not even read into training or validation', async () => {
  // Holdout rows get a label that cannot be read: encoding any of them fails with onBadRow "error".
  const chunk = tinyChunk({ rows: 1200, seed: 12 });
  const users = chunk.columns.get('user') as string[];
  const fraction = 0.3;
  const holdoutRows = users.filter((u) => isHoldoutValue(u, fraction)).length;
  assert.ok(holdoutRows > 100 && holdoutRows < 1100, `${holdoutRows} holdout rows`);
  const f = join(dir, 'poisoned.parquet');
  await writeTinyParquet(f, chunk, (cols) =>
    cols.map((c) =>
      c.name === 'y' ? { ...c, data: (c.data as number[]).map((y, i) => (isHoldoutValue(users[i], fraction) ? 7 : y)) } : c,
    ),
  );
  const config = parseConfig({ ...TINY_CONFIG, holdout: { kind: 'hash', fraction, column: 'user' } });
  const data = await prepareTuningData({ config, data: [f], validationFraction: 0.25 });
  assert.equal(data.train.size + data.validation.size, 1200 - holdoutRows);
  assert.ok(data.validation.size > 0 && data.train.size > data.validation.size);
  assert.deepEqual(data.validationSource, { kind: 'hash', column: 'user', fraction: 0.25 });
  const r = await tune({ config, data, kind: 'wide', trials: 2, maxEpochs: 1, seed: 2, space: SPACE });
  assert.equal(r.config.tuning?.validationRows, data.validation.size);
  // the same file without the holdout rule fails on the first poisoned label: the test has teeth
  await assert.rejects(prepareTuningData({ config: tinyConfig(), data: [f], validationColumn: 'user' }), /label must be 0 or 1, got 7/);
});

test('tune needs validation rows: without --validation or a column to hash, it says how to give them', async () => {
  await assert.rejects(
    prepareTuningData({ config: tinyConfig(), data: [logs] }),
    /tuning needs validation rows: pass --validation PATH, or a column to hash/,
  );
  await assert.rejects(
    prepareTuningData({ config: tinyConfig(), data: [logs], validationColumn: 'user', maxRows: 100 }),
    /stops at 100 rows/,
  );
});

test('tune --validation that is a --data file (or under a --data folder, or a symlink to one) is refused before anything is read', async () => {
  const refused = (e: unknown) =>
    e instanceof TuningDataError &&
    /validation rows would be training rows too/.test(e.message) &&
    /leave --validation out to validate on a hashed share of --data/.test(e.message);
  const link = join(dir, 'same-logs.parquet');
  await symlink(logs, link);
  await assert.rejects(prepareTuningData({ config: tinyConfig(), data: [logs], validation: [logs] }), refused);
  await assert.rejects(prepareTuningData({ config: tinyConfig(), data: [logs], validation: [link] }), refused);
  await assert.rejects(prepareTuningData({ config: tinyConfig(), data: [dir], validation: [logs] }), refused);
});

test('switches marked alone are tried on the given config by themselves (trials 1…k), then trials are drawn', async () => {
  const space: SearchDimension[] = [
    { path: 'optimizer.ftrl.alpha', part: 'wide', kind: 'log', min: 0.05, max: 2 },
    { path: 'wide.init', part: 'wide', kind: 'choice', values: ['zeros', 'logistic-regression'], alone: true },
    { path: 'deep.numericPieces', part: 'deep', kind: 'choice', values: [1, 4, 16], alone: true },
  ];
  const config = tinyConfig({ deep: { ...TINY_CONFIG.deep!, numericPieces: 4 } });
  // The config's own value is not repeated (pieces 4), an unset knob counts as values[0] (zeros).
  assert.deepEqual(
    aloneTrials(config, space, { 'optimizer.ftrl.alpha': 0.1, 'deep.numericPieces': 4 }).map((a) => a.change),
    ['wide.init "logistic-regression"', 'deep.numericPieces 1', 'deep.numericPieces 16'],
  );
  // A wide.init object (its own L2) equals no choice: both are tried alone.
  const ownInit = tinyConfig({ wide: { ...TINY_CONFIG.wide!, init: { kind: 'logistic-regression', l2: 0.01 } } });
  assert.deepEqual(
    aloneTrials(ownInit, space.slice(0, 2), {}).map((a) => a.change),
    ['wide.init "zeros"', 'wide.init "logistic-regression"'],
  );
  // Without deep numerics the pieces are not searched at all.
  const noNumerics = tinyConfig({ deep: { ...TINY_CONFIG.deep!, numeric: [] } });
  assert.match(
    activeSpace(noNumerics, 'wide_deep', space)
      .skipped.map((s) => `${s.path}: ${s.reason}`)
      .join(),
    /deep\.numericPieces: deep\.numeric is empty/,
  );

  const data = await prepareTuningData({ config, data: [logs], validationColumn: 'user', validationFraction: 0.25 });
  const lines: string[] = [];
  const search = {
    config,
    data,
    trials: 6,
    minEpochs: 1,
    maxEpochs: 1,
    seed: 5,
    space,
    backend: 'onnx',
    log: (l: string) => lines.push(l),
  } as const;
  const r = await tune(search);
  const alpha = config.optimizer.ftrl.alpha;
  assert.deepEqual(
    r.trials.slice(0, 4).map((t) => t.params),
    [
      { 'optimizer.ftrl.alpha': alpha, 'deep.numericPieces': 4 },
      { 'optimizer.ftrl.alpha': alpha, 'deep.numericPieces': 4, 'wide.init': 'logistic-regression' },
      { 'optimizer.ftrl.alpha': alpha, 'deep.numericPieces': 1 },
      { 'optimizer.ftrl.alpha': alpha, 'deep.numericPieces': 16 },
    ],
  );
  // Trials 4 and 5 are drawn: every knob sampled.
  for (const t of r.trials.slice(4))
    assert.deepEqual(Object.keys(t.params).sort(), ['deep.numericPieces', 'optimizer.ftrl.alpha', 'wide.init']);
  assert.ok(
    lines.some((l) =>
      l.startsWith(
        'trials 1–3: the given config with one switch changed (wide.init "logistic-regression"; deep.numericPieces 1; deep.numericPieces 16)',
      ),
    ),
    lines.join('\n'),
  );
  // A budget too small for them all keeps the first ones; without trial 0 there are none.
  const small = await tune({ ...search, trials: 2 });
  assert.deepEqual(small.trials[1]!.params, r.trials[1]!.params);
  const none = await tune({ ...search, trials: 2, includeGiven: false });
  assert.ok(none.trials.every((t) => Object.keys(t.params).length === 3));
});
