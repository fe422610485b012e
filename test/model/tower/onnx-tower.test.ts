import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OnnxTower } from '../../../src/model/tower/onnx-tower.ts';
import { MEDIUM, makeBatch, options, runTowerContract, assertClose } from './contract.ts';
import { ReferenceTower } from './reference.ts';

runTowerContract('OnnxTower', (o) => OnnxTower.create(o));

test('OnnxTower scores in chunks when the batch exceeds forwardChunkRows', async () => {
  const tower = await OnnxTower.create({ ...options(MEDIUM), forwardChunkRows: 7 });
  const ref = new ReferenceTower(options(MEDIUM));
  const { x } = makeBatch(MEDIUM, 30, 9);
  try {
    // 30 rows = chunks of 7,7,7,7,2, each written into a view of one output array.
    assertClose(await tower.forward(x, 30), await ref.forward(x, 30), 1e-4, 1e-6, 'logits');
  } finally {
    tower.dispose();
  }
});

test('OnnxTower names its runtime and thread count', async () => {
  const tower = await OnnxTower.create({ ...options(MEDIUM), intraOpNumThreads: 1 });
  assert.match(tower.name, /^onnxruntime-node \S+ \(cpu, 1 threads\)$/);
  tower.dispose();
});

test('OnnxTower with spinning disabled trains like the default session', async () => {
  const batch = makeBatch(MEDIUM, 16, 2);
  const spin = await OnnxTower.create(options(MEDIUM));
  const calm = await OnnxTower.create({ ...options(MEDIUM), allowSpinning: false });
  try {
    assert.deepEqual((await calm.trainStep(batch)).dx, (await spin.trainStep(batch)).dx);
  } finally {
    spin.dispose();
    calm.dispose();
  }
});
