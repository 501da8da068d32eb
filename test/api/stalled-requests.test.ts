// Requests that never finish arriving: a body that stalls or trickles is cut at the request
// timeout with a 408, headers that stall at the headers timeout; an answer decided from the
// headers alone (unknown route, missing token) goes out at once and closes the connection; one
// source address cannot hold more connections than its cap. Real sockets: Node's HTTP server and
// its timers are the thing under test.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { pino } from 'pino';
import { type ApiHarness, startApiHarness, until } from '../support/index.js';

const REQUEST_TIMEOUT_MS = 1_000;
const HEADERS_TIMEOUT_MS = 500;
/** Node checks deadlines every quarter of the shorter timeout (app.ts), plus a loaded machine. */
const SLACK_MS = 800;

let h: ApiHarness;
let port: number;
let token: string;

before(async () => {
  h = await startApiHarness({ config: { httpRequestTimeoutMs: REQUEST_TIMEOUT_MS, httpHeadersTimeoutMs: HEADERS_TIMEOUT_MS } });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.app.server.address() as AddressInfo).port;
  ({ token } = await h.tenant('stalled'));
});
after(async () => {
  await h.close();
});

interface Outcome {
  response: string;
  /** from the first byte sent to the server closing the connection */
  closedAfterMs: number;
}

/** Sends `head`, then `trickle` bytes one at a time every `everyMs`; resolves when the server closes. */
function exchange(head: string, trickle = 0, everyMs = 200, to = port): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    let response = '';
    let start = 0;
    let timer: NodeJS.Timeout | undefined;
    const socket: Socket = connect(to, '127.0.0.1', () => {
      start = Date.now();
      socket.write(head);
      let left = trickle;
      if (left > 0) {
        timer = setInterval(() => {
          if (left-- > 0 && socket.writable) socket.write('x');
        }, everyMs);
      }
    });
    socket.on('data', (d: Buffer) => (response += d.toString('latin1')));
    socket.on('error', () => {}); // a reset after the answer is still a close
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ response, closedAfterMs: Date.now() - start });
    });
    setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after 10 s; got ${JSON.stringify(response)}`));
    }, 10_000).unref();
  });
}

function post(path: string, headers: string): string {
  return `POST ${path} HTTP/1.1\r\nhost: x\r\nx-request-id: stall-${Date.now()}\r\n${headers}content-type: application/json\r\ncontent-length: 1000\r\n\r\n`;
}

function envelopeOf(response: string): { status: number; head: string; body: { error_code: string; error_msg: string } } {
  const [head = '', body = ''] = response.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), head: head.toLowerCase(), body: JSON.parse(body) };
}

test('a body that never arrives is cut at the request timeout: 408 in the envelope, then the connection closes', async () => {
  const o = await exchange(post('/v1/instances/async-command', `x-auth-token: ${token}\r\n`));
  const r = envelopeOf(o.response);
  assert.equal(r.status, 408);
  assert.deepEqual(r.body, { error_code: 'KOOPHONE.API.1000', error_msg: 'request: not received in time' });
  assert.match(r.head, /\r\nx-request-id: /);
  assert.ok(o.closedAfterMs >= REQUEST_TIMEOUT_MS - 50, `cut after ${o.closedAfterMs} ms, before the timeout`);
  assert.ok(o.closedAfterMs < REQUEST_TIMEOUT_MS + SLACK_MS, `cut after ${o.closedAfterMs} ms`);
});

test("a body that stalls is answered with the caller's x-request-id (its headers were read)", async () => {
  const o = await exchange(`POST /v1/instances/async-command HTTP/1.1\r\nhost: x\r\nx-request-id: stall-id-1\r\nx-auth-token: ${token}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{`);
  const r = envelopeOf(o.response);
  assert.equal(r.status, 408);
  assert.match(r.head, /\r\nx-request-id: stall-id-1\r\n/);
});

test("a body cut short (the client ends its side early) -> 400 content-length does not match, with the caller's id", async () => {
  const o = await new Promise<Outcome>((resolve, reject) => {
    let response = '';
    const start = Date.now();
    const socket: Socket = connect(port, '127.0.0.1', () => {
      socket.write(`POST /v1/instances/async-command HTTP/1.1\r\nhost: x\r\nx-request-id: short-1\r\nx-auth-token: ${token}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"command":"ls"`);
      setTimeout(() => socket.end(), 100);
    });
    socket.on('data', (d: Buffer) => (response += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => resolve({ response, closedAfterMs: Date.now() - start }));
    setTimeout(() => reject(new Error(`still open after 10 s; got ${JSON.stringify(response)}`)), 10_000).unref();
  });
  const r = envelopeOf(o.response);
  assert.equal(r.status, 400);
  assert.deepEqual(r.body, { error_code: 'KOOPHONE.API.1000', error_msg: 'body: content-length does not match the body' });
  assert.match(r.head, /\r\nx-request-id: short-1\r\n/);
});

test('a body trickled a byte every 200 ms is cut at the request timeout too', async () => {
  const o = await exchange(post('/v1/instances/async-command', `x-auth-token: ${token}\r\n`), 1000, 200);
  assert.equal(envelopeOf(o.response).status, 408);
  assert.ok(o.closedAfterMs < REQUEST_TIMEOUT_MS + SLACK_MS, `cut after ${o.closedAfterMs} ms`);
});

test('headers that stall are cut at the headers timeout', async () => {
  const o = await exchange('GET /healthz HTTP/1.1\r\nhost: x\r\n');
  assert.equal(envelopeOf(o.response).status, 408);
  assert.ok(o.closedAfterMs < HEADERS_TIMEOUT_MS + SLACK_MS, `cut after ${o.closedAfterMs} ms`);
});

test('an unknown route answers 404 without waiting for the body, and closes the connection', async () => {
  const o = await exchange(post('/v1/instances/no-such-thing', ''));
  const r = envelopeOf(o.response);
  assert.equal(r.status, 404);
  assert.equal(r.body.error_msg, 'route: POST /v1/instances/no-such-thing does not exist');
  assert.match(r.head, /\r\nconnection: close\r\n/);
  assert.ok(o.closedAfterMs < REQUEST_TIMEOUT_MS / 2, `closed after ${o.closedAfterMs} ms`);
});

test('a missing or unknown token answers 401 without waiting for the body, and closes the connection', async () => {
  for (const auth of ['', 'x-auth-token: not-a-token\r\n']) {
    const o = await exchange(post('/v1/instances/async-command', auth));
    const r = envelopeOf(o.response);
    assert.equal(r.status, 401);
    assert.equal(r.body.error_code, 'APIGW.0301');
    assert.match(r.head, /\r\nconnection: close\r\n/);
    assert.ok(o.closedAfterMs < REQUEST_TIMEOUT_MS / 2, `closed after ${o.closedAfterMs} ms`);
  }
});

test('a complete request keeps its connection (keep-alive is untouched)', async () => {
  const res = await fetch(`http://127.0.0.1:${port}/v1/instances/tasks`, {
    headers: { 'x-auth-token': token, 'x-request-id': 'keep-1' },
  });
  assert.equal(res.status, 200);
  assert.notEqual(res.headers.get('connection'), 'close');
});

