/**
 * The failure notification of the deployed retraining machine, run through the local runner
 * (aws-local-stepfunctions executes the synthesized definition): it says what a local run prints,
 * `<state>: <error>: <message>`, whether the Cause is a Lambda's error payload (JSON with a stack
 * trace, as on AWS) or a plain message (as the local runner gives it), plus the execution and what
 * to do next.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { synthesizedDefinitions } from '../../local/definition.ts';
import { executeLocally, type LocalTaskHandler } from '../../local/execute.ts';
import { RETRAINING_STATES as S } from '../../src/workflow/state-names.ts';

interface Notification {
  Subject: string;
  Message: { result: string; failure: string; execution: string; executionName: string; next: string };
}

/** Runs the retraining definition with `Ingest` (or the state named) failing as `fail` does; returns what NotifyFailure published. */
async function failingRun(fail: () => never, options: { at?: string; unlockFails?: boolean } = {}) {
  const { retraining } = await synthesizedDefinitions();
  const published: Notification[] = [];
  const ok: LocalTaskHandler = async () => ({});
  const handlers: Record<string, LocalTaskHandler> = {};
  for (const [name, state] of Object.entries(retraining.States)) if (state.Type === 'Task') handlers[name] = ok;
  handlers[S.lock] = async () => ({ acquired: true, message: 'taken' });
  handlers[S.ingest] = async () => ({ hasNewData: true, runId: 'r1', manifestUri: 'm', quarantined: [] });
  handlers[S.train] = async () => ({ JobId: 'j1', Status: 'SUCCEEDED' });
  handlers[options.at ?? S.ingest] = async () => fail();
  if (options.unlockFails)
    handlers[S.unlockFailed] = async () => {
      throw new Error('the lock is gone');
    };
  handlers[S.notifyFailure] = async (input) => {
    published.push(input as Notification);
    return { MessageId: 'x' };
  };
  const run = await executeLocally({ definition: retraining, input: {}, handlers, executionName: 'exec-7' });
  assert.equal(run.status, 'failed');
  assert.equal(published.length, 1, JSON.stringify(run.states));
  return published[0]!;
}

/** An error as the Lambda runtime reports it to Step Functions: errorType as Error, the JSON payload as Cause. */
function lambdaPayloadError(errorType: string, errorMessage: string, payload?: string): Error {
  const cause =
    payload ??
    JSON.stringify({ errorType, errorMessage, trace: [`${errorType}: ${errorMessage}`, '    at ingest (/var/task/index.mjs:1:2)'] });
  return Object.assign(new Error(cause), { name: errorType });
}

describe('the failure notification (cdk/failure.ts) through the local runner', () => {
  it('a Lambda error payload as Cause: <state>: <error>: <message>, no JSON, no stack trace; the execution and what to do next', async () => {
    const message = 'state/watermark.json names "logs/a\\\\b.parquet", refusing to use it';
    const n = await failingRun(() => {
      throw lambdaPayloadError('BucketPathError', message);
    });
    assert.equal(n.Subject, 'wdp retraining failed');
    assert.equal(n.Message.result, 'failed');
    // aws-local-stepfunctions 3.0.0 drops every backslash from an intrinsic's string result (its
    // BaseIntrinsicFunction.call); Step Functions keeps them. Only the local notification differs.
    assert.equal(n.Message.failure, `Ingest: BucketPathError: ${message.replaceAll('\\', '')}`);
    assert.equal(n.Message.executionName, 'exec-7');
    assert.match(n.Message.execution, /^arn:aws:states:.*:exec-7$/);
    assert.match(n.Message.next, /the next run retries the same data.*wdp pipeline --remote/);
    const text = JSON.stringify(n.Message);
    assert.ok(!text.includes('trace') && !text.includes('index.mjs') && !text.includes('errorType'), text);
  });

  it('a plain Cause (what the local runner gives) reads the same', async () => {
    const n = await failingRun(() => {
      throw Object.assign(new Error('no config at s3://b/config/wdp.config.json'), { name: 'WorkflowError' });
    });
    assert.equal(n.Message.failure, 'Ingest: WorkflowError: no config at s3://b/config/wdp.config.json');
  });

  it('a Lambda payload cut short (Step Functions truncates a long Cause) is given as recorded, still notified', async () => {
    const cut = '{"errorType":"WorkflowError","errorMessage":"3 log file(s) cannot be trained on: s3://b/logs/dt=2026-01-0';
    const n = await failingRun(() => {
      throw lambdaPayloadError('WorkflowError', '', cut);
    });
    assert.equal(n.Message.failure, `Ingest: WorkflowError: ${cut}`);
  });

  it('names the state that failed, also when the lock release on the failure path fails too', async () => {
    const n = await failingRun(
      () => {
        throw lambdaPayloadError('ValidationError', 'holdout has one label class');
      },
      { at: S.validate, unlockFails: true },
    );
    assert.equal(n.Message.failure, 'Validate: ValidationError: holdout has one label class');
  });
});
