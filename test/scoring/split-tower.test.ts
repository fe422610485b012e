/** One contract for both split towers: they agree with a float64 reference of the unsplit tower. */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { initialTowerState, towerLayers } from '../../src/model/tower/state.ts';
import { createSplitTower } from '../../src/scoring/create-split-tower.ts';
import type { SplitTowerKind } from '../../src/scoring/split-tower.ts';
import { Rng } from '../../src/util/random.ts';

/** Unsplit forward in float64: X [B × D] → logits [B]. */
function reference(
  tensors: Readonly<Record<string, Float32Array>>,
  shape: { inputDim: number; hiddenUnits: readonly number[] },
  x: Float64Array,
  B: number,
): Float64Array {
  let h = x;
  let width = shape.inputDim;
  for (const l of towerLayers(shape)) {
    const W = tensors[`W${l.index}`]!;
    const b = tensors[`b${l.index}`]!;
    const out = new Float64Array(B * l.outDim);
    for (let i = 0; i < B; i++) {
      for (let j = 0; j < l.outDim; j++) {
        let s = b[j]!;
        for (let k = 0; k < width; k++) s += h[i * width + k]! * W[k * l.outDim + j]!;
        out[i * l.outDim + j] = l.relu ? Math.max(0, s) : s;
      }
    }
    h = out;
    width = l.outDim;
  }
  return h;
}

for (const kind of ['onnx', 'js'] as const satisfies readonly SplitTowerKind[]) {
  // Gathered features: the tower input columns each one fills (its dim), looked up from a 5-row table.
  for (const [D, hidden, userCols, gatheredCols] of [
    [10, [8, 4], [0, 1, 2, 7], []],
    [9, [5], [], []],
    [6, [7, 3, 2], [5], []],
    [
      10,
      [8, 4],
      [0, 1],
      [
        [4, 5, 6],
        [9, 2],
      ],
    ],
    [
      7,
      [6],
      [],
      [
        [0, 1],
        [2, 3],
        [4, 5, 6],
      ],
    ],
    [8, [5, 3], [7], [[3, 4]]],
  ] as const) {
    const gCols: readonly (readonly number[])[] = gatheredCols;
    test(`${kind} split tower ${D}→[${hidden}] with user columns [${userCols}], gathered ${JSON.stringify(gCols)} matches the unsplit reference`, async () => {
      const shape = { inputDim: D, hiddenUnits: hidden };
      const state = initialTowerState({ shape, adagrad: { learningRate: 0.1, initialAccumulator: 0.1, epsilon: 1e-7 }, seed: 7 });
      const rng = new Rng(1);
      for (let k = 0; k < hidden.length + 1; k++) {
        const b = state.tensors[`b${k}`]!;
        for (let i = 0; i < b.length; i++) b[i] = rng.normal() * 0.1;
      }
      const taken = new Set<number>([...userCols, ...gCols.flat()]);
      const restCols = Array.from({ length: D }, (_, c) => c).filter((c) => !taken.has(c));
      const V = 5;
      const tables = gCols.map((cols) => Float32Array.from({ length: V * cols.length }, () => rng.normal()));
      const tower = await createSplitTower(kind, state, {
        itemRows: Int32Array.from([...gCols.flat(), ...restCols]),
        userRows: Int32Array.from(userCols),
        gathered: gCols.map((cols) => ({ vocab: V, dim: cols.length })),
        intraOpNumThreads: 1,
      });
      try {
        const B = 6;
        const xUser = Float64Array.from(userCols, () => Math.fround(rng.normal()));
        const x = new Float64Array(B * D);
        const rest = new Float32Array(B * restCols.length);
        const ids = gCols.map(() => Int32Array.from({ length: B }, () => Math.floor(rng.next() * V)));
        for (let i = 0; i < B; i++) {
          for (const [j, c] of userCols.entries()) x[i * D + c] = xUser[j]!;
          gCols.forEach((cols, g) => {
            for (const [j, c] of cols.entries()) x[i * D + c] = tables[g]![ids[g]![i]! * cols.length + j]!;
          });
          for (const [j, c] of restCols.entries()) {
            rest[i * restCols.length + j] = rng.normal();
            x[i * D + c] = rest[i * restCols.length + j]!;
          }
        }
        const gathered = gCols.map((_, g) => ({ table: tables[g]!, ids: ids[g]! }));
        const got = await tower.forward(Float32Array.from(xUser), { gathered, rest }, B);
        const want = reference(state.tensors, shape, x, B);
        for (let i = 0; i < B; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `row ${i}: ${got[i]} vs ${want[i]}`);
      } finally {
        tower.dispose();
      }
    });
  }
}

test('the ONNX scoring session has no memory pattern (the second run after a cold start would allocate afresh), and runs of other batch sizes in between change no score', async () => {
  const shape = { inputDim: 6, hiddenUnits: [5, 3] };
  const state = initialTowerState({ shape, adagrad: { learningRate: 0.1, initialAccumulator: 0.1, epsilon: 1e-7 }, seed: 3 });
  const seen: ort.InferenceSession.SessionOptions[] = [];
  const create = ort.InferenceSession.create.bind(ort.InferenceSession) as (
    b: Uint8Array,
    o?: ort.InferenceSession.SessionOptions,
  ) => Promise<ort.InferenceSession>;
  const spy = mock.method(ort.InferenceSession, 'create', async (bytes: Uint8Array, options?: ort.InferenceSession.SessionOptions) => {
    if (options) seen.push(options);
    return create(bytes, options);
  });
  let tower: Awaited<ReturnType<typeof createSplitTower>> | undefined;
  try {
    tower = await createSplitTower('onnx', state, {
      itemRows: Int32Array.of(2, 3, 4, 5),
      userRows: Int32Array.of(0, 1),
      intraOpNumThreads: 1,
    });
  } finally {
    spy.mock.restore();
  }
  try {
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.enableMemPattern, false);
    const rng = new Rng(5);
    const xUser = Float32Array.of(0.5, -1);
    const rest = Float32Array.from({ length: 7 * 4 }, () => rng.normal());
    const first = await tower.forward(xUser, { gathered: [], rest }, 7);
    const small = await tower.forward(xUser, { gathered: [], rest: rest.subarray(0, 12) }, 3);
    const again = await tower.forward(xUser, { gathered: [], rest }, 7);
    assert.deepEqual(again, first);
    assert.deepEqual(small, first.subarray(0, 3));
  } finally {
    tower.dispose();
  }
});