test('one source over its connection cap: further connections close at once, logged once', async () => {
  const lines: string[] = [];
  const capped = await startApiHarness({
    config: { httpConnectionsPerSource: 3 },
    logger: pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) }),
  });
  await capped.app.listen({ host: '127.0.0.1', port: 0 });
  const cappedPort = (capped.app.server.address() as AddressInfo).port;
  const held: Socket[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const s = connect(cappedPort, '127.0.0.1');
      s.on('error', () => {});
      held.push(s);
      await new Promise((resolve) => s.once('connect', resolve));
    }
    await until('the server to count 3 connections', async () => (await connections(capped)) === 3);
    const refused = await Promise.all([1, 2, 3].map(() => exchange('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n', 0, 0, cappedPort)));
    for (const o of refused) {
      assert.equal(o.response, '', 'closed before any answer');
      assert.ok(o.closedAfterMs < 500, `closed after ${o.closedAfterMs} ms`);
    }
    const warned = lines.filter((l) => l.includes('per-source limit'));
    assert.equal(warned.length, 1, `one line for three refusals: ${warned.join('')}`);
    assert.match(warned[0] ?? '', /"source":"127\.0\.0\.1"/);

    held.pop()?.destroy();
    await until('a freed slot to be usable', async () => (await fetch(`http://127.0.0.1:${cappedPort}/healthz`).then((r) => r.status, () => 0)) === 200);
  } finally {
    for (const s of held) s.destroy();
    await capped.close();
  }
});

function connections(harness: ApiHarness): Promise<number> {
  return new Promise((resolve, reject) => harness.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}
