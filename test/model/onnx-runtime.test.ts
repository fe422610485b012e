import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { afterEach, test } from 'node:test';
import { configureOnnxRuntime, onnxSessionOptions } from '../../src/model/tower/onnx-runtime.ts';

const spin = (o: ReturnType<typeof onnxSessionOptions>) =>
  (o.options.extra as { session: { intra_op: { allow_spinning: string } } }).session.intra_op.allow_spinning;

afterEach(() => configureOnnxRuntime({ allowSpinning: true }));

test('session options: all cores and spin-waiting by default, as ORT itself', () => {
  const o = onnxSessionOptions();
  assert.equal(o.threads, availableParallelism());
  assert.equal(o.options.intraOpNumThreads, availableParallelism());
  assert.equal(o.options.interOpNumThreads, 1);
  assert.equal(o.options.executionMode, 'sequential');
  assert.equal(o.options.graphOptimizationLevel, 'all');
  assert.equal(spin(o), '1');
  assert.equal(onnxSessionOptions({ intraOpNumThreads: 3 }).threads, 3);
});

test("the host's setting (configureOnnxRuntime at the entry point) applies to every session; a tower's own option wins", () => {
  configureOnnxRuntime({ allowSpinning: false });
  assert.equal(spin(onnxSessionOptions()), '0');
  assert.equal(spin(onnxSessionOptions({ allowSpinning: true })), '1');
  configureOnnxRuntime({});
  assert.equal(spin(onnxSessionOptions()), '0', 'an unset field keeps its value');
  configureOnnxRuntime({ allowSpinning: true });
  assert.equal(spin(onnxSessionOptions({ allowSpinning: false })), '0');
});
