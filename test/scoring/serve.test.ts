import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { DEFAULT_MAX_BODY_BYTES } from '../../src/scoring/handler.ts';
import { serve } from '../../src/scoring/serve.ts';
import { Scorer } from '../../src/scoring/scorer.ts';
import { saveTinyModel } from '../helpers/tiny-model.ts';

let dir: string;
let modelUri: string;
let server: Server;
let base: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wdp-serve-'));
  modelUri = await saveTinyModel(dir, 'm');
  const s = await serve({ modelUri, port: 0, scorerOptions: { backend: 'js' } });
  server = s.server;
  base = `http://127.0.0.1:${s.port}/`;
});
after(async () => {
  await new Promise((r) => server.close(r));
  Scorer.clearCache();
  await rm(dir, { recursive: true, force: true });
});

test('wdp serve answers a scoring request over HTTP on localhost', async () => {
  const res = await fetch(base, {
    method: 'POST',
    body: JSON.stringify({
      context: { user: 'u1' },
      candidates: [
        { item: 'i1', x: 0.1 },
        { item: 'i2', x: 0.4 },
      ],
      topK: 1,
    }),
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { modelVersion: string; scores: number[]; ranked: unknown[] };
  assert.equal(body.modelVersion, 'm-m');
  assert.equal(body.scores.length, 2);
  assert.equal(body.ranked.length, 1);
});

test('wdp serve answers a bad request with 400 and its message', async () => {
  const res = await fetch(base, { method: 'POST', body: '{not json' });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { error: string }).error, 'request body is not valid JSON');
});

test('a body over the limit answers 413 naming the real size received (not buffered past the limit)', async () => {
  const size = DEFAULT_MAX_BODY_BYTES + 1_000_000;
  const res = await fetch(base, { method: 'POST', body: 'x'.repeat(size) });
  assert.equal(res.status, 413);
  assert.equal(
    ((await res.json()) as { error: string }).error,
    `request body is too large: ${size} bytes (the limit is ${DEFAULT_MAX_BODY_BYTES})`,
  );
  assert.ok(res.headers.get('x-request-id'));
});

test('maxBodyBytes sets the limit; a body at the limit is read', async () => {
  const small = await serve({ modelUri, port: 0, scorerOptions: { backend: 'js' }, maxBodyBytes: 50 });
  try {
    const url = `http://127.0.0.1:${small.port}/`;
    const over = await fetch(url, { method: 'POST', body: 'é'.repeat(40) });
    assert.equal(over.status, 413);
    assert.equal(((await over.json()) as { error: string }).error, 'request body is too large: 80 bytes (the limit is 50)');
    const at = await fetch(url, { method: 'POST', body: `{${' '.repeat(48)}}` });
    assert.equal(at.status, 400);
    assert.equal(((await at.json()) as { error: string }).error, 'candidates must be an array of objects');
  } finally {
    await new Promise((r) => small.server.close(r));
  }
});

test('methods other than POST answer 405 with allow: POST (the handler decides, as on Lambda)', async () => {
  for (const method of ['GET', 'PUT', 'DELETE']) {
    const res = await fetch(base, { method, ...(method === 'GET' ? {} : { body: '{}' }) });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get('allow'), 'POST');
    assert.match(((await res.json()) as { error: string }).error, new RegExp(`^method ${method} is not allowed: only POST is scored`));
  }
});

test('firstLoad: resolves with the preloaded model version', async () => {
  const s = await serve({ modelUri, port: 0, scorerOptions: { backend: 'js' }, preload: true });
  try {
    assert.equal(await s.firstLoad, 'm-m');
  } finally {
    await new Promise((r) => s.server.close(r));
  }
});

test('firstLoad rejects for a missing model, but the library server keeps running and serves once the folder appears', async () => {
  const later = join(dir, 'later');
  const s = await serve({ modelUri: later, port: 0, scorerOptions: { backend: 'js' }, preload: true });
  try {
    await assert.rejects(s.firstLoad, /later/);
    const url = `http://127.0.0.1:${s.port}/`;
    const body = JSON.stringify({ context: { user: 'u1' }, candidates: [{ item: 'i1', x: 0.1 }] });
    assert.equal((await fetch(url, { method: 'POST', body })).status, 503);
    await cp(modelUri, later, { recursive: true });
    assert.equal((await fetch(url, { method: 'POST', body })).status, 200);
  } finally {
    await new Promise((r) => s.server.close(r));
  }
});

/** A raw HTTP/1.1 request: `head` sent, then `chunk` repeatedly until the server answers and closes, or `maxBytes` are sent. */
async function rawRequest(port: number, head: string, chunk: Buffer | undefined, maxBytes: number) {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let answer = '';
  let closed = false;
  socket.on('data', (d: Buffer) => {
    answer += d.toString('utf8');
  });
  socket.on('close', () => {
    closed = true;
  });
  socket.on('error', () => undefined); // EPIPE / ECONNRESET once the server has closed
  socket.write(head);
  let sent = 0;
  while (chunk && !closed && sent < maxBytes) {
    // (events.once would reject on the socket's 'error': the server closing is what is awaited.)
    if (!socket.write(chunk))
      await Promise.race([new Promise((r) => socket.once('drain', r)), new Promise((r) => socket.once('close', r)), delay(1000)]);
    sent += chunk.length;
  }
  for (let i = 0; i < 50 && !closed; i++) await delay(100);
  socket.destroy();
  return { status: answer.split('\r\n')[0], body: answer.slice(answer.indexOf('\r\n\r\n') + 4), sent, closed };
}

