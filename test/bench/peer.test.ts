import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bestCoreFor, coreToForce, openblasTier } from '../../src/bench/peer.ts';

const sapphireRapids = new Set(['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512dq']);
const epycZen3 = new Set(['sse4_2', 'avx', 'avx2', 'fma']);

describe('peer OpenBLAS kernels', () => {
  it('ranks cores by vector width, unknown names lowest', () => {
    assert.equal(openblasTier('Prescott'), 0);
    assert.equal(openblasTier('Haswell'), 2);
    assert.equal(openblasTier('SkylakeX'), 3);
    assert.equal(openblasTier('Cooperlake'), 3);
    assert.equal(openblasTier('SomethingNew'), 0);
  });

  it('picks the best core the flags allow', () => {
    assert.equal(bestCoreFor(sapphireRapids), 'SkylakeX');
    assert.equal(bestCoreFor(epycZen3), 'Haswell');
    assert.equal(bestCoreFor(new Set(['sse2'])), undefined);
  });

  it('forces a core only when OpenBLAS chose a weaker one', () => {
    assert.equal(coreToForce('Prescott', sapphireRapids), 'SkylakeX');
    assert.equal(coreToForce('Haswell', sapphireRapids), 'SkylakeX');
    assert.equal(coreToForce('Cooperlake', sapphireRapids), undefined);
    assert.equal(coreToForce('Zen', epycZen3), undefined);
    assert.equal(coreToForce(undefined, sapphireRapids), undefined);
  });
});
