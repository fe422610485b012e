/**
 * The scoring Lambda bundles small: esbuild with onnxruntime-node external (shipped as a node
 * module), and nothing from training or TensorFlow.js in it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build } from 'esbuild';

test('lambdas/score.ts bundles without tfjs or training code, onnxruntime-node external', async () => {
  const r = await build({
    entryPoints: ['lambdas/score.ts'],
    bundle: true,
    platform: 'node',
    target: 'node22', // as cdk/lambda-defaults.ts bundles it
    format: 'esm',
    minify: true,
    write: false,
    outfile: 'score.mjs',
    external: ['onnxruntime-node'],
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(r.metafile.inputs);
  const forbidden = inputs.filter((f) =>
    /@tensorflow|src\/training\/|src\/model\/wide-deep\.ts|src\/model\/tower\/(tfjs|onnx-tower|select|reference)|src\/model\/sparse\//.test(
      f,
    ),
  );
  assert.deepEqual(forbidden, []);
  assert.ok(inputs.some((f) => f.includes('src/scoring/handler.ts')));
  const bytes = r.outputFiles.reduce((n, f) => n + f.contents.length, 0);
  // ~1.3 MB with the AWS SDK and Powertools bundled in; onnxruntime-node (~46 MB for linux-x64) ships beside it.
  assert.ok(bytes < 5 * 1024 * 1024, `bundle is ${bytes} bytes`);
});
