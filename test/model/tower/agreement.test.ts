import { test } from 'node:test';
import { OnnxTower } from '../../../src/model/tower/onnx-tower.ts';
import { makeDropoutMasks } from '../../../src/model/tower/state.ts';
import { TfjsTower } from '../../../src/model/tower/tfjs-tower.ts';
import { Rng } from '../../../src/util/random.ts';
import { MEDIUM, assertClose, assertStatesClose, makeBatch, options } from './contract.ts';

test('OnnxTower and TfjsTower (wasm) agree step by step from the same seed', async () => {
  const onnx = await OnnxTower.create(options(MEDIUM, 5));
  const tfjs = await TfjsTower.create({ ...options(MEDIUM, 5), backends: ['wasm'] });
  try {
    assertStatesClose(onnx.getState(), tfjs.getState(), 0, 0, 'initial');
    for (let step = 0; step < 4; step++) {
      const batch = makeBatch(MEDIUM, 24, 300 + step);
      const a = await onnx.trainStep(batch);
      const b = await tfjs.trainStep(batch);
      // Two float32 engines with different summation orders: a few ulps per op.
      assertClose(a.logits, b.logits, 1e-3, 1e-5, `step ${step} logits`);
      assertClose(a.dx, b.dx, 1e-3, 1e-6, `step ${step} dx`);
    }
    assertStatesClose(onnx.getState(), tfjs.getState(), 1e-3, 1e-5, 'after 4 steps');
    const { x } = makeBatch(MEDIUM, 50, 1);
    assertClose(await onnx.forward(x, 50), await tfjs.forward(x, 50), 1e-3, 1e-5, 'forward');
  } finally {
    onnx.dispose();
    tfjs.dispose();
  }
});

test('OnnxTower and TfjsTower (wasm) agree with dropout and tower L2, fed the same masks', async () => {
  const reg = { dropout: 0.4, l2: 0.02 };
  const onnx = await OnnxTower.create({ ...options(MEDIUM, 5), ...reg });
  const tfjs = await TfjsTower.create({ ...options(MEDIUM, 5), ...reg, backends: ['wasm'] });
  const rng = new Rng(3);
  try {
    for (let step = 0; step < 4; step++) {
      const batch = { ...makeBatch(MEDIUM, 24, 500 + step), dropoutMasks: makeDropoutMasks(MEDIUM, 24, reg.dropout, rng) };
      const a = await onnx.trainStep(batch);
      const b = await tfjs.trainStep(batch);
      assertClose(a.logits, b.logits, 1e-3, 1e-5, `step ${step} logits`);
      assertClose(a.dx, b.dx, 1e-3, 1e-6, `step ${step} dx`);
    }
    assertStatesClose(onnx.getState(), tfjs.getState(), 1e-3, 1e-5, 'after 4 steps');
  } finally {
    onnx.dispose();
    tfjs.dispose();
  }
});
