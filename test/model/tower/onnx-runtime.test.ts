import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import {
  availableCpus,
  cgroupCpuQuota,
  defaultIntraOpThreads,
  lambdaCpuShare,
  onnxSessionOptions,
} from '../../../src/model/tower/onnx-runtime.ts';

const files = (map: Record<string, string>) => (path: string) => map[path];

describe('availableCpus (ONNX Runtime intra-op threads)', () => {
  it('reads a cgroup v2 quota: 150000/100000 is 1.5 CPUs, which gives 1 thread', () => {
    const read = files({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' });
    assert.equal(cgroupCpuQuota(read), 1.5);
    assert.equal(availableCpus(read), 1);
  });

  it('"max" means no quota: the CPUs the process is scheduled on', () => {
    const read = files({ '/sys/fs/cgroup/cpu.max': 'max 100000\n' });
    assert.equal(cgroupCpuQuota(read), undefined);
    assert.equal(availableCpus(read), availableParallelism());
  });

  it('reads a cgroup v1 quota, and -1 there means none', () => {
    assert.equal(
      cgroupCpuQuota(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '200000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' })),
      2,
    );
    assert.equal(
      cgroupCpuQuota(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' })),
      undefined,
    );
  });

  it('a quota above the CPUs is capped by them, and never goes below 1', () => {
    assert.equal(
      availableCpus(files({ '/sys/fs/cgroup/cpu.max': `${(availableParallelism() + 8) * 100000} 100000` })),
      availableParallelism(),
    );
    assert.equal(availableCpus(files({ '/sys/fs/cgroup/cpu.max': '10000 100000' })), 1);
  });

  it('no cgroup files: the CPUs the process is scheduled on', () => {
    assert.equal(
      availableCpus(() => undefined),
      availableParallelism(),
    );
  });

  it('the session options default to availableCpus(), and an explicit count wins', () => {
    assert.equal(onnxSessionOptions().threads, availableCpus());
    assert.equal(onnxSessionOptions({ intraOpNumThreads: 3 }).options.intraOpNumThreads, 3);
  });

  it("a Lambda function's memory caps the threads: 1 at 2,048 MB (1.16 vCPUs of time), 2 at 3,008 MB, all 6 at 10,240 MB", () => {
    assert.equal(lambdaCpuShare(1769), 1);
    assert.equal(defaultIntraOpThreads(2, lambdaCpuShare(2048)), 1);
    assert.equal(defaultIntraOpThreads(2, lambdaCpuShare(3008)), 2);
    assert.equal(defaultIntraOpThreads(6, lambdaCpuShare(10_240)), 6);
    assert.equal(defaultIntraOpThreads(2, lambdaCpuShare(128)), 1);
    assert.equal(defaultIntraOpThreads(4, undefined), 4);
    assert.equal(lambdaCpuShare(Number(undefined)), undefined);
  });
});
