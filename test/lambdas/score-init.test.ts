/**
 * The scoring Lambda's init phase, in a child process that imports lambdas/score.ts as the Node.js
 * runtime does: Lambda freezes an environment once its init code returns, so the model must be
 * loaded (and, provisioned, warmed up) before the import settles, not merely started.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { initWaitMs, readConfig, warmsUp } from '../../lambdas/score.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';

let dir: string;
let uri: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-score-init-'));
  uri = await saveTinyModel(dir, 'm');
});
after(() => rm(dir, { recursive: true, force: true }));

/** The messages logged during the import, then 'INIT DONE' when it settled. */
function initPhase(env: Record<string, string>): string[] {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', "await import('./lambdas/score.ts'); console.log('INIT DONE');"],
    {
      encoding: 'utf8',
      env: {
        ...process.env,
        AWS_LAMBDA_FUNCTION_NAME: 'wdp-score-test',
        WDP_MODEL_URI: uri,
        WDP_SCORING_BACKEND: 'js',
        WDP_MAX_CANDIDATES: '20',
        ...env,
      },
    },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .map((line) => {
      if (line === 'INIT DONE') return line;
      try {
        return String((JSON.parse(line) as { message?: unknown }).message ?? '');
      } catch {
        return '';
      }
    })
    .filter((m) => m !== '');
}

test('provisioned concurrency: the import settles only once the model is loaded and warmed up', () => {
  const messages = initPhase({ AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency' });
  assert.deepEqual(
    messages.filter((m) => ['model loaded', 'warmed up', 'INIT DONE'].includes(m)),
    ['model loaded', 'warmed up', 'INIT DONE'],
  );
});

test('on demand: the model is loaded within the init phase, with no warm-up (a caller is already waiting)', () => {
  const messages = initPhase({ AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' });
  assert.deepEqual(
    messages.filter((m) => ['model loaded', 'warmed up', 'INIT DONE'].includes(m)),
    ['model loaded', 'INIT DONE'],
  );
});

test('WDP_PRELOAD=0: the init phase loads nothing; WDP_WARM_UP=1 warms up on demand too', () => {
  assert.deepEqual(initPhase({ WDP_PRELOAD: '0' }), ['INIT DONE']);
  const forced = initPhase({ AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand', WDP_WARM_UP: '1' });
  assert.deepEqual(
    forced.filter((m) => ['model loaded', 'warmed up', 'INIT DONE'].includes(m)),
    ['model loaded', 'warmed up', 'INIT DONE'],
  );
});

test('how long init waits, and when it warms up', () => {
  assert.equal(initWaitMs('on-demand'), 8_000, 'under the 10 s on-demand init limit');
  assert.equal(initWaitMs(undefined), 8_000);
  assert.equal(initWaitMs('provisioned-concurrency'), 120_000, 'under the 130 s provisioned init limit');
  assert.equal(warmsUp({ AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency' }), true);
  assert.equal(warmsUp({ AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency', WDP_WARM_UP: '0' }), false);
  assert.equal(warmsUp({ AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' }), false);
  assert.equal(warmsUp({ WDP_WARM_UP: '1' }), true);
  assert.equal(readConfig({ WDP_MODEL_URI: uri, AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency' }).warmUp, true);
  assert.throws(() => readConfig({ WDP_MODEL_URI: uri, WDP_WARM_UP: 'yes' }), /WDP_WARM_UP must be 1 or 0, got yes/);
});

test('a bad WDP_WARM_UP is a misconfiguration: the init phase loads nothing and each event answers 500 naming it in the log', () => {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      "const m = await import('./lambdas/score.ts'); console.log('INIT DONE'); console.log(JSON.stringify(await m.handler({ candidates: [] }, { awsRequestId: 'r1' })));",
    ],
    { encoding: 'utf8', env: { ...process.env, AWS_LAMBDA_FUNCTION_NAME: 'wdp-score-test', WDP_MODEL_URI: uri, WDP_WARM_UP: 'yes' } },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /INIT DONE/);
  // Powertools writes errors to stderr.
  assert.match(r.stderr, /"message":"scoring function is misconfigured".*WDP_WARM_UP must be 1 or 0, got yes/);
  assert.match(r.stdout, /"statusCode":500,"error":"scoring is misconfigured \(request id r1\)"/);
  assert.doesNotMatch(r.stdout + r.stderr, /model loaded/);
});
