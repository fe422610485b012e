import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { describe, it } from 'node:test';
import { machineInfo } from '../../src/bench/machine.ts';

describe('machineInfo (printed with every benchmark)', () => {
  it("names this machine's CPU model, its flags and its SIMD subset", () => {
    const m = machineInfo();
    assert.ok(m.cpu_model.length > 0 && m.cpu_model !== 'unknown', m.cpu_model);
    assert.equal(m.cores, cpus().length);
    assert.ok(m.available_cpus >= 1 && m.available_cpus <= m.cores);
    // Every x86-64 CPU has SSE2; the SIMD list is the flags' subset.
    if (process.arch === 'x64') assert.ok(m.flags.includes('sse2') && m.simd_flags.includes('sse2'));
    for (const f of m.simd_flags) assert.ok(m.flags.includes(f), f);
  });
});
