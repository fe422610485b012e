/**
 * The int8 tower's gate in Validate, on a real candidate trained with `serving.quantize: "int8"`:
 * a good quantization serves int8; a planted bad one (one corrupted per-channel scale) is
 * refused with values and thresholds named, the run still passes and the registry copy serves
 * float32.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createIngestHandler } from '../../../lambdas/ingest.ts';
import { copyModelFiles, decodeInt8Tower, encodeInt8Tower, INT8_TOWER_FILE } from '../../../src/model/artifact.ts';
import { readManifest } from '../../../src/model/manifest.ts';
import { storeFor } from '../../../src/storage/index.ts';
import { Scorer } from '../../../src/scoring/index.ts';
import { readJson, writeJson } from '../../../src/workflow/bucket/json-store.ts';
import { layout } from '../../../src/workflow/bucket/layout.ts';
import { type IngestResult, runManifestSchema, validationReportSchema } from '../../../src/workflow/schemas.ts';
import { trainFromManifest } from '../../../src/workflow/steps/train-step.ts';
import { validateRun } from '../../../src/workflow/steps/validate.ts';
import { addDays, smallConfig, TEST_THRESHOLDS } from '../../helpers/workflow-fixture.ts';

describe('Validate: the int8 tower', () => {
  let dir: string;
  let ingest: IngestResult & { hasNewData: true };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wdp-validate-int8-'));
    const config = { ...smallConfig(), serving: { quantize: 'int8' } };
    const uri = layout(dir).config;
    await storeFor(uri).write(uri, JSON.stringify(config));
    await addDays(dir, 2);
    const r = await createIngestHandler({ bucketUri: dir })({ executionName: 'q' });
    assert.ok(r.hasNewData);
    ingest = r;
    await trainFromManifest({ manifestUri: ingest.manifestUri, progress: false });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('the trained candidate lists its int8 tower, and serving picks it', async () => {
    const m = await readManifest(ingest.candidateUri);
    assert.equal(m.config.serving?.quantize, 'int8');
    assert.ok(m.files[INT8_TOWER_FILE]!.bytes > 0);
    const s = await Scorer.load(ingest.candidateUri, { cache: false });
    try {
      assert.equal(s.model.precision, 'int8');
    } finally {
      s.dispose();
    }
  });

  it('a good quantization passes and serves int8, with real figures in validation.json', async () => {
    const r = await validateRun({ manifestUri: ingest.manifestUri, thresholds: TEST_THRESHOLDS });
    assert.equal(r.passed, true, r.reasons.join('; '));
    const report = (await readJson(r.reportUri, validationReportSchema))!;
    // The float32 dry run is unchanged by int8: parity with evaluation to 1e-4.
    assert.ok(report.dryRun.maxAbsDiff <= TEST_THRESHOLDS.parityTolerance);
    const int8 = report.int8!;
    assert.equal(int8.passed, true, int8.reasons.join('; '));
    assert.equal(int8.serves, 'int8');
    const c = int8.comparison as { rows: number; aucDelta: number; spearmanMean: number; topKOverlapMean: number; maxAbsDiff: number };
    assert.equal(c.rows, 5000);
    assert.ok(Math.abs(c.aucDelta) <= 0.0005, `ΔAUC ${c.aucDelta}`);
    assert.ok(c.spearmanMean >= 0.999, `Spearman ${c.spearmanMean}`);
    assert.ok(c.maxAbsDiff > 0, 'int8 scores differ from float32 (activations are quantized)');
    assert.deepEqual(
      int8.checks.map((k) => [k.name, k.passed]),
      [
        ['int8_auc_delta', true],
        ['int8_rank_correlation', true],
        ['int8_top_k_overlap', true],
      ],
    );
  });

  it('a corrupted scale is refused, naming values and thresholds; the run passes and the registry copy serves float32', async () => {
    // Plant the bad quantization in a copy of the candidate (listed with its own sha256, so only the gate can catch it).
    const bad = join(dir, 'bad-candidate');
    const bytes = await storeFor(ingest.candidateUri).read(join(ingest.candidateUri, INT8_TOWER_FILE));
    const m = await readManifest(ingest.candidateUri);
    const q = decodeInt8Tower(new Uint8Array(bytes), m.tower!, 'test');
    const scale = q.quantized.W0!.scale.slice();
    scale[0] = scale[0]! * 40;
    await copyModelFiles(ingest.candidateUri, bad, {
      add: { [INT8_TOWER_FILE]: encodeInt8Tower({ ...q, quantized: { ...q.quantized, W0: { q: q.quantized.W0!.q, scale } } }) },
    });
    const run = (await readJson(ingest.manifestUri, runManifestSchema))!;
    const badRun = join(dir, 'bad-run.json');
    await writeJson(badRun, { ...run, candidateUri: bad });

    const r = await validateRun({ manifestUri: badRun, thresholds: TEST_THRESHOLDS });
    assert.equal(r.passed, true, 'the float32 model is fine: the run is not rejected over int8');
    const report = (await readJson(r.reportUri, validationReportSchema))!;
    const int8 = report.int8!;
    assert.equal(int8.passed, false);
    assert.equal(int8.serves, 'fp32');
    assert.match(
      int8.reasons.join('\n'),
      /int8_rank_correlation: mean Spearman 0\.\d+ \(min -?\d\.\d+\) over 50 groups of 100 rows fails mean Spearman ≥ 0\.999/,
    );
    assert.match(int8.reasons.at(-1)!, /int8 tower refused: the model is promoted and serves float32/);

    // Promote's copy leaves the refused tower out; what serves the copy runs float32.
    const registry = join(dir, 'registry-copy');
    const copied = await copyModelFiles(bad, registry, { omit: [INT8_TOWER_FILE] });
    assert.equal(copied.files[INT8_TOWER_FILE], undefined);
    const s = await Scorer.load(registry, { cache: false });
    try {
      assert.equal(s.model.precision, 'fp32');
    } finally {
      s.dispose();
    }
  });
});
