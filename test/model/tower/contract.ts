/**
 * The one contract every TowerBackend passes: each implementation's test file calls
 * `runTowerContract` with a factory. Expected values come from the float64 ReferenceTower
 * (src/model/tower/reference.ts), whose math is written out in its header.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TowerShapeError } from '../../../src/model/tower/errors.ts';
import { ReferenceTower } from './reference.ts';
import { initialTowerState, makeDropoutMasks } from '../../../src/model/tower/state.ts';
import type { TowerBackend, TowerOptions, TowerShape, TowerState } from '../../../src/model/tower/tower.ts';
import { Rng } from '../../../src/util/random.ts';

export type TowerFactory = (options: TowerOptions) => Promise<TowerBackend>;

export const ADAGRAD = { learningRate: 0.05, initialAccumulator: 0.1, epsilon: 1e-7 } as const;
export const SMALL: TowerShape = { inputDim: 13, hiddenUnits: [8, 4] };
export const MEDIUM: TowerShape = { inputDim: 96, hiddenUnits: [64, 32, 16] };

export function options(shape: TowerShape, seed = 7, state?: TowerState): TowerOptions {
  return { shape, adagrad: ADAGRAD, seed, ...(state ? { state } : {}) };
}

export interface Batch {
  readonly x: Float32Array;
  readonly offset: Float32Array;
  readonly labels: Float32Array;
  readonly batchSize: number;
}

/** A reproducible batch: N(0,1) inputs and offsets, labels ~ Bernoulli(0.4). */
export function makeBatch(shape: TowerShape, batchSize: number, seed: number): Batch {
  const rng = new Rng(seed);
  return {
    x: Float32Array.from({ length: batchSize * shape.inputDim }, () => rng.normal()),
    offset: Float32Array.from({ length: batchSize }, () => 0.5 * rng.normal()),
    labels: Float32Array.from({ length: batchSize }, () => (rng.next() < 0.4 ? 1 : 0)),
    batchSize,
  };
}

