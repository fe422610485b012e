/**
 * Ingest's warning for a numeric column whose scale jumped against the champion (cents for
 * dollars): from the footer statistics and the champion's fitted quantile cuts, never a rejection.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createIngestHandler } from '../../../lambdas/ingest.ts';
import type { ColumnFacts } from '../../../src/data/logs.ts';
import type { TransformState } from '../../../src/features/state.ts';
import { layout } from '../../../src/workflow/bucket/layout.ts';
import type { IngestResult } from '../../../src/workflow/schemas.ts';
import { fittedRanges, scaleWarnings } from '../../../src/workflow/steps/ingest-scale.ts';
import { promoteRun } from '../../../src/workflow/steps/promote.ts';
import { FileServingTarget } from '../../../src/workflow/steps/serving-target.ts';
import { editDay } from '../../helpers/parquet-edit.ts';
import { addDays, stageTrainedRun, tempLogBuckets, writeConfig } from '../../helpers/workflow-fixture.ts';

const numeric = (quantileCuts: number[], boundaries: number[] = [], wideBuckets: number | null = null) => ({
  kind: 'numeric' as const,
  quantiles: 4,
  quantileCuts,
  boundaries,
  wideBuckets,
});
const facts = (min: number, max: number): ColumnFacts => ({ type: 'DOUBLE', family: 'number', min, max });
const file = (uri: string, columns: Record<string, ColumnFacts>) => ({
  file: { uri, sizeBytes: 1 },
  facts: new Map(Object.entries(columns)),
});

describe('scale warnings from footer statistics (real values)', () => {
  // Prices in dollars: cuts at 0.99 / 2.99 / 4.99, explicit wide boundaries (not fitted: not counted).
  const transforms = { features: { price: numeric([0.99, 2.99, 4.99], [1000]), zero: numeric([0]) } } as unknown as TransformState;

  it('the fitted range is the quantile cuts, widened by the newest trained file and never by explicit boundaries', () => {
    assert.deepEqual(
      [...fittedRanges(transforms)],
      [
        ['price', { min: 0.99, max: 4.99 }],
        ['zero', { min: 0, max: 0 }],
      ],
    );
    assert.deepEqual(fittedRanges(transforms, new Map([['price', facts(0, 19.99)]])).get('price'), { min: 0, max: 19.99 });
  });

  it('cents for dollars warns naming file, column and both ranges; ordinary drift and an always-zero column do not', () => {
    const fitted = fittedRanges(transforms, new Map([['price', facts(0, 19.99)]]));
    const warnings = scaleWarnings(
      [
        file('s3://b/logs/dt=2026-01-03/cents.parquet', { price: facts(0, 1999), zero: facts(0, 3) }),
        // Three times the trained maximum: drift, not a unit change.
        file('s3://b/logs/dt=2026-01-03/drift.parquet', { price: facts(0, 59.99) }),
      ],
      fitted,
      'v3',
    );
    assert.deepEqual(warnings, [
      {
        uri: 's3://b/logs/dt=2026-01-03/cents.parquet',
        column: 'price',
        message:
          'column "price": values from 0 to 1999 (file statistics) lie far outside the range champion v3 was fitted on, 0 to 19.99 (more than 20× its scale beyond it): a unit change (cents for dollars)? Values past the fitted range all fall in its last quantile bucket',
      },
    ]);
    // Below the range too (a sign flip, a negative offset).
    assert.equal(scaleWarnings([file('f', { price: facts(-5000, 1) })], fitted, 'v3').length, 1);
  });
});

describe('Ingest with a champion', () => {
  const newBucket = tempLogBuckets('wdp-ingest-scale-', 300);

  it('a day with app_price ×100 is ingested and trained, with a warning in the result; an ordinary day raises none', async () => {
    const bucket = await newBucket();
    await writeConfig(bucket);
    const l = layout(bucket);
    await promoteRun({ manifestUri: await stageTrainedRun(bucket, 'run-1'), serving: new FileServingTarget(l.servingPointer) });
    const [ordinary, cents] = await addDays(bucket, 2, { rowsPerDay: 300 });
    const centsFile = join(bucket, 'logs', `dt=${cents}`, 'part-00000.parquet');
    await editDay(centsFile, (c) => {
      for (let i = 0; i < c.app_price.length; i++) c.app_price[i] = c.app_price[i]! * 100;
    });
    const r = (await createIngestHandler({ bucketUri: bucket })({ executionName: 'scale' })) as IngestResult;
    assert.ok(r.hasNewData);
    assert.deepEqual(r.quarantined, [], 'a warning, not a rejection');
    assert.deepEqual(r.trainPartitions, ['2026-01-02', ordinary], `the ×100 day ${cents} is the holdout; the others train`);
    assert.deepEqual(
      r.scaleWarnings?.map((w) => [w.uri, w.column]),
      [[centsFile, 'app_price']],
    );
    assert.match(
      r.scaleWarnings![0]!.message,
      /values from 0 to \d+(\.\d+)? \(file statistics\) lie far outside the range champion v1 was fitted on, 0 to \d/,
    );
  });
});
