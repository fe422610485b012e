/**
 * Values from data (a file name, a cell, a request's key, a quarantined file, a model id) reach
 * the terminal through `wdp`'s messages with their control characters escaped
 * (src/util/terminal-text.ts): a token holding ESC sequences, a C1 control or a `\r` must not
 * clear, retitle or rewrite the user's terminal.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TINY_CONFIG } from '../helpers/tiny-data.ts';
import { promotedEntry } from '../helpers/registry-fixture.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';

/** Clear screen, an OSC 8 hyperlink, a C1 CSI and a carriage return: each rewrites a terminal. */
const HOSTILE = '\u001b[2J\u001b]8;;https://evil.example/\u0007click\u001b]8;;\u0007\u009b31m\r';
/** What the output may hold instead, escaped. */
const SHOWN = /\\u001b\[2J\\u001b\]8;;https:\/\/evil\.example\/\\u0007click/;

let dir: string;
let bucket: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-terminal-'));
  bucket = join(dir, 'bucket');
  await writeFile(join(dir, 'wdp.config.json'), JSON.stringify(TINY_CONFIG));
});
after(() => rm(dir, { recursive: true, force: true }));

const wdp = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/wdp.mjs', ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' } });

/** Every C0 control but tab and newline, DEL and C1: none may be printed raw. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

function assertNoRawControls(r: ReturnType<typeof wdp>, what: string): string {
  const printed = `${r.stdout}${r.stderr}`;
  const at = printed.search(RAW_CONTROL);
  assert.equal(at, -1, `${what}: raw control U+${printed.charCodeAt(at).toString(16).padStart(4, '0')} in ${JSON.stringify(printed)}`);
  return printed;
}

test('a log file name and a cell value from data: the training error shows them escaped', async () => {
  const logs = join(dir, 'logs');
  await mkdir(logs);
  // A file name may hold any byte but `/` and NUL.
  await writeFile(join(logs, 'part\u001b[2J\u009b31m\r.csv'), `user,item,tags,x,y\nu1,i1,t,${HOSTILE},1\n`);
  const r = wdp('train', '--config', join(dir, 'wdp.config.json'), '--data', logs, '--out', join(dir, 'm'), '--backend', 'onnx');
  assert.equal(r.status, 1);
  const printed = assertNoRawControls(r, 'wdp train');
  assert.match(printed, /error: .*part\\u001b\[2J.*column "x".*not a number: "\\u001b\[2J/);
});

test('a scoring request with a hostile key: `wdp invoke` prints the 400 escaped', async () => {
  await saveTinyModel(join(bucket, 'models', 'registry'), 'v1', { modelId: 'm-v1' });
  await mkdir(join(bucket, 'serving'), { recursive: true });
  await writeFile(
    join(bucket, 'serving', 'live.json'),
    JSON.stringify({ modelUri: 'models/registry/v1', version: 1, modelId: 'm-v1', at: '2026-01-01T00:00:00Z', keys: 'bucket-relative' }),
  );
  const request = JSON.stringify({ context: { [`us${HOSTILE}er`]: 'u1' }, candidates: [{ item: 'i1' }] });
  const r = wdp('invoke', '--bucket', bucket, '--request', request);
  assert.equal(r.status, 1);
  const printed = assertNoRawControls(r, 'wdp invoke');
  assert.match(printed, /error: unknown feature\(s\): context\.us\\u001b\[2J/);
});

test('`wdp days` and `wdp models list` listings escape file names, reasons and model ids from the bucket', async () => {
  await mkdir(join(bucket, 'state'), { recursive: true });
  await writeFile(
    join(bucket, 'state', 'quarantine.json'),
    JSON.stringify({
      formatVersion: 1,
      keys: 'bucket-relative',
      files: [
        {
          uri: 'logs/dt=2026-01-01/part-0.parquet',
          sizeBytes: 1,
          partition: '2026-01-01',
          reason: `column "x": not a number: ${HOSTILE}`,
          runId: 'r1',
          at: '2026-01-02T00:00:00Z',
        },
      ],
    }),
  );
  const days = wdp('days', '--bucket', bucket);
  assert.equal(days.status, 0, days.stderr);
  assert.match(assertNoRawControls(days, 'wdp days'), SHOWN);

  await mkdir(join(bucket, 'registry'), { recursive: true });
  const modelId = `m-v1${HOSTILE}`;
  await writeFile(
    join(bucket, 'registry', 'registry.json'),
    JSON.stringify({
      formatVersion: 1,
      keys: 'bucket-relative',
      champion: { version: 1, uri: 'models/registry/v1', modelId },
      history: [promotedEntry('models/registry/v1', 1, modelId)],
    }),
  );
  const models = wdp('models', 'list', '--bucket', bucket);
  assert.match(assertNoRawControls(models, 'wdp models list'), SHOWN);
});
