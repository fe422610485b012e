import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { partialThresholdsSchema, parseThresholdsText, thresholdsSchema } from '../../../src/workflow/steps/thresholds.ts';

describe('thresholds from a --thresholds file (or WDP_VALIDATION)', () => {
  const problem = (text: string) => {
    try {
      parseThresholdsText(text, 't.json');
    } catch (e) {
      return (e as Error).message;
    }
    assert.fail(`accepted ${text}`);
  };

  it('reads the fields given and fills the rest with defaults', () => {
    const t = parseThresholdsText('{"minAuc":0.7}', 't.json');
    assert.equal(t.minAuc, 0.7);
    assert.equal(t.calibrationMax, 1.25);
  });
  it('an unknown field: one line naming the file, the field and the known ones (no raw Zod JSON)', () => {
    const m = problem('{"minAUC":0.7}');
    assert.match(m, /^t\.json: unknown field "minAUC" \(known: minAuc, maxLogloss, /);
    assert.doesNotMatch(m, /\n|unrecognized_keys/);
  });
  it('text that is not JSON names the file', () => assert.match(problem('nope'), /^t\.json: not valid JSON \(Unexpected token/));
  it('a bad value names the field', () => assert.match(problem('{"minAuc":2}'), /^t\.json: minAuc: Too big/));
  it('calibrationMin above calibrationMax is refused at calibrationMax, given or default', () => {
    assert.equal(problem('{"calibrationMin":2,"calibrationMax":1}'), 't.json: calibrationMax: must be at least calibrationMin (2), got 1');
    assert.match(problem('{"calibrationMin":1.5}'), /calibrationMax: must be at least calibrationMin \(1\.5\), got 1\.25/);
    assert.equal(thresholdsSchema.safeParse({ calibrationMin: 1, calibrationMax: 1 }).success, true, 'equal bounds are a point band');
  });
  it('the CDK context (some fields, the rest default) is refined the same way', () => {
    assert.equal(partialThresholdsSchema.safeParse({ calibrationMax: 0.5 }).success, false);
    assert.equal(partialThresholdsSchema.parse({ minAuc: 0.7 }).minAuc, 0.7);
  });
});
