import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeOutputFile } from '../../cli/shared.ts';

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
