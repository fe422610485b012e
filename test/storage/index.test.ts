import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FileStore, isS3Uri, joinUri, parentUri, storeFor, UnsafeKeyError } from '../../src/storage/index.ts';
import { escapeControls, quoted } from '../../src/util/terminal-text.ts';

describe('storage helpers', () => {
  it('joinUri joins with single slashes and keeps the scheme', () => {
    assert.equal(joinUri('s3://b/runs/', '/42', 'model.json'), 's3://b/runs/42/model.json');
    assert.equal(joinUri('file:///tmp', 'a', '', 'b'), 'file:///tmp/a/b');
    assert.equal(joinUri('/tmp/x', 'y'), '/tmp/x/y');
    assert.equal(joinUri('rel', 'y'), 'rel/y');
  });

  it('joinUri keeps every part under its base: ".." segments, NUL, control characters and backslashes are refused, naming the key', () => {
    for (const base of ['.wdp/k1', '/abs/bucket', 'file:///tmp/b', 's3://b']) {
      for (const key of [
        'batch/output/../../../../../tmp/pwned/',
        '..',
        '../x',
        'a/..',
        'batch/input/../../logs/dt=2026-01-04/',
        'a\\b',
        'a\0b',
        'dt=2026-01-05/\u001b]0;pwned\u0007.parquet',
        'a\u001b[2Jb',
        'a\u009bb',
        'a\u007fb',
      ]) {
        assert.throws(
          () => joinUri(base, 'batch/', key),
          // Quoted with every control escaped, C1 and DEL too (JSON.stringify leaves those raw).
          (e: Error) =>
            e instanceof UnsafeKeyError &&
            e.message.includes(quoted(key)) &&
            e.message.includes(base) &&
            escapeControls(e.message) === e.message,
          `${base} + ${key}`,
        );
      }
    }
    // Dots inside names and a leading slash are fine: still keys under the base.
    assert.equal(joinUri('.wdp/k1', 'batch/output/run..1/', '/a.b..c'), '.wdp/k1/batch/output/run..1/a.b..c');
  });

  it('parentUri strips the last segment but never the root', () => {
    assert.equal(parentUri('s3://b/runs/42/model.json'), 's3://b/runs/42');
    assert.equal(parentUri('s3://b/k'), 's3://b');
    assert.equal(parentUri('s3://b'), 's3://b');
    assert.equal(parentUri('file:///tmp/x'), 'file:///tmp');
    assert.equal(parentUri('file:///x'), 'file:///');
    assert.equal(parentUri('/tmp/x/'), '/tmp');
    assert.equal(parentUri('/x'), '/');
    assert.equal(parentUri('a/b'), 'a');
    assert.equal(parentUri('b'), '.');
  });

  it('isS3Uri and storeFor pick the store by scheme, cached', () => {
    assert.equal(isS3Uri('s3://b/k'), true);
    assert.equal(isS3Uri('/tmp/s3://'), false);
    assert.ok(storeFor('/tmp/x') instanceof FileStore);
    assert.equal(storeFor('file:///tmp/x'), storeFor('relative/path'));
  });
});
