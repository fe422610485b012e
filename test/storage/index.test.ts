import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FileStore, isS3Uri, joinUri, parentUri, storeFor } from '../../src/storage/index.ts';

describe('storage helpers', () => {
  it('joinUri joins with single slashes and keeps the scheme', () => {
    assert.equal(joinUri('s3://b/runs/', '/42', 'model.json'), 's3://b/runs/42/model.json');
    assert.equal(joinUri('file:///tmp', 'a', '', 'b'), 'file:///tmp/a/b');
    assert.equal(joinUri('/tmp/x', 'y'), '/tmp/x/y');
    assert.equal(joinUri('rel', 'y'), 'rel/y');
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
