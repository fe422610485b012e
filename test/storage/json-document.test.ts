import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { z } from 'zod';
import { JsonDocumentError, parseJsonDocument, readJsonDocument } from '../../src/storage/json-document.ts';

const schema = z.object({ name: z.string(), sizes: z.array(z.number().int()) }).strict();
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-json-doc-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const fails = (problem: string, field: string, message: RegExp) => (e: unknown) =>
  e instanceof JsonDocumentError && e.problem === problem && e.field === field && message.test(e.message);

test('a valid document comes back parsed; a missing one is undefined', async () => {
  const uri = join(dir, 'ok.json');
  await writeFile(uri, '{"name":"a","sizes":[1,2]}');
  assert.deepEqual(await readJsonDocument(uri, schema, { maxBytes: 100 }), { name: 'a', sizes: [1, 2] });
  assert.equal(await readJsonDocument(join(dir, 'missing.json'), schema, { maxBytes: 100 }), undefined);
});

test('a document over the limit is refused before it is read, naming the uri and the limit', async () => {
  const uri = join(dir, 'big.json');
  await writeFile(uri, JSON.stringify({ name: 'x'.repeat(200), sizes: [] }));
  await assert.rejects(
    readJsonDocument(uri, schema, { maxBytes: 100 }),
    fails('too-large', '', /big\.json is 222 bytes, over the limit of 100 bytes/),
  );
  // In memory the limit counts bytes, not UTF-16 units: 'é' is two bytes.
  assert.throws(
    () => parseJsonDocument(`{"name":"${'é'.repeat(50)}","sizes":[]}`, 'mem.json', schema, { maxBytes: 100 }),
    fails('too-large', '', /^mem\.json is 122 bytes, over the limit of 100 bytes$/),
  );
});

test('bad JSON names the uri', async () => {
  const uri = join(dir, 'bad.json');
  await writeFile(uri, '{"name": "a", ');
  await assert.rejects(readJsonDocument(uri, schema, { maxBytes: 100 }), fails('not-json', '', /bad\.json is not valid JSON: /));
});

test('a schema error names the uri and the field path, and counts the other problems', async () => {
  const uri = join(dir, 'wrong.json');
  await writeFile(uri, '{"name": 7, "sizes": [1, 2.5]}');
  await assert.rejects(readJsonDocument(uri, schema, { maxBytes: 100 }), (e: unknown) => {
    assert.ok(e instanceof JsonDocumentError);
    assert.equal(e.problem, 'schema');
    assert.equal(e.field, 'name');
    assert.match(e.message, /wrong\.json field name: .*expected string.* \(and 1 more problem\(s\)\)$/i);
    assert.ok(e.cause instanceof z.ZodError);
    return true;
  });
  assert.throws(
    () => parseJsonDocument('[1]', 'root.json', schema, { maxBytes: 100 }),
    fails('schema', '', /^root\.json field \(root\): /),
  );
});
