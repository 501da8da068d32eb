// What Node's HTTP parser refuses before Fastify runs (control characters in a header, headers
// over the limit) is still answered in SPEC's envelope with an x-request-id. Real sockets: the
// parser is the thing under test, and inject() does not go through it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { type ApiHarness, startApiHarness } from '../support/index.js';

let h: ApiHarness;
let port: number;

before(async () => {
  h = await startApiHarness();
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.app.server.address() as AddressInfo).port;
});
after(async () => {
  await h.close();
});

/** Sends raw bytes, returns the raw response. */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(Buffer.from(request, 'latin1')));
    let out = '';
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}

function parse(response: string): { status: number; headers: string; body: { error_code: string; error_msg: string } } {
  const [head = '', body = ''] = response.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: JSON.parse(body) };
}

test('a control character in x-request-id: 400 KOOPHONE.API.0002 in the envelope', async () => {
  const r = parse(await raw('GET /v1/instances/tasks HTTP/1.1\r\nhost: x\r\nx-request-id: a\x01b\r\nx-auth-token: t\r\n\r\n'));
  assert.equal(r.status, 400);
  assert.equal(r.body.error_code, 'KOOPHONE.API.0002');
  assert.match(r.body.error_msg, /^x-request-id/);
  assert.match(r.headers, /\r\nx-request-id: [0-9a-f-]{36}/);
});

test('a control character in another header: 400 KOOPHONE.API.1000 in the envelope', async () => {
  const r = parse(await raw('GET /v1/instances/tasks HTTP/1.1\r\nhost: x\r\nx-request-id: ok\r\nx-auth-token: a\x7fb\r\n\r\n'));
  assert.equal(r.status, 400);
  assert.equal(r.body.error_code, 'KOOPHONE.API.1000');
  assert.match(r.headers, /\r\nx-request-id: /);
});

test('headers over the size limit: 431 in the envelope', async () => {
  const r = parse(await raw(`GET /v1/instances/tasks HTTP/1.1\r\nhost: x\r\nx-request-id: ok\r\nx-auth-token: ${'t'.repeat(20_000)}\r\n\r\n`));
  assert.equal(r.status, 431);
  assert.equal(r.body.error_code, 'KOOPHONE.API.1000');
  assert.match(r.body.error_msg, /^headers/);
});

// Node's own answers (requireHostHeader, checkExpectation) used to have an empty body and no id.
test('HTTP/1.1 without Host: 400 KOOPHONE.API.1000 in the envelope, with an x-request-id', async () => {
  const r = parse(await raw('GET /healthz HTTP/1.1\r\nx-request-id: no-host-1\r\nconnection: close\r\n\r\n'));
  assert.equal(r.status, 400);
  assert.deepEqual(r.body, { error_code: 'KOOPHONE.API.1000', error_msg: 'host: HTTP/1.1 requires a Host header' });
  assert.match(r.headers, /\r\nx-request-id: no-host-1\r\n/);
});

test('HTTP/1.0 without Host is still served', async () => {
  const r = await raw('GET /healthz HTTP/1.0\r\n\r\n');
  assert.match(r, /^HTTP\/1\.1 200 /);
});

test('Expect: 999-nope: 417 in the envelope, with the caller\'s x-request-id, and the connection closes', async () => {
  const r = parse(await raw('POST /v1/instances/async-command HTTP/1.1\r\nhost: x\r\nx-request-id: exp-1\r\nexpect: 999-nope\r\ncontent-length: 2\r\n\r\n'));
  assert.equal(r.status, 417);
  assert.deepEqual(r.body, { error_code: 'KOOPHONE.API.1000', error_msg: 'expect: only 100-continue is supported' });
  assert.match(r.headers, /\r\nx-request-id: exp-1\r\n/);
  assert.match(r.headers, /\r\nconnection: close\r\n/);
});

test('a request that reaches a closing server: 503 KOOPHONE.API.1503 in the envelope, and the connection closes', async () => {
  const c = await startApiHarness();
  try {
    await c.app.listen({ host: '127.0.0.1', port: 0 });
    const closingPort = (c.app.server.address() as AddressInfo).port;
    const t = await c.tenant('closing');
    await c.instance('c1', t.tenantId);
    // A sync-command that holds its connection open (no worker runs here: it answers after 1 s +
    // 1 s), the server starts closing, then a second request comes on that busy connection.
    const body = JSON.stringify({ command: 'ls', instance_ids: ['c1'], timeout_seconds: 1 });
    const out = await new Promise<string>((resolve, reject) => {
      const socket = connect(closingPort, '127.0.0.1', () => {
        socket.write(
          `POST /v1/instances/sync-command HTTP/1.1\r\nhost: x\r\nx-request-id: first\r\nx-auth-token: ${t.token}\r\n` +
            `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
        );
        setTimeout(() => void c.app.close(), 300);
        setTimeout(() => socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\nx-request-id: second\r\n\r\n'), 600);
      });
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    const second = out.slice(out.indexOf('HTTP/1.1', 1));
    assert.match(out, /^HTTP\/1\.1 200 /, 'the request in flight is answered');
    const r = parse(second);
    assert.equal(r.status, 503);
    assert.equal(r.body.error_code, 'KOOPHONE.API.1503');
    assert.match(r.body.error_msg, /^service: shutting down/);
    assert.match(r.headers, /\r\nx-request-id: second\r\n/);
    assert.match(r.headers, /\r\nconnection: close\r\n/);
  } finally {
    await c.close();
  }
});