/** |a − b| ≤ rtol·|b| + atol elementwise, with the worst offender in the message. */
export function assertClose(actual: Float32Array, expected: Float32Array, rtol: number, atol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const excess = Math.abs(actual[i]! - expected[i]!) - (rtol * Math.abs(expected[i]!) + atol);
    if (!(excess <= worstExcess)) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) assert.fail(`${what}[${worst}] = ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
}

export function assertStatesClose(actual: TowerState, expected: TowerState, rtol: number, atol: number, what: string): void {
  assert.deepEqual(Object.keys(actual.tensors).sort(), Object.keys(expected.tensors).sort(), `${what}: tensor names`);
  for (const name of Object.keys(expected.tensors)) {
    assertClose(actual.tensors[name]!, expected.tensors[name]!, rtol, atol, `${what} ${name}`);
  }
}

export function runTowerContract(label: string, factory: TowerFactory): void {
  describe(`TowerBackend contract: ${label}`, () => {
    test('starts from initialTowerState(options): same seed, same weights as every backend', async () => {
      const tower = await factory(options(SMALL, 11));
      try {
        assertStatesClose(tower.getState(), initialTowerState(options(SMALL, 11)), 0, 0, 'initial');
      } finally {
        tower.dispose();
      }
    });

    for (const [name, shape, B] of [
      ['small', SMALL, 8],
      ['medium', MEDIUM, 40],
    ] as const) {
      test(`forward matches the float64 reference (${name}: ${shape.inputDim}→[${shape.hiddenUnits}], B=${B})`, async () => {
        const tower = await factory(options(shape));
        const ref = new ReferenceTower(options(shape));
        const { x } = makeBatch(shape, B, 1);
        try {
          // float32 accumulation over ≤96 terms: ~1e-6 relative; 1e-4 leaves ample room.
          assertClose(await tower.forward(x, B), await ref.forward(x, B), 1e-4, 1e-6, 'logits');
        } finally {
          tower.dispose();
        }
      });
    }

    for (const [name, shape, B] of [
      ['small', SMALL, 8],
      ['medium', MEDIUM, 32],
    ] as const) {
      test(`five train steps match the reference: logits, dx, weights, accumulators (${name})`, async () => {
        const tower = await factory(options(shape));
        const ref = new ReferenceTower(options(shape));
        try {
          for (let step = 0; step < 5; step++) {
            const batch = makeBatch(shape, B, 100 + step);
            const got = await tower.trainStep(batch);
            const want = await ref.trainStep(batch);
            assertClose(got.logits, want.logits, 1e-3, 1e-5, `step ${step} logits`);
            // dx entries are O(1/B·|W|); atol well under their typical 1e-3 size.
            assertClose(got.dx, want.dx, 1e-3, 1e-6, `step ${step} dx`);
            // AdaGrad's first steps move each weight by ≈ lr·g/√(acc₀+g²): sensitive to g's
            // rounding where g ≈ 0, hence the absolute floor.
            assertStatesClose(tower.getState(), ref.getState(), 1e-3, 1e-5, `step ${step} state`);
          }
        } finally {
          tower.dispose();
        }
      });
    }

    test('a train step moves the logits towards the labels (loss goes down)', async () => {
      const tower = await factory(options(SMALL));
      const batch = makeBatch(SMALL, 16, 5);
      const loss = (logits: Float32Array): number => {
        let s = 0;
        for (let i = 0; i < batch.batchSize; i++) {
          const p = 1 / (1 + Math.exp(-(batch.offset[i]! + logits[i]!)));
          s -= batch.labels[i]! ? Math.log(p) : Math.log(1 - p);
        }
        return s / batch.batchSize;
      };
      try {
        const before = loss(await tower.forward(batch.x, batch.batchSize));
        for (let i = 0; i < 10; i++) await tower.trainStep(batch);
        const after = loss(await tower.forward(batch.x, batch.batchSize));
        assert.ok(after < before, `loss ${after} should be below ${before}`);
      } finally {
        tower.dispose();
      }
    });

    test('getState → setState round trip gives the identical forward', async () => {
      const a = await factory(options(MEDIUM, 1));
      const b = await factory(options(MEDIUM, 2));
      const { x } = makeBatch(MEDIUM, 16, 3);
      try {
        await a.trainStep(makeBatch(MEDIUM, 16, 4));
        b.setState(a.getState());
        assert.deepEqual(await b.forward(x, 16), await a.forward(x, 16));
        assertStatesClose(b.getState(), a.getState(), 0, 0, 'state');
      } finally {
        a.dispose();
        b.dispose();
      }
    });

    test('getState is a snapshot: later steps and edits of the copy do not alias', async () => {
      const tower = await factory(options(SMALL));
      try {
        const s0 = tower.getState();
        const w0 = s0.tensors['W0']!.slice();
        for (let i = 0; i < 3; i++) await tower.trainStep(makeBatch(SMALL, 8, 50 + i));
        assert.deepEqual(s0.tensors['W0'], w0, 'snapshot unchanged by training');
        const s1 = tower.getState();
        s1.tensors['W0']!.fill(0);
        assert.notDeepEqual(tower.getState().tensors['W0'], s1.tensors['W0'], 'tower unchanged by editing the copy');
      } finally {
        tower.dispose();
      }
    });

    test('continue training after setState / options.state matches uninterrupted training', async () => {
      const batches = [0, 1, 2, 3].map((i) => makeBatch(MEDIUM, 16, 200 + i));
      const straight = await factory(options(MEDIUM, 3));
      const first = await factory(options(MEDIUM, 3));
      try {
        for (const b of batches) await straight.trainStep(b);
        for (const b of batches.slice(0, 2)) await first.trainStep(b);
        const saved = first.getState();
        // Resume twice: into a fresh tower via options.state and via setState on another seed.
        const resumed = await factory(options(MEDIUM, 99, saved));
        const reset = await factory(options(MEDIUM, 42));
        reset.setState(saved);
        try {
          for (const b of batches.slice(2)) {
            const r1 = await resumed.trainStep(b);
            const r2 = await reset.trainStep(b);
            assert.deepEqual(r2.dx, r1.dx);
          }
          // Same ops on the same inputs: bit-identical on a deterministic backend; allow rounding.
          assertStatesClose(resumed.getState(), straight.getState(), 1e-5, 1e-7, 'resumed vs straight');
          assertStatesClose(reset.getState(), resumed.getState(), 0, 0, 'setState vs options.state');
        } finally {
          resumed.dispose();
          reset.dispose();
        }
      } finally {
        straight.dispose();
        first.dispose();
      }
    });

    test('batch size may change between calls', async () => {
      const tower = await factory(options(SMALL));
      const ref = new ReferenceTower(options(SMALL));
      try {
        for (const B of [8, 3, 1, 17]) {
          const batch = makeBatch(SMALL, B, B);
          assertClose((await tower.trainStep(batch)).dx, (await ref.trainStep(batch)).dx, 1e-3, 1e-6, `dx B=${B}`);
        }
      } finally {
        tower.dispose();
      }
    });

    test('dropout 0 and tower L2 0 given explicitly are the plain tower, bit for bit', async () => {
      const plain = await factory(options(MEDIUM, 5));
      const zero = await factory({ ...options(MEDIUM, 5), dropout: 0, l2: 0 });
      try {
        for (let step = 0; step < 3; step++) {
          const batch = makeBatch(MEDIUM, 16, 300 + step);
          assert.deepEqual((await zero.trainStep(batch)).dx, (await plain.trainStep(batch)).dx);
        }
        assertStatesClose(zero.getState(), plain.getState(), 0, 0, 'state');
      } finally {
        plain.dispose();
        zero.dispose();
      }
    });

    for (const [what, reg] of [
      ['dropout 0.3', { dropout: 0.3 }],
      ['tower L2 0.05', { l2: 0.05 }],
      ['dropout 0.5 + tower L2 0.01', { dropout: 0.5, l2: 0.01 }],
    ] as const) {
      test(`${what}: five train steps match the reference given the same masks`, async () => {
        const opts = { ...options(MEDIUM), ...reg };
        const tower = await factory(opts);
        const ref = new ReferenceTower(opts);
        const rng = new Rng(17);
        try {
          for (let step = 0; step < 5; step++) {
            const batch = makeBatch(MEDIUM, 32, 400 + step);
            const input = 'dropout' in reg ? { ...batch, dropoutMasks: makeDropoutMasks(MEDIUM, 32, reg.dropout, rng) } : batch;
            const got = await tower.trainStep(input);
            const want = await ref.trainStep(input);
            assertClose(got.logits, want.logits, 1e-3, 1e-5, `step ${step} logits`);
            assertClose(got.dx, want.dx, 1e-3, 1e-6, `step ${step} dx`);
            assertStatesClose(tower.getState(), ref.getState(), 1e-3, 1e-5, `step ${step} state`);
          }
        } finally {
          tower.dispose();
        }
      });
    }

    test('dropout: the training forward differs, its mean over masks is the serving forward, forward ignores dropout', async () => {
      // One hidden layer, so the logit is linear in the mask and E[logit] is exactly the
      // undropped forward; learning rate 0 keeps the weights fixed across the draws.
      const shape: TowerShape = { inputDim: 13, hiddenUnits: [8] };
      const frozen = { ...options(shape, 3), adagrad: { ...ADAGRAD, learningRate: 0 } };
      const plain = await factory(frozen);
      const dropped = await factory({ ...frozen, dropout: 0.5 });
      const B = 6;
      const batch = makeBatch(shape, B, 9);
      const rng = new Rng(23);
      try {
        const serving = await plain.forward(batch.x, B);
        assert.deepEqual(await dropped.forward(batch.x, B), serving, 'forward (serving) never drops');
        const N = 300;
        const sum = new Float64Array(B);
        const sumSq = new Float64Array(B);
        let differs = false;
        for (let n = 0; n < N; n++) {
          const { logits } = await dropped.trainStep({ ...batch, dropoutMasks: makeDropoutMasks(shape, B, 0.5, rng) });
          for (let i = 0; i < B; i++) {
            sum[i]! += logits[i]!;
            sumSq[i]! += logits[i]! ** 2;
            if (Math.abs(logits[i]! - serving[i]!) > 1e-4) differs = true;
          }
        }
        assert.ok(differs, 'the training forward with dropout differs from serving');
        for (let i = 0; i < B; i++) {
          const mean = sum[i]! / N;
          const se = Math.sqrt(Math.max(0, sumSq[i]! / N - mean * mean) / N);
          assert.ok(Math.abs(mean - serving[i]!) <= 5 * se + 1e-5, `example ${i}: mean ${mean} vs forward ${serving[i]} (se ${se})`);
        }
        for (const name of ['W0', 'b0', 'W1', 'b1']) {
          assertClose(dropped.getState().tensors[name]!, plain.getState().tensors[name]!, 0, 0, `learning rate 0 left ${name} alone`);
        }
      } finally {
        plain.dispose();
        dropped.dispose();
      }
    });

    test('dropout masks are required with dropout and refused without', async () => {
      const plain = await factory(options(SMALL));
      const dropped = await factory({ ...options(SMALL), dropout: 0.2 });
      const batch = makeBatch(SMALL, 4, 1);
      const masks = makeDropoutMasks(SMALL, 4, 0.2, new Rng(1));
      try {
        await assert.rejects(dropped.trainStep(batch), TowerShapeError);
        await assert.rejects(dropped.trainStep({ ...batch, dropoutMasks: masks.slice(0, 1) }), TowerShapeError);
        await assert.rejects(plain.trainStep({ ...batch, dropoutMasks: masks }), TowerShapeError);
      } finally {
        plain.dispose();
        dropped.dispose();
      }
    });

    test('rejects inputs whose length disagrees with the shape', async () => {
      const tower = await factory(options(SMALL));
      const batch = makeBatch(SMALL, 4, 1);
      try {
        await assert.rejects(tower.forward(batch.x, 5), TowerShapeError);
        await assert.rejects(tower.trainStep({ ...batch, labels: new Float32Array(3) }), TowerShapeError);
        assert.throws(() => tower.setState(initialTowerState(options(MEDIUM))), TowerShapeError);
      } finally {
        tower.dispose();
      }
    });
  });
}
