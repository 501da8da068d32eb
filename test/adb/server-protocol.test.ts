// The adb server's smart-socket protocol driven with bytes through its Transport: the server's
// answers written out, split anywhere, so each step (OKAY, FAIL + message, the switch to raw
// service bytes, a reply payload) is visible without a server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdbError, SmartSocket, encodeRequest, type StreamHandler } from '../../src/adb/index.js';

const ADDRESS = 'adb-server://127.0.0.1:5037/R58M';

function wire() {
  const sent: Buffer[] = [];
  let closed = false;
  return { transport: { write: (b: Buffer) => sent.push(Buffer.from(b)), close: () => (closed = true) }, sent: () => Buffer.concat(sent).toString('latin1'), closed: () => closed };
}

function streamRecorder() {
  const events: string[] = [];
  const errors: AdbError[] = [];
  const handler: StreamHandler = {
    onOpen: () => events.push('open'),
    onData: (d) => events.push(`data ${d.toString('latin1')}`),
    onClose: (err) => {
      events.push(err === null ? 'close' : `error ${err.code}`);
      if (err !== null) errors.push(err);
    },
  };
  return { handler, events, errors };
}

/** Feeds bytes one at a time: no answer may depend on arriving in one chunk. */
function byteByByte(smart: SmartSocket, text: string | Buffer): void {
  const b = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  for (let i = 0; i < b.length; i++) smart.receive(b.subarray(i, i + 1));
}

test('a request is its length in four hex digits, then the payload', () => {
  assert.equal(encodeRequest('host:version').toString(), '000chost:version');
  assert.equal(encodeRequest('host:transport:127.0.0.1:5555').toString(), '001dhost:transport:127.0.0.1:5555');
  assert.throws(() => encodeRequest('x'.repeat(0x10000)), RangeError);
});

test('a device service: transport, then the service after its OKAY, then raw bytes both ways', () => {
  const w = wire();
  const r = streamRecorder();
  const smart = new SmartSocket(ADDRESS, 1, ['host:transport:R58M', 'shell,v2,raw:echo hi'], { stream: r.handler });
  smart.start(w.transport);
  assert.equal(w.sent(), '0013host:transport:R58M');
  byteByByte(smart, 'OKAY');
  assert.equal(w.sent(), '0013host:transport:R58M0014shell,v2,raw:echo hi');
  assert.deepEqual(r.events, []);
  // The service's OKAY and its first bytes in one chunk: the rest of the chunk is the service's.
  smart.receive(Buffer.from('OKAY\x01\x03\x00\x00\x00hi\n', 'latin1'));
  assert.deepEqual(r.events, ['open', 'data \x01\x03\x00\x00\x00hi\n']);
  smart.write(Buffer.from('stdin'));
  assert.match(w.sent(), /stdin$/);
  smart.transportClosed();
  assert.deepEqual(r.events, ['open', 'data \x01\x03\x00\x00\x00hi\n', 'close']);
});

test("the server's FAIL to the transport: unauthorized is AUTH_REJECTED, anything else CONNECT_FAILED, with its first line", () => {
  for (const [message, code] of [
    ["device 'R58M' not found", 'CONNECT_FAILED'],
    ['device offline', 'CONNECT_FAILED'],
    ["device unauthorized.\nThis adb server's $ADB_VENDOR_KEYS is not set", 'AUTH_REJECTED'],
  ] as const) {
    const w = wire();
    const r = streamRecorder();
    const smart = new SmartSocket(ADDRESS, 1, ['host:transport:R58M', 'reboot:'], { stream: r.handler });
    smart.start(w.transport);
    byteByByte(smart, `FAIL${message.length.toString(16).padStart(4, '0')}${message}`);
    assert.deepEqual(r.events, [`error ${code}`], message);
    assert.equal(r.errors[0]!.detail, `adb server: ${message.split('\n')[0]}`);
    assert.equal(r.errors[0]!.address, ADDRESS);
    assert.equal(w.closed(), true);
    assert.equal(w.sent(), '0013host:transport:R58M', 'the service was never asked for');
  }
});

