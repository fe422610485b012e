/**
 * Faults of the model, not of the request, met while scoring.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSplitTower } from '../../src/scoring/create-split-tower.ts';
import { TowerRefusedError } from '../../src/scoring/errors.ts';

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
