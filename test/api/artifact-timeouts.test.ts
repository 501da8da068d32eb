// An upload against the server's whole-request timeout (1 s here): one that keeps moving for
// several times that is stored; one that stalls for the timeout is cut with a 408 and leaves no
// file; one the client aborts leaves none either; any other request is still cut at the request
// timeout. Real sockets: Node's HTTP server and its timers are what is under test.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { type ApiHarness, startApiHarness, until } from '../support/index.js';

const REQUEST_TIMEOUT_MS = 1_000;

let h: ApiHarness;
let port = 0;
let token = '';

before(async () => {
  h = await startApiHarness({ config: { httpRequestTimeoutMs: REQUEST_TIMEOUT_MS, httpHeadersTimeoutMs: 500 } });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.app.server.address() as AddressInfo).port;
  const tenant = await h.tenant('uploads');
  token = tenant.token;
  await h.instance('slow-1', tenant.tenantId);
});
after(async () => {
  await h.close();
});

interface Exchange {
  socket: Socket;
  /** everything the server sent, once it closed the connection */
  closed: Promise<string>;
}

function open(head: string): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    let response = '';
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head);
      resolve({ socket, closed });
    });
    const closed = new Promise<string>((done) => {
      socket.on('data', (d: Buffer) => (response += d.toString('latin1')));
      socket.on('close', () => done(response));
    });
    socket.on('error', () => {}); // a reset after the answer is still a close
    socket.once('error', reject);
  });
}

function uploadHead(length: number, id: string): string {
  return (
    `POST /v1/artifacts HTTP/1.1\r\nhost: x\r\nx-request-id: ${id}\r\nx-auth-token: ${token}\r\n` +
    `content-type: application/octet-stream\r\ncontent-length: ${length}\r\nconnection: close\r\n\r\n`
  );
}

function parse(response: string): { status: number; body: Record<string, unknown> } {
  const [head = '', body = ''] = response.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), body: JSON.parse(body) as Record<string, unknown> };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('an upload that keeps moving for four times the request timeout is stored', async () => {
  const chunk = Buffer.alloc(1024, 's');
  const chunks = 40;
  const x = await open(uploadHead(chunk.length * chunks, 'slow-steady'));
  for (let i = 0; i < chunks; i++) {
    await sleep(100);
    x.socket.write(chunk);
  }
  const r = parse(await x.closed);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((r.body['data'] as { size: number }).size, chunk.length * chunks);
});

test('an upload that stalls for the request timeout is cut with a 408, and leaves no file', async () => {
  const x = await open(uploadHead(100_000, 'stalled'));
  x.socket.write(Buffer.alloc(10_000, 'p'));
  const r = parse(await x.closed);
  assert.equal(r.status, 408);
  assert.deepEqual(r.body, { error_code: 'KOOPHONE.API.1000', error_msg: 'request: not received in time' });
  assert.deepEqual(await readdir(h.blobs.tempDir), []);
});

test('an upload that stalls before its first byte is cut too', async () => {
  const x = await open(uploadHead(100, 'silent'));
  assert.equal(parse(await x.closed).status, 408);
});

test('an upload the client aborts leaves no file', async () => {
  const x = await open(uploadHead(1_000_000, 'aborted'));
  x.socket.write(Buffer.alloc(200_000, 'a'));
  await until(() => 'the upload to start writing', async () => (await readdir(h.blobs.tempDir)).length === 1, 5_000, 10);
  x.socket.destroy();
  await until(() => 'the temporary file to go', async () => (await readdir(h.blobs.tempDir)).length === 0, 5_000, 20);
});

test('any other request that trickles is still cut at the request timeout', async () => {
  const body = JSON.stringify({ command: 'echo hi', instance_ids: ['slow-1'] });
  const x = await open(
    `POST /v1/instances/async-command HTTP/1.1\r\nhost: x\r\nx-request-id: trickle\r\nx-auth-token: ${token}\r\n` +
      `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
  );
  // One byte every 100 ms: never idle, but 3 s in all.
  const timer = setInterval(() => x.socket.writable && x.socket.write('{'), 100);
  const r = parse(await x.closed);
  clearInterval(timer);
  assert.equal(r.status, 408);
});
