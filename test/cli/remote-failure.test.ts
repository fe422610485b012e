/**
 * `wdp pipeline --remote` reports a failed step as a local run does (`<state>: <error>: <message>`),
 * not as the Lambda error payload Step Functions records as the task's Cause.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { startAndFollow } from '../../cli/aws-remote.ts';
import { failureMessage } from '../../cli/remote-failure.ts';

const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 2, 0, s));
const MESSAGE = "the registry's champion is v3 (m3), but run r7 was validated against v2 (m2): not promoting, nothing written";
/** As the Node.js Lambda runtime reports a thrown ChampionChangedError (Step Functions' Cause). */
const LAMBDA_CAUSE = JSON.stringify({
  errorType: 'ChampionChangedError',
  errorMessage: MESSAGE,
  trace: [`ChampionChangedError: ${MESSAGE}`, '    at promoteRun (file:///var/task/index.mjs:2:81234)'],
});

test('failureMessage: a Lambda error payload gives its message; any other cause stays as recorded', () => {
  assert.equal(failureMessage(LAMBDA_CAUSE), MESSAGE);
  const batchCause = '{"JobName":"wdp-train-r7","Status":"FAILED","StatusReason":"Essential container in task exited"}';
  assert.equal(failureMessage(batchCause), batchCause);
  assert.equal(failureMessage('Rate Exceeded.'), 'Rate Exceeded.');
  assert.equal(failureMessage(undefined), '');
});

test('a failed execution names the step that failed and its message; a retried failure that then succeeded is not it', async () => {
  const sfn = mockClient(SFNClient);
  try {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:7', startDate: t(0) });
    const entered = (id: number, name: string) => ({
      id,
      previousEventId: id - 1,
      type: 'TaskStateEntered',
      timestamp: t(id),
      stateEnteredEventDetails: { name },
    });
    const next = (id: number, type: string, extra: object = {}) => ({ id, previousEventId: id - 1, type, timestamp: t(id), ...extra });
    const events = [
      { id: 1, type: 'ExecutionStarted', timestamp: t(0) },
      entered(2, 'Ingest'),
      next(3, 'TaskScheduled'),
      next(4, 'TaskStarted'),
      next(5, 'TaskFailed', { taskFailedEventDetails: { error: 'Lambda.ServiceException', cause: 'Rate Exceeded.' } }),
      next(6, 'TaskScheduled'),
      next(7, 'TaskStarted'),
      next(8, 'TaskSucceeded', { taskSucceededEventDetails: { resourceType: 'lambda', resource: 'invoke' } }),
      next(9, 'TaskStateExited', { stateExitedEventDetails: { name: 'Ingest' } }),
      entered(10, 'Promote'),
      next(11, 'TaskScheduled'),
      next(12, 'TaskStarted'),
      next(13, 'TaskFailed', { taskFailedEventDetails: { error: 'ChampionChangedError', cause: LAMBDA_CAUSE } }),
      entered(14, 'UnlockFailed'),
      next(15, 'TaskScheduled'),
      next(16, 'TaskStarted'),
      next(17, 'TaskSucceeded', { taskSucceededEventDetails: { resourceType: 'lambda', resource: 'invoke' } }),
      next(18, 'TaskStateExited', { stateExitedEventDetails: { name: 'UnlockFailed' } }),
      next(19, 'ExecutionFailed'),
    ];
    sfn.on(GetExecutionHistoryCommand).resolves({ events: events as never });
    const cause = 'A step failed; the watermark did not move, so the next run retries the same data';
    sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED', error: 'WorkflowFailed', cause });
    const lines: string[] = [];
    const r = await startAndFollow({
      sfn: new SFNClient({ region: 'us-east-1' }),
      stateMachineArn: 'arn:m',
      input: {},
      print: (l) => lines.push(l),
      pollIntervalMs: 1,
    });
    assert.deepEqual(
      lines.filter((l) => l.startsWith('✗')),
      ['✗ Ingest: Lambda.ServiceException: Rate Exceeded.', `✗ Promote: ChampionChangedError: ${MESSAGE}`],
    );
    assert.equal(r.failedTask, `Promote: ChampionChangedError: ${MESSAGE}`);
    assert.equal(lines.at(-1), `FAILED: WorkflowFailed: ${cause} (at Promote: ChampionChangedError: ${MESSAGE})`);
  } finally {
    sfn.restore();
  }
});
