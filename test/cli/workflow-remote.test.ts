import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { runRemoteBatch, runRemoteInvoke, runRemotePipeline } from '../../cli/workflow-remote.ts';

const region = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } };
const outputs = [
  { OutputKey: 'RetrainingStateMachineArn', OutputValue: 'arn:aws:states:us-east-1:1:stateMachine:retrain' },
  { OutputKey: 'BatchScoringStateMachineArn', OutputValue: 'arn:aws:states:us-east-1:1:stateMachine:batch' },
  { OutputKey: 'ScoringFunctionName', OutputValue: 'wdp-score' },
];

describe('--remote commands (SFN, CloudFormation and Lambda mocked with aws-sdk-client-mock)', () => {
  const sfnMock = mockClient(SFNClient);
  const cfnMock = mockClient(CloudFormationClient);
  const lambdaMock = mockClient(LambdaClient);
  const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 2, 0, s));
  /** Ingest's result in its state output, with one file of each kind a local run names after it. */
  const ingestResult = {
    hasNewData: true,
    runId: 'r1',
    manifestUri: 's3://b/runs/r1/manifest.json',
    candidateUri: 's3://b/candidates/r1/',
    trainPartitions: ['2026-01-02'],
    holdoutPartitions: ['2026-01-03'],
    champion: null,
    quarantined: [{ uri: 's3://b/logs/dt=2026-01-02/bad.parquet', reason: 'not a Parquet file' }],
    lateFiles: ['s3://b/logs/dt=2026-01-01/late.parquet'],
    skippedFiles: [{ uri: 's3://b/logs/dt=2026-01-02/a\u001b[2J.parquet', reason: 'it contains a control character' }],
  };

  beforeEach(() => {
    sfnMock.reset();
    cfnMock.reset();
    lambdaMock.reset();
    cfnMock
      .on(DescribeStacksCommand)
      .resolves({ Stacks: [{ StackName: 'Wdp', CreationTime: t(0), StackStatus: 'CREATE_COMPLETE', Outputs: outputs }] });
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:1', startDate: t(0) });
    // First poll: Ingest done; second poll: everything; the execution succeeds on the second describe.
    const early = [
      { id: 1, type: 'ExecutionStarted', timestamp: t(0) },
      { id: 2, type: 'TaskStateEntered', timestamp: t(0), stateEnteredEventDetails: { name: 'Ingest' } },
      {
        id: 3,
        type: 'TaskStateExited',
        timestamp: t(2),
        stateExitedEventDetails: { name: 'Ingest', output: JSON.stringify({ ingest: ingestResult }) },
      },
    ];
    const all = [
      ...early,
      { id: 4, type: 'TaskStateEntered', timestamp: t(2), stateEnteredEventDetails: { name: 'Train' } },
      { id: 5, type: 'TaskStateExited', timestamp: t(50), stateExitedEventDetails: { name: 'Train' } },
    ];
    sfnMock
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: early as never })
      .resolves({ events: all as never });
    sfnMock
      .on(DescribeExecutionCommand)
      .resolvesOnce({ executionArn: 'arn:exec:1', stateMachineArn: 'x', status: 'RUNNING', startDate: t(0) })
      .resolves({
        executionArn: 'arn:exec:1',
        stateMachineArn: 'x',
        status: 'SUCCEEDED',
        startDate: t(0),
        output: '{"promotion":{"version":3}}',
      });
  });

  it('pipeline --remote finds the machine in the stack outputs, starts it and prints each state once', async () => {
    const lines: string[] = [];
    const r = await runRemotePipeline({
      stack: 'Wdp',
      sfn: new SFNClient(region),
      cfn: new CloudFormationClient(region),
      pollIntervalMs: 1,
      print: (l) => lines.push(l),
    });
    assert.equal(r.status, 'SUCCEEDED');
    assert.deepEqual(r.output, { promotion: { version: 3 } });
    assert.equal(
      sfnMock.commandCalls(StartExecutionCommand)[0]!.args[0].input.stateMachineArn,
      'arn:aws:states:us-east-1:1:stateMachine:retrain',
    );
    assert.deepEqual(
      lines.filter((l) => l.startsWith('✓')).map((l) => l.replace(/\s+/g, ' ')),
      ['✓ Ingest 2.0s', '✓ Train 48.0s'],
    );
    // Ingest's notices right after its line, as a local run prints them (the name JSON-quoted).
    const at = lines.findIndex((l) => l.startsWith('✓ Ingest'));
    assert.deepEqual(lines.slice(at + 1, at + 4), [
      '  quarantined s3://b/logs/dt=2026-01-02/bad.parquet: not a Parquet file',
      '  late file s3://b/logs/dt=2026-01-01/late.parquet: trained in this run',
      '  WARNING skipped "s3://b/logs/dt=2026-01-02/a\\u001b[2J.parquet": it contains a control character',
    ]);
  });

  it('pipeline --remote says where to look when the history holds no Ingest result (truncated, no execution data)', async () => {
    const events = [
      { id: 1, type: 'ExecutionStarted', timestamp: t(0) },
      { id: 2, type: 'TaskStateEntered', timestamp: t(0), stateEnteredEventDetails: { name: 'Ingest' } },
      { id: 3, type: 'TaskStateExited', timestamp: t(2), stateExitedEventDetails: { name: 'Ingest', outputDetails: { truncated: true } } },
    ];
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: events as never });
    const lines: string[] = [];
    await runRemotePipeline({
      stack: 'Wdp',
      sfn: new SFNClient(region),
      cfn: new CloudFormationClient(region),
      pollIntervalMs: 1,
      print: (l) => lines.push(l),
    });
    assert.ok(
      lines.some((l) => /Ingest's result is not in the execution history: `wdp runs --remote`/.test(l)),
      lines.join('\n'),
    );
  });

  it('score-batch --remote passes the prefixes as the execution input', async () => {
    const r = await runRemoteBatch({
      stack: 'Wdp',
      inputPrefix: 'batch/input/d/',
      outputPrefix: 'batch/output/d/',
      sfn: new SFNClient(region),
      cfn: new CloudFormationClient(region),
      pollIntervalMs: 1,
    });
    assert.equal(r.status, 'SUCCEEDED');
    const start = sfnMock.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    assert.equal(start.stateMachineArn, 'arn:aws:states:us-east-1:1:stateMachine:batch');
    assert.deepEqual(JSON.parse(start.input!), { inputPrefix: 'batch/input/d/', outputPrefix: 'batch/output/d/' });
  });

  it('an explicit --state-machine-arn skips the stack lookup', async () => {
    await runRemotePipeline({
      stack: 'Wdp',
      stateMachineArn: 'arn:explicit',
      sfn: new SFNClient(region),
      cfn: new CloudFormationClient(region),
      pollIntervalMs: 1,
    });
    assert.equal(cfnMock.commandCalls(DescribeStacksCommand).length, 0);
    assert.equal(sfnMock.commandCalls(StartExecutionCommand)[0]!.args[0].input.stateMachineArn, 'arn:explicit');
  });

  it('invoke --remote calls alias live of the scoring function', async () => {
    lambdaMock
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, Payload: new TextEncoder().encode('{"modelVersion":"v3","scores":[0.2]}') as never });
    const r = await runRemoteInvoke({
      stack: 'Wdp',
      request: { context: {}, candidates: [{}] },
      lambda: new LambdaClient(region),
      cfn: new CloudFormationClient(region),
    });
    assert.deepEqual(r, { modelVersion: 'v3', scores: [0.2] });
    const call = lambdaMock.commandCalls(InvokeCommand)[0]!.args[0].input;
    assert.equal(call.FunctionName, 'wdp-score');
    assert.equal(call.Qualifier, 'live');
  });

  it('invoke --remote surfaces a function error', async () => {
    lambdaMock
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: new TextEncoder().encode('{"errorMessage":"boom"}') as never });
    await assert.rejects(
      runRemoteInvoke({
        stack: 'Wdp',
        functionName: 'f',
        request: {},
        lambda: new LambdaClient(region),
        cfn: new CloudFormationClient(region),
      }),
      /Unhandled.*boom/,
    );
  });
});
