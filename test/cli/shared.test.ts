import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { existingBucket, int, svgPath, writeOutputFile } from '../../cli/shared.ts';
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

test('--port above 65535 is refused by the option parser, naming the option and the range, before the model loads', () => {
  // It used to pass the parser (an integer ≥ 0), load the model, and fail in listen() with
  // Node's "options.port should be >= 0 and < 65536. Received type number (99999)."
  assert.equal(int('--port', 0, 65_535)('65535'), 65_535);
  assert.throws(() => int('--port', 0, 65_535)('65536'), /--port must be an integer from 0 to 65535, got "65536"/);
  assert.throws(() => int('--days')('0'), /--days must be an integer ≥ 1, got "0"/);
  const r = spawnSync(process.execPath, ['bin/wdp.mjs', 'serve', '--model', 'no-such-model', '--port', '99999'], {
    encoding: 'utf8',
    env: { ...process.env, CI: '1' },
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /option '--port <n>' argument '99999' is invalid\. --port must be an integer from 0 to 65535, got "99999"/);
  assert.doesNotMatch(r.stderr, /options\.port|model loaded/);
});

test('existingBucket refuses a --bucket folder that does not exist or is a file, and passes S3 URIs and folders', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wdp-bucket-'));
  try {
    assert.equal(existingBucket(dir), dir);
    assert.equal(existingBucket('s3://any-bucket'), 's3://any-bucket');
    assert.throws(() => existingBucket(join(dir, 'typo')), /--bucket ".*typo": no such folder/);
    await writeFile(join(dir, 'f'), 'x');
    assert.throws(() => existingBucket(join(dir, 'f')), /--bucket ".*f": not a folder/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
