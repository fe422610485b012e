import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { saveTinyModel } from '../helpers/tiny-model.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-cli-serve-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** `wdp serve` through the real binary; resolves when it exits or once `until` shows on stderr. */
function wdpServe(args: string[], until?: RegExp): Promise<{ code: number | null; stderr: string; kill: () => void }> {
  const child = spawn(process.execPath, ['bin/wdp.mjs', 'serve', ...args], { env: { ...process.env, CI: '1' } });
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`wdp serve neither exited nor printed ${until} in 60 s:\n${stderr}`));
    }, 60_000);
    const kill = () => child.kill();
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
      if (until?.test(stderr)) {
        clearTimeout(timer);
        resolve({ code: null, stderr, kill });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, kill });
    });
  });
}

test('wdp serve with a missing model prints why at ERROR and exits 1, never claiming to serve', async () => {
  const missing = join(dir, 'no-such-model');
  const r = await wdpServe(['--model', missing, '--port', '0']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, / ERROR model failed to load .*no-such-model/);
  assert.match(r.stderr, new RegExp(`error: cannot serve ${missing}: the model failed to load: .*no-such-model`));
  assert.doesNotMatch(r.stderr, /serving /);
  assert.doesNotMatch(r.stderr, / WARN model failed to load/);
});

test('wdp serve with a good model prints "serving … on http://…" once it is loaded, and answers', async () => {
  const model = await saveTinyModel(dir, 'm');
  const r = await wdpServe(['--model', model, '--port', '0', '--backend', 'js'], /serving .* on http:\/\/127\.0\.0\.1:(\d+)\//);
  try {
    assert.match(r.stderr, /model loaded/);
    const port = /on http:\/\/127\.0\.0\.1:(\d+)\//.exec(r.stderr)![1];
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      body: JSON.stringify({ context: { user: 'u1' }, candidates: [{ item: 'i1', x: 0.1 }] }),
    });
    assert.equal(res.status, 200);
  } finally {
    r.kill();
  }
});

test('wdp serve --warm-up says "warmed up" before "serving": the first request finds the path warm', async () => {
  const model = await saveTinyModel(dir, 'w');
  const r = await wdpServe(
    ['--model', model, '--port', '0', '--backend', 'js', '--warm-up'],
    /serving .* on http:\/\/127\.0\.0\.1:(\d+)\//,
  );
  try {
    const loaded = r.stderr.indexOf('model loaded');
    const warmed = r.stderr.indexOf('warmed up');
    const serving = r.stderr.indexOf('serving ');
    assert.ok(loaded >= 0 && warmed > loaded && serving > warmed, r.stderr);
    assert.match(r.stderr, /warmed up .*"requests":8/);
  } finally {
    r.kill();
  }
});
