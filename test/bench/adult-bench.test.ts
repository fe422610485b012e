import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADULT_TUNED_PATCH, adultBenchConfig } from '../../src/bench/adult-bench.ts';
import { quantileCuts, quantileNormalise } from '../../src/features/quantiles.ts';

describe('bench adult settings', () => {
  it("tuned keeps the tutorial's features and changes only numeric preparation and training", () => {
    const tutorial = adultBenchConfig('tutorial');
    const tuned = adultBenchConfig('tuned');
    assert.deepEqual(tuned.wide, tutorial.wide);
    assert.deepEqual(tuned.deep.embeddings, tutorial.deep.embeddings);
    assert.deepEqual(tuned.deep.numeric, tutorial.deep.numeric);
    assert.deepEqual(tuned.deep.hiddenUnits, tutorial.deep.hiddenUnits);
    assert.deepEqual(Object.keys(tuned.features), Object.keys(tutorial.features));
    assert.deepEqual(tuned.optimizer, tutorial.optimizer);
    for (const f of ['capital_gain', 'capital_loss']) {
      const t = tuned.features[f]!;
      const o = tutorial.features[f]!;
      assert.equal(t.kind === 'numeric' && t.quantiles, 1000, f);
      assert.equal(o.kind === 'numeric' && o.quantiles, 50, f);
      // Only the deep side's quantiles: the wide buckets stay as they were.
      assert.equal(t.kind === 'numeric' && t.wideBuckets, o.kind === 'numeric' && o.wideBuckets, f);
    }
    assert.equal(tuned.deep.dropout, ADULT_TUNED_PATCH.deep.dropout);
    assert.equal(tuned.deep.embeddingL2, ADULT_TUNED_PATCH.deep.embeddingL2);
    assert.equal(tuned.training.epochs, ADULT_TUNED_PATCH.training.epochs);
    assert.equal(tutorial.deep.dropout, undefined);
    assert.equal(tutorial.training.epochs, 12);
  });

  it('a --config-patch applies over the settings', () => {
    const c = adultBenchConfig('tuned', { deep: { dropout: 0.1 }, training: { epochs: 5 } });
    assert.equal(c.deep.dropout, 0.1);
    assert.equal(c.deep.embeddingL2, ADULT_TUNED_PATCH.deep.embeddingL2);
    assert.equal(c.training.epochs, 5);
  });

  it('names the field when a patch is invalid', () => {
    assert.throws(() => adultBenchConfig('tuned', { deep: { dropout: 1.5 } }), /deep\.dropout/);
  });

  it('more quantiles keep a mostly-zero amount like capital_gain apart (why the tuned settings use 1000)', () => {
    // 92% zeros and 80 distinct positive amounts, as capital_gain on adult.data (91.7% zeros).
    const sample = Float64Array.from({ length: 1000 }, (_, i) => (i < 920 ? 0 : (i - 919) * 100));
    const levels = (n: number) => {
      const cuts = quantileCuts(sample, n);
      return new Set(Array.from(sample.subarray(920), (v) => quantileNormalise(cuts, v))).size;
    };
    // 50 quantiles: cut points at 0 and at the 94th/96th/98th percentiles only.
    assert.equal(levels(50), 4);
    assert.equal(levels(1000), 80);
  });
});
