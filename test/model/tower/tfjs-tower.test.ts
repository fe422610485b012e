import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { TfjsTower } from '../../../src/model/tower/tfjs-tower.ts';
import { MEDIUM, makeBatch, options, runTowerContract } from './contract.ts';

// WASM is the tfjs backend this machine trains on (tfjs-node is not installable here);
// tfjs-tower-cpu.test.ts runs the same contract on the plain-JS CPU backend.
runTowerContract('TfjsTower (wasm)', (o) => TfjsTower.create({ ...o, backends: ['wasm'] }));

test('TfjsTower leaks no tensors across forward, trainStep, getState and setState', async () => {
  const tower = await TfjsTower.create({ ...options(MEDIUM), backends: ['wasm'] });
  const batch = makeBatch(MEDIUM, 16, 1);
  await tower.trainStep(batch); // warm-up: kernels may cache scalars on first use
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await tower.trainStep(batch);
  await tower.forward(batch.x, batch.batchSize);
  tower.setState(tower.getState());
  assert.equal(tf.memory().numTensors, before);
  tower.dispose();
  // Only the variables were left: 4 layers × (W, b, acc_W, acc_b).
  assert.equal(tf.memory().numTensors, before - 16);
});

test('TfjsTower reports the backend it runs on', async () => {
  const tower = await TfjsTower.create({ ...options(MEDIUM), backends: ['wasm'] });
  assert.equal(tower.backend.kind, 'wasm');
  assert.match(tower.name, /^tfjs \S+ \(wasm/);
  tower.dispose();
});