test('a huge upload is answered 413 at once from content-length, and cut off instead of read to its end', async () => {
  const small = await serve({ modelUri, port: 0, scorerOptions: { backend: 'js' }, maxBodyBytes: 1000 });
  try {
    const gib = 2 ** 30;
    const r = await rawRequest(
      small.port,
      `POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${gib}\r\n\r\n`,
      Buffer.alloc(2 ** 20, 0x20),
      gib,
    );
    assert.equal(r.status, 'HTTP/1.1 413 Payload Too Large');
    assert.match(r.body, new RegExp(`request body is too large: ${gib} bytes \\(the limit is 1000\\)`));
    assert.ok(r.closed && r.sent < 100 * 2 ** 20, `${r.sent} bytes sent before the server closed`);
  } finally {
    await new Promise((r) => small.server.close(r));
  }
});

test('a chunked body that never ends is answered 413 once past the limit; expect: 100-continue is refused before the body', async () => {
  const small = await serve({ modelUri, port: 0, scorerOptions: { backend: 'js' }, maxBodyBytes: 1000 });
  try {
    const kib = Buffer.from(`400\r\n${' '.repeat(1024)}\r\n`);
    const chunked = await rawRequest(small.port, 'POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n', kib, 200 * 2 ** 20);
    assert.equal(chunked.status, 'HTTP/1.1 413 Payload Too Large');
    assert.match(chunked.body, /request body is too large: at least \d+ bytes \(the limit is 1000\)/);
    assert.ok(chunked.closed && chunked.sent < 100 * 2 ** 20);
    const asked = await rawRequest(
      small.port,
      'POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\nexpect: 100-continue\r\n\r\n',
      undefined,
      0,
    );
    assert.equal(asked.status, 'HTTP/1.1 413 Payload Too Large', 'no 100 Continue for a body that is refused anyway');
    assert.ok(asked.closed);
  } finally {
    await new Promise((r) => small.server.close(r));
  }
});

test('a body trickling in is cut off after requestTimeoutMs (408), and the server goes on serving', async () => {
  const slow = await serve({ modelUri, port: 0, scorerOptions: { backend: 'js' }, requestTimeoutMs: 500 });
  try {
    const socket = connect(slow.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.on('error', () => undefined);
    let answer = '';
    socket.on('data', (d: Buffer) => {
      answer += d.toString('utf8');
    });
    socket.write('POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{');
    const closed = new Promise((r) => socket.once('close', r));
    const timer = setInterval(() => socket.write(' '), 200);
    const started = Date.now();
    await Promise.race([closed, delay(5000)]);
    clearInterval(timer);
    socket.destroy();
    assert.ok(Date.now() - started < 4000, 'closed within a few seconds');
    assert.match(answer, /^HTTP\/1\.1 408/);
    const body = JSON.stringify({ context: { user: 'u1' }, candidates: [{ item: 'i1', x: 0.1 }] });
    assert.equal((await fetch(`http://127.0.0.1:${slow.port}/`, { method: 'POST', body })).status, 200);
  } finally {
    await new Promise((r) => slow.server.close(r));
  }
});

test('a connection that sends nothing, or stops inside its headers, is closed after requestTimeoutMs', async () => {
  const s = await serve({ modelUri, port: 0, scorerOptions: { backend: 'js' }, requestTimeoutMs: 500 });
  try {
    for (const sent of ['', 'POST / HTTP/1.1\r\nhost: x\r\n']) {
      const socket = connect(s.port, '127.0.0.1');
      await once(socket, 'connect');
      socket.on('error', () => undefined);
      // Read what the server may send first: the idle timeout closes silently, but the headers
      // timeout (checked every second) may win the race and answer 408 before closing, and a
      // socket whose data nobody reads never sees its end, so it would never close here.
      socket.resume();
      if (sent) socket.write(sent);
      const started = Date.now();
      const closed = await Promise.race([once(socket, 'close').then(() => true), delay(5000).then(() => false)]);
      socket.destroy();
      assert.ok(closed, `still open after 5 s (${JSON.stringify(sent)})`);
      assert.ok(Date.now() - started < 3000, `closed after ${Date.now() - started} ms (${JSON.stringify(sent)})`);
    }
    const body = JSON.stringify({ context: { user: 'u1' }, candidates: [{ item: 'i1', x: 0.1 }] });
    assert.equal((await fetch(`http://127.0.0.1:${s.port}/`, { method: 'POST', body })).status, 200);
  } finally {
    await new Promise((r) => s.server.close(r));
  }
});
