import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { readJson, writeJson } from '../../../src/workflow/bucket/json-store.ts';
import { WorkflowError } from '../../../src/workflow/errors.ts';

test('readJson: round-trips writeJson, undefined when absent, WorkflowError naming the uri and field otherwise', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wdp-json-store-'));
  try {
    const schema = z.object({ version: z.number() });
    const uri = join(dir, 'pointer.json');
    assert.equal(await readJson(uri, schema), undefined);
    await writeJson(uri, { version: 3 });
    assert.deepEqual(await readJson(uri, schema), { version: 3 });
    await writeFile(uri, '{"version": "3"}');
    await assert.rejects(
      readJson(uri, schema),
      (e: unknown) => e instanceof WorkflowError && /pointer\.json field version: /.test(e.message),
    );
    await writeFile(uri, 'not json');
    await assert.rejects(
      readJson(uri, schema),
      (e: unknown) => e instanceof WorkflowError && /pointer\.json is not valid JSON/.test(e.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
