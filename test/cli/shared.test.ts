import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { svgPath, writeOutputFile } from '../../cli/shared.ts';
import { spawnSync } from 'node:child_process';

test('writeOutputFile creates the folders of a --plot path that does not exist yet', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wdp-cli-out-'));
  try {
    const path = join(dir, 'plots', 'deeper', 'loss.svg');
    await writeOutputFile(path, '<svg/>');
    assert.equal(await readFile(path, 'utf8'), '<svg/>');
    // Written through a temp file and rename: none is left beside it.
    assert.deepEqual(await readdir(join(dir, 'plots', 'deeper')), ['loss.svg']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--plot must name an .svg file: a config or model path is refused before any work, naming the option', () => {
  assert.equal(svgPath('plots/Loss.SVG'), 'plots/Loss.SVG');
  assert.throws(() => svgPath('wdp.config.json'), /must name an \.svg file \(it is replaced if there\), got "wdp\.config\.json"/);
  const r = spawnSync(
    process.execPath,
    [
      'bin/wdp.mjs',
      'train',
      '--config',
      'examples/app-store/wdp.config.json',
      '--data',
      'nowhere',
      '--out',
      'nowhere-model',
      '--plot',
      'examples/app-store/wdp.config.json',
    ],
    { encoding: 'utf8', env: { ...process.env, CI: '1' } },
  );
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    /option '--plot <file\.svg>' argument 'examples\/app-store\/wdp\.config\.json' is invalid\. must name an \.svg file/,
  );
});
