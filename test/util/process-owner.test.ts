/**
 * Owners of leftovers: a pid, and on Linux the process's start, so that a reused pid (a restarted
 * container's command gets the same small pid under the same host name) is not taken for the owner.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ownerRuns, processStart, thisProcessStart } from '../../src/util/process-owner.ts';

const linux = process.platform === 'linux';
/** The pid of a process that has exited (a child that ran and was reaped). */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

describe('process owners', () => {
  it('reads a process start on Linux as <boot>:<ticks>, and none for a gone pid', { skip: !linux }, () => {
    assert.match(thisProcessStart() ?? '', /^[0-9a-f]{8}:\d+$/);
    assert.equal(processStart(process.pid), thisProcessStart());
    assert.equal(processStart(deadPid()), undefined);
    // A parent started no later than its child.
    const [, parentTicks] = (processStart(process.ppid) ?? '').split(':');
    const [, ownTicks] = (thisProcessStart() ?? '').split(':');
    assert.ok(Number(parentTicks) <= Number(ownTicks));
  });

  it('an owner runs while its pid lives with the recorded start; a gone or reused pid does not', () => {
    assert.equal(ownerRuns(process.pid), true);
    assert.equal(ownerRuns(process.pid, thisProcessStart()), true);
    assert.equal(ownerRuns(deadPid()), false);
    assert.equal(ownerRuns(deadPid(), '0123abcd:5'), false);
    if (linux) assert.equal(ownerRuns(process.pid, '0123abcd:5'), false, 'the same pid, started at another time');
  });
});
