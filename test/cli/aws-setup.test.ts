import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { awsSetupHint } from '../../cli/aws-setup.ts';

// A machine with no AWS settings at all: no AWS_* variables, and a HOME without ~/.aws. The SDK
// fails on the missing region before it opens any connection.
const home = mkdtempSync(join(tmpdir(), 'wdp-noaws-'));
after(() => rmSync(home, { recursive: true, force: true }));
const env: Record<string, string> = Object.fromEntries(
  Object.entries(process.env).filter((e): e is [string, string] => !e[0].startsWith('AWS_') && e[1] !== undefined),
);
const wdp = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/wdp.mjs', ...args], {
    encoding: 'utf8',
    env: { ...env, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', CI: '1' },
  });

test('--remote without a region names what to set and which stack output it was reading', () => {
  const r = wdp('pipeline', '--remote');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot read the outputs of stack Wdp \(RetrainingStateMachineArn\): no AWS region is set/);
  assert.match(r.stderr, /AWS_REGION/);
  assert.match(r.stderr, /AWS_PROFILE/);
  assert.match(r.stderr, /--stack NAME/);
  assert.doesNotMatch(r.stderr, /NodeVersionSupportWarning/, 'the CLI turns the SDK Node-version banner off');
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test('--remote with an explicit ARN (no stack outputs read) gets the same advice', () => {
  const r = wdp('pipeline', '--remote', '--state-machine-arn', 'arn:aws:states:eu-west-1:123456789012:stateMachine:x');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^error: no AWS region is set\. .*AWS_REGION/);
});

test('missing credentials are explained; other errors are left alone', () => {
  const e = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
  assert.match(awsSetupHint(e) ?? '', /no AWS credentials found\. Set AWS_PROFILE .* AWS_ACCESS_KEY_ID/);
  assert.equal(awsSetupHint(new Error('AccessDenied')), undefined);
  assert.equal(awsSetupHint('Region is missing'), undefined);
});
