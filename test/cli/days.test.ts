import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { buildCli } from '../../cli/main.ts';
import { writeJson } from '../../src/workflow/bucket/json-store.ts';
import { layout } from '../../src/workflow/bucket/layout.ts';
import { watermarkSchema } from '../../src/workflow/schemas.ts';
import { mockS3Memory, type MemoryBucket } from '../helpers/s3-memory.ts';

describe('wdp days --remote (CloudFormation and S3 mocked)', () => {
  const cfn = mockClient(CloudFormationClient);
  let s3: MemoryBucket;
  const l = layout('s3://wdp-data-bucket');

  beforeEach(async () => {
    s3 = mockS3Memory();
    cfn.reset();
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'Wdp',
          CreationTime: new Date(0),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [{ OutputKey: 'BucketName', OutputValue: 'wdp-data-bucket' }],
        },
      ],
    });
    await writeJson(
      l.watermark,
      watermarkSchema.parse({
        through: '2026-01-05',
        untrained: ['2026-01-04'],
        held: [{ day: '2026-01-05', role: 'holdout', runId: 'r5', reason: 'holdout of run r5 rejected', at: 'x' }],
        runId: 'r5',
        updatedAt: 'x',
      }),
    );
  });
  afterEach(() => s3.restore());

  it("release acts on the deployed stack's bucket, found in the stack outputs", async () => {
    await buildCli().parseAsync(['node', 'wdp', 'days', 'release', '2026-01-05', '--remote']);
    assert.equal(cfn.commandCalls(DescribeStacksCommand)[0]?.args[0].input.StackName, 'Wdp');
    const w = watermarkSchema.parse(JSON.parse(s3.text(l.watermark)!));
    assert.deepEqual(w.held, []);
    assert.deepEqual(w.untrained, ['2026-01-04', '2026-01-05']);
    // A compare-and-swap write: an operator's edit cannot undo a run's written meanwhile.
    assert.ok(s3.puts().at(-1)?.IfMatch);
  });

  it('lists the file names an older wdp recorded that are not safe keys, JSON-quoted; a release keeps them as recorded', async () => {
    const recorded = { uri: `${l.logs}dt=2026-01-04/odd\\name\u001b]0;x\u0007.parquet`, sizeBytes: 3 };
    const w = JSON.parse(s3.text(l.watermark)!);
    s3.objects.set(
      l.watermark.replace('s3://', ''),
      new TextEncoder().encode(JSON.stringify({ ...w, files: { '2026-01-04': [recorded] } })),
    );
    let err = '';
    const errWrite = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      err += String(chunk);
      return true;
    }) as typeof process.stderr.write;
    try {
      await buildCli().parseAsync(['node', 'wdp', 'days', '--remote']);
    } finally {
      process.stderr.write = errWrite;
    }
    assert.ok(err.includes(`  2026-01-04  ${JSON.stringify(recorded.uri)}  it contains a control character (U+001B)`), err);
    assert.ok(!err.includes('\u001b'), 'no raw escape on the terminal');
    await buildCli().parseAsync(['node', 'wdp', 'days', 'release', '2026-01-05', '--remote']);
    assert.deepEqual(JSON.parse(s3.text(l.watermark)!).files['2026-01-04'], [recorded]);
  });

  it('a day that is not YYYY-MM-DD is refused, naming it', async () => {
    await assert.rejects(
      buildCli().parseAsync(['node', 'wdp', 'days', 'drop', '5th', '--remote']),
      /DAY must be a YYYY-MM-DD partition date, a real calendar day, got "5th"/,
    );
  });

  it('an impossible calendar date is refused before the bucket is touched (2026-13-45, 2026-02-30)', async () => {
    for (const bad of ['2026-13-45', '2026-02-30', '2026-00-10']) {
      await assert.rejects(
        buildCli().parseAsync(['node', 'wdp', 'days', 'release', bad, '--remote']),
        new RegExp(`a real calendar day, got "${bad}"`),
      );
    }
    assert.equal(s3.puts().length, 1, 'only the watermark this test wrote');
    await buildCli().parseAsync(['node', 'wdp', 'days', 'release', '2026-01-05', '--remote']);
  });
});
