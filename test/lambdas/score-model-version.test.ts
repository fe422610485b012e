// The exported handler keeps its model for the life of the module, so the cold start that refuses
// a model is tested in its own file (test/lambdas/score.test.ts starts another one).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeOneVersionRegistry } from '../helpers/registry-fixture.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';

let dir: string;
after(() => rm(dir, { recursive: true, force: true }));

test('cold start: WDP_MODEL_URI holding another model than the registry records for WDP_MODEL_VERSION answers 503, never scores', async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-score-version-'));
  const uri = await saveTinyModel(dir, 'm'); // model id m-m
  const registry = await writeOneVersionRegistry(join(dir, 'registry.json'), uri, 3, 'm-other');
  Object.assign(process.env, {
    WDP_MODEL_URI: uri,
    WDP_MODEL_VERSION: 'v3',
    WDP_REGISTRY_URI: registry,
    WDP_SCORING_BACKEND: 'js',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  delete process.env['WDP_MODEL_ID'];
  const { handler } = await import('../../lambdas/score.ts');
  const request = { context: { user: 'u1' }, candidates: [{ item: 'i1', x: 0.3 }] };
  assert.deepEqual(await handler(request, { awsRequestId: 'x1' } as never), {
    statusCode: 503,
    error: 'model could not be loaded (request id x1)',
    requestId: 'x1',
  });
});
