import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { onnxRuntimeCopyCommands } from '../../cdk/lambda-defaults.ts';
import { REPO_ROOT } from '../../cdk/paths.ts';

test('scoring bundles get a loadable ONNX Runtime with only the linux-x64 binaries', async () => {
  const out = await mkdtemp(join(tmpdir(), 'wdp-ort-bundle-'));
  try {
    for (const cmd of onnxRuntimeCopyCommands(REPO_ROOT, out)) execFileSync('sh', ['-c', cmd]);
    const ort = join(out, 'node_modules', 'onnxruntime-node');
    assert.ok(existsSync(join(ort, 'bin', 'napi-v6', 'linux', 'x64', 'onnxruntime_binding.node')));
    assert.ok(!existsSync(join(ort, 'bin', 'napi-v6', 'win32')), 'other platforms are left out');
    // Resolved from the bundle folder as Lambda resolves it from /var/task.
    const loaded = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "const o = await import('onnxruntime-node'); console.log(typeof o.InferenceSession.create)"],
      {
        cwd: out,
        encoding: 'utf8',
      },
    );
    assert.equal(loaded.trim(), 'function');
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
