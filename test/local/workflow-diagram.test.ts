import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Asl } from '../../local/definition.ts';
import { synthesizedDefinitions } from '../../local/definition.ts';
import { aslToMermaid, currentSection, DIAGRAM_FILES, describeCondition, diagramSection } from '../../local/workflow-diagram.ts';

const tiny: Asl = {
  StartAt: 'Lock',
  States: {
    Lock: {
      Type: 'Task',
      Resource: 'arn:aws:lambda:us-east-1:1:function:RunLock',
      Next: 'LockAcquired',
      Retry: [{}],
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Failed' }],
    },
    LockAcquired: { Type: 'Choice', Choices: [{ Variable: '$.lock.acquired', BooleanEquals: true, Next: 'Train' }], Default: 'Busy' },
    Busy: { Type: 'Succeed' },
    Train: {
      Type: 'Task',
      Resource: 'arn:aws:states:::batch:submitJob.sync',
      End: true,
      Catch: [{ ErrorEquals: ['Timeout'], Next: 'Failed' }],
    },
    Failed: { Type: 'Fail' },
  },
};

describe('the workflow as Mermaid', () => {
  it('draws Choice states as diamonds, Catch edges dashed, and marks the run lock states', () => {
    const lines = aslToMermaid(tiny).split('\n');
    assert.equal(lines[0], 'flowchart TD');
    assert.ok(lines.includes('  start(("start")) --> s_Lock'));
    assert.ok(lines.includes('  s_LockAcquired{"LockAcquired?"}'), 'diamond');
    assert.ok(lines.includes('  s_LockAcquired -- "lock.acquired" --> s_Train'));
    assert.ok(lines.includes('  s_LockAcquired -- "otherwise" --> s_Busy'));
    assert.ok(lines.includes('  s_Lock["Lock<br/>Lambda, retried"]'));
    assert.ok(lines.includes('  s_Train["Train<br/>Batch job, waits"]'));
    assert.ok(lines.includes('  s_Lock -. "any error" .-> s_Failed'), 'dashed catch edge');
    assert.ok(lines.includes('  s_Train -. "Timeout" .-> s_Failed'));
    assert.ok(lines.includes('  s_Train --> done(("end"))'));
    assert.ok(lines.includes('  class s_Lock,s_LockAcquired lock'));
    assert.ok(lines.includes('  class s_Busy succeed'));
    assert.ok(lines.includes('  class s_Failed fail'));
  });

  it('leaves out the Pass that names a failed step for the notification, drawing its Catch edge to where it leads', () => {
    const asl: Asl = {
      StartAt: 'Ingest',
      States: {
        Ingest: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          End: true,
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'IngestFailed' }],
        },
        IngestFailed: { Type: 'Pass', Result: 'Ingest', ResultPath: '$.failedState', Next: 'Failed' },
        Failed: { Type: 'Fail' },
      },
    };
    const lines = aslToMermaid(asl).split('\n');
    assert.ok(lines.includes('  s_Ingest -. "any error" .-> s_Failed'));
    assert.ok(!lines.some((l) => l.includes('IngestFailed')));
  });

  it('says what a Choice rule tests', () => {
    assert.equal(describeCondition({ Variable: '$.a.b', BooleanEquals: false }), 'not a.b');
    assert.equal(describeCondition({ Variable: '$.q[0]', IsPresent: true }), 'q[0] present');
    assert.equal(
      describeCondition({
        And: [
          { Variable: '$.p', IsString: true },
          { Variable: '$.p', StringMatches: 'batch/input/*' },
        ],
      }),
      "p is string and<br/>p matches 'batch/input/*'",
    );
    assert.equal(describeCondition({ Not: { Variable: '$.n', NumericGreaterThanEquals: 3 } }), 'not (n ≥ 3)');
    assert.equal(describeCondition({ Variable: '$.n', NumericLessThanPath: '$.m' }), 'n < m');
  });

  it('the README and docs/workflow.md show the picture of the current definitions', async () => {
    const expected = diagramSection(await synthesizedDefinitions());
    for (const file of DIAGRAM_FILES) {
      const shown = currentSection(readFileSync(file, 'utf8'));
      assert.ok(shown !== undefined, `${file} has no workflow-diagram markers`);
      assert.equal(shown, expected, `${file}'s workflow diagram is stale: run \`node scripts/workflow-diagram.mjs\``);
    }
    // The lock states and the ends are all there, drawn from the real retraining machine.
    for (const state of ['s_Lock', 's_UnlockFailed', 's_UnlockPromoted', 's_UnlockRejected', 's_UnlockNoNewData'])
      assert.match(expected, new RegExp(`class [^\\n]*\\b${state}\\b[^\\n]* lock`));
    assert.match(expected, /s_Passed\{"Passed\?"\}/);
  });
});
