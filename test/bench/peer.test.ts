import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bestCoreFor, coreToForce, openblasTier, peerRunner } from '../../src/bench/peer.ts';

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

describe('peerRunner', () => {
  it('runs the peer once per call and keeps each run p50 beside the median', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wdp-peer-'));
    // A stand-in peer whose p50 is read from a list, one per run.
    const script = join(dir, 'peer.py');
    await writeFile(
      script,
      [
        'import json, os, sys',
        // Where OpenBLAS picks weaker kernels than the CPU has, the runner also runs it forced
        // (see the module comment): that variant is made the slower, so the list is compared.
        'if "numpy" in sys.modules:  # the forcing launcher loads numpy before the script',
        '    print(json.dumps({"engine": "fake", "train_examples_per_s": 1, "score_p50_ms": 1000, "score_p99_ms": 1000}))',
        '    sys.exit(0)',
        `counter = ${JSON.stringify(join(dir, 'n'))}`,
        'n = int(open(counter).read()) if os.path.exists(counter) else 0',
        'open(counter, "w").write(str(n + 1))',
        'assert sys.argv[1:3] == ["--shape", "small"], sys.argv',
        'print(json.dumps({"engine": "fake", "train_examples_per_s": 1, "score_p50_ms": [30, 10, 20][n], "score_p99_ms": 40}))',
      ].join('\n'),
    );
    const saved = process.env['WDP_PEER_SCRIPT'];
    process.env['WDP_PEER_SCRIPT'] = script;
    try {
      const runner = await peerRunner('small');
      assert.ok(runner);
      assert.throws(() => runner.result(), /no run yet/);
      for (let i = 0; i < 3; i++) await runner.runOnce();
      const r = runner.result();
      assert.deepEqual(r.run_p50_ms, [30, 10, 20]);
      assert.equal(r.score_p50_ms, 20);
      assert.equal(r.runs, 3);
    } finally {
      if (saved === undefined) delete process.env['WDP_PEER_SCRIPT'];
      else process.env['WDP_PEER_SCRIPT'] = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
