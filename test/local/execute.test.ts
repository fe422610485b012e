/** executeLocally: the ASL runner that `npm start` and the local batch scoring use. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Asl } from '../../local/definition.ts';
import { executeLocally } from '../../local/execute.ts';
import { DataError } from '../../src/data/errors.ts';

test("a failed Task reports the thrown error's own name and message, as a Lambda's Cause does, not its inner cause", async () => {
  const definition = { StartAt: 'Read', States: { Read: { Type: 'Task', Resource: 'arn:aws:lambda:local:0:function:read', End: true } } };
  const lines: string[] = [];
  const run = await executeLocally({
    definition: definition as unknown as Asl,
    input: {},
    print: (l) => lines.push(l),
    handlers: {
      Read: async () => {
        throw new DataError({ source: 'in/b.parquet' }, 'not a Parquet file (bad footer)', { cause: new Error('footer != PAR1') });
      },
    },
  });
  assert.equal(run.status, 'failed');
  assert.equal(run.error?.error, 'DataError');
  assert.match(run.error?.cause ?? '', /^in\/b\.parquet: not a Parquet file \(bad footer\)$/);
  assert.match(run.states[0]?.error ?? '', /^DataError: in\/b\.parquet: not a Parquet file/);
  assert.ok(
    lines.some((l) => l.includes('in/b.parquet')),
    lines.join('\n'),
  );
});
