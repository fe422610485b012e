/** The state machine definitions the local runner reads: synthesized in a child process, cached. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runSynthesisScript, synthesizedDefinitions } from '../../local/definition.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-definition-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('both definitions come back as ASL, and the cache file holds exactly them', async () => {
  const d = await synthesizedDefinitions();
  assert.equal(d.retraining.StartAt, 'Lock');
  assert.equal(d.batchScoring.States['ScoreObjects']?.Type, 'Map');
  assert.match(d.cacheFile, /node_modules\/\.cache\/wdp\/state-machines-[0-9a-f]{64}\.json$/);
  assert.ok(d.origin === 'synthesized' || d.origin === 'cached');
  const cached = JSON.parse(await readFile(d.cacheFile, 'utf8')) as unknown;
  assert.deepEqual(cached, { retraining: d.retraining, batchScoring: d.batchScoring });
  assert.equal(await synthesizedDefinitions(), await synthesizedDefinitions(), 'once per process');
});

test("a failing synthesis is an error that carries the child's stderr", async () => {
  const script = join(dir, 'broken-synth.mjs');
  await writeFile(script, "process.stderr.write('Error: no such construct Retraining\\n');\nprocess.exit(3);\n");
  await assert.rejects(
    runSynthesisScript(script, join(dir, 'out.json'), 'bucket'),
    /synthesizing the state machines \(.*broken-synth\.mjs\) failed with exit code 3:\nError: no such construct Retraining/,
  );
});
