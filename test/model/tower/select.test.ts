import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTfjsBackendInstalled } from '../../../src/model/tower/tfjs-backend.ts';
import { createTower, towerFromState } from '../../../src/model/tower/select.ts';
import { initialTowerState } from '../../../src/model/tower/state.ts';
import { ADAGRAD, SMALL, makeBatch, options } from './contract.ts';

test("createTower('auto') picks ONNX Runtime on a machine without tfjs-node-gpu, and says so", async (t) => {
  if (isTfjsBackendInstalled('node-gpu')) return t.skip('tfjs-node-gpu is installed here');
  const logs: string[] = [];
  const tower = await createTower('auto', options(SMALL), (m) => logs.push(m));
  try {
    assert.match(tower.name, /^onnxruntime-node/);
    assert.equal(logs.length, 1);
    assert.match(logs[0]!, /onnxruntime-node .*auto/);
  } finally {
    tower.dispose();
  }
});

test("createTower('onnx') and ('tfjs') give the named implementation, from the same weights", async () => {
  const onnx = await createTower('onnx', options(SMALL, 3));
  const tfjs = await createTower('tfjs', options(SMALL, 3));
  try {
    assert.match(onnx.name, /^onnxruntime-node/);
    assert.match(tfjs.name, /^tfjs /);
    assert.deepEqual(onnx.getState(), tfjs.getState());
    assert.deepEqual(onnx.getState(), initialTowerState(options(SMALL, 3)));
  } finally {
    onnx.dispose();
    tfjs.dispose();
  }
});

test('towerFromState continues from the given weights', async () => {
  const a = await createTower('onnx', options(SMALL, 8));
  await a.trainStep(makeBatch(SMALL, 8, 1));
  const b = await towerFromState('onnx', a.getState(), ADAGRAD);
  try {
    assert.deepEqual(b.getState(), a.getState());
  } finally {
    a.dispose();
    b.dispose();
  }
});