test('a FAIL to the service is the device refusing it: PROTOCOL_ERROR, or onRefused when the user takes refusals', () => {
  const w = wire();
  const r = streamRecorder();
  const smart = new SmartSocket(ADDRESS, 1, ['host:transport:R58M', 'nosuch:'], { stream: r.handler });
  smart.start(w.transport);
  smart.receive(Buffer.from('OKAYFAIL0006closed'));
  assert.deepEqual(r.events, ['error PROTOCOL_ERROR']);
  assert.match(r.errors[0]!.message, /refused to open the service \(adb server: closed\)/);

  let refused = 0;
  const quiet = new SmartSocket(ADDRESS, 2, ['host:transport:R58M', 'nosuch:'], { stream: { ...r.handler, onRefused: () => refused++ } });
  quiet.start(wire().transport);
  quiet.receive(Buffer.from('OKAYFAIL0006closed'));
  assert.equal(refused, 1);
  assert.equal(r.events.length, 1, 'no onClose besides');
});

test('a host query reads one length-prefixed reply, split anywhere', () => {
  const replies: string[] = [];
  const smart = new SmartSocket(ADDRESS, 1, ['host-serial:R58M:get-state'], { reply: { onReply: (p) => replies.push(p), onError: (e) => replies.push(`error ${e.code}`) } });
  const w = wire();
  smart.start(w.transport);
  assert.equal(w.sent(), '001ahost-serial:R58M:get-state');
  byteByByte(smart, 'OKAY0006device');
  assert.deepEqual(replies, ['device']);
  assert.equal(w.closed(), true);
  const empty = new SmartSocket(ADDRESS, 2, ['host-serial:R58M:features'], { reply: { onReply: (p) => replies.push(`[${p}]`), onError: () => {} } });
  empty.start(wire().transport);
  empty.receive(Buffer.from('OKAY0000'));
  assert.deepEqual(replies, ['device', '[]']);
});

test('not an adb server, or one that hangs up: CONNECT_FAILED before the transport, CONNECTION_LOST after', () => {
  const answers: [string, (s: SmartSocket) => void, string][] = [
    ['HTTP/1.1 400', (s) => s.receive(Buffer.from('HTTP/1.1 400 Bad Request\r\n')), 'CONNECT_FAILED'],
    ['a bad length', (s) => s.receive(Buffer.from('FAILzzzz')), 'CONNECT_FAILED'],
    ['a close before any answer', (s) => s.transportClosed(), 'CONNECT_FAILED'],
    ['a refused connect', (s) => s.transportClosed(new Error('connect ECONNREFUSED 127.0.0.1:5037')), 'CONNECT_FAILED'],
    ['a close after the transport', (s) => (s.receive(Buffer.from('OKAY')), s.transportClosed()), 'CONNECTION_LOST'],
    ['a reset mid-service', (s) => (s.receive(Buffer.from('OKAYOKAY')), s.transportClosed(new Error('read ECONNRESET'))), 'CONNECTION_LOST'],
  ];
  for (const [what, answer, code] of answers) {
    const r = streamRecorder();
    const smart = new SmartSocket(ADDRESS, 1, ['host:transport:R58M', 'shell,v2,raw:id'], { stream: r.handler });
    smart.start(wire().transport);
    answer(smart);
    assert.equal(r.events.at(-1), `error ${code}`, what);
    assert.ok(r.errors[0]!.message.startsWith(ADDRESS), 'the error names the instance');
  }
});

test('close() and abort(): no callbacks after a close of ours; abort reports its error once', () => {
  const r = streamRecorder();
  const w = wire();
  const smart = new SmartSocket(ADDRESS, 1, ['host:transport:R58M', 'shell,v2,raw:id'], { stream: r.handler });
  smart.start(w.transport);
  smart.close();
  smart.receive(Buffer.from('OKAYOKAY'));
  smart.transportClosed();
  assert.deepEqual(r.events, []);
  assert.equal(w.closed(), true);
  const aborted = new SmartSocket(ADDRESS, 2, ['host:transport:R58M', 'shell,v2,raw:id'], { stream: r.handler });
  aborted.start(wire().transport);
  aborted.abort(new AdbError('CANCELLED', ADDRESS, 'the pool is closed'));
  aborted.abort(new AdbError('CANCELLED', ADDRESS, 'again'));
  assert.deepEqual(r.events, ['error CANCELLED']);
});
