// The protocol logic driven with bytes through its Transport: the device's side of each exchange
// is written out packet by packet, so every step of the handshake and stream rules is visible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type {
  AdbError} from '../../src/adb/index.js';
import {
  AdbConnection,
  AuthType,
  Command,
  PacketDecoder,
  ShellId,
  encodePacket,
  encodeShellPacket,
  MAX_UNANSWERED_OPENS,
  parseAndroidPublicKey,
  verifyTokenSignature,
  type Packet,
} from '../../src/adb/index.js';
import { ADB_TIMEOUTS, MAX_OUTPUT_BYTES, testKey } from '../support/index.js';

const key = testKey();
const BANNER = 'device::ro.product.name=p;ro.product.model=m;ro.product.device=d;features=shell_v2,cmd';

function harness(opts: { connectTimeoutMs?: number; authTimeoutMs?: number; openTimeoutMs?: number } = {}) {
  const sent: Packet[] = [];
  let closed = false;
  const decoder = new PacketDecoder((p) => sent.push({ ...p, payload: Buffer.from(p.payload) }));
  const conn = new AdbConnection(
    { write: (b) => decoder.push(b), close: () => (closed = true) },
    { address: 'dev:1', key, ...ADB_TIMEOUTS, ...opts },
  );
  const device = (cmd: number, a0: number, a1: number, payload?: Buffer | string) => conn.receive(encodePacket(cmd, a0, a1, payload));
  const take = () => sent.splice(0, sent.length);
  return { conn, device, take, isClosed: () => closed };
}

async function opened(opts: { openTimeoutMs?: number } = {}) {
  const h = harness(opts);
  h.device(Command.CNXN, 0x01000001, 1024 * 1024, BANNER);
  await h.conn.ready;
  h.take();
  return h;
}

test('handshake: CNXN with version 0x01000001, 1 MiB and our features; the banner is parsed', async () => {
  const h = harness();
  const [cnxn] = h.take();
  assert.equal(cnxn?.command, Command.CNXN);
  assert.equal(cnxn.arg0, 0x01000001);
  assert.equal(cnxn.arg1, 1024 * 1024);
  assert.equal(cnxn.payload.toString(), 'host::features=shell_v2,cmd,delayed_ack');
  h.device(Command.CNXN, 0x01000001, 256 * 1024, BANNER);
  const banner = await h.conn.ready;
  assert.deepEqual([banner.product, banner.model, banner.device, banner.features], ['p', 'm', 'd', ['shell_v2', 'cmd']]);
  assert.equal(h.conn.maxPayload, 256 * 1024);
  assert.ok(h.conn.isOpen);
});

test('auth: signature first, public key after a second token, then CNXN', async () => {
  const h = harness();
  h.take();
  const token = randomBytes(20);
  h.device(Command.AUTH, AuthType.Token, 0, token);
  const [sig] = h.take();
  assert.deepEqual([sig?.command, sig?.arg0], [Command.AUTH, AuthType.Signature]);
  assert.ok(verifyTokenSignature(parseAndroidPublicKey(key.androidPublicKey), token, sig!.payload));
  h.device(Command.AUTH, AuthType.Token, 0, randomBytes(20));
  const [pub] = h.take();
  assert.deepEqual([pub?.command, pub?.arg0], [Command.AUTH, AuthType.RsaPublicKey]);
  assert.ok(pub!.payload.equals(key.androidPublicKey));
  assert.equal(pub!.payload.at(-1), 0, 'the key ends with a NUL');
  h.device(Command.AUTH, AuthType.Token, 0, randomBytes(20));
  assert.equal(h.take().length, 0, 'later tokens are not answered');
  h.device(Command.CNXN, 0x01000001, 1024 * 1024, BANNER);
  await h.conn.ready;
});

test('auth: a device that never accepts gives AUTH_REJECTED at the auth timeout', async () => {
  const h = harness({ authTimeoutMs: 100 });
  h.device(Command.AUTH, AuthType.Token, 0, randomBytes(20));
  await assert.rejects(h.conn.ready, (e: AdbError) => e.code === 'AUTH_REJECTED' && e.message.startsWith('dev:1: '));
  assert.ok(h.isClosed());
});

test('handshake: silence gives CONNECT_FAILED, garbage gives CONNECT_FAILED naming the protocol error', async () => {
  const quiet = harness({ connectTimeoutMs: 100 });
  await assert.rejects(quiet.conn.ready, (e: AdbError) => e.code === 'CONNECT_FAILED');
  const noisy = harness();
  noisy.conn.receive(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
  await assert.rejects(noisy.conn.ready, (e: AdbError) => e.code === 'CONNECT_FAILED' && /protocol error/.test(e.message));
  assert.ok(noisy.isClosed());
});

test('exec over shell v2: OPEN with NUL, close-stdin, every WRTE acked, output split across packets', async () => {
  const h = await opened();
  const result = h.conn.exec('echo hi', { maxOutputBytes: 1000 });
  const [open] = h.take();
  assert.equal(open?.command, Command.OPEN);
  assert.equal(open.payload.toString(), 'shell,v2,raw:echo hi\0');
  const local = open.arg0;
  h.device(Command.OKAY, 77, local);
  const [stdinClose] = h.take();
  assert.deepEqual([stdinClose?.command, stdinClose?.arg0, stdinClose?.arg1], [Command.WRTE, local, 77]);
  assert.ok(stdinClose!.payload.equals(encodeShellPacket(ShellId.CloseStdin)));
  const wire = Buffer.concat([
    encodeShellPacket(ShellId.Stdout, Buffer.from('out1 ')),
    encodeShellPacket(ShellId.Stderr, Buffer.from('err ')),
    encodeShellPacket(ShellId.Stdout, Buffer.from('out2')),
    encodeShellPacket(ShellId.Exit, Buffer.from([3])),
  ]);
  for (const piece of [wire.subarray(0, 7), wire.subarray(7, 20), wire.subarray(20)]) {
    h.device(Command.WRTE, 77, local, piece);
    const acks = h.take();
    assert.deepEqual(acks.map((p) => [p.command, p.arg0, p.arg1]), [[Command.OKAY, local, 77]]);
  }
  h.device(Command.CLSE, 77, local);
  const r = await result;
  assert.equal(r.stdout.toString(), 'out1 out2');
  assert.equal(r.stderr.toString(), 'err ');
  assert.equal(r.combined.toString(), 'out1 err out2');
  assert.equal(r.exitCode, 3);
  assert.equal(r.outputBytes, 13);
  assert.equal(r.truncated, false);
  assert.equal(h.conn.openStreams, 0);
});

test('a fast command answered in one chunk costs the host one packet: nothing is sent to a stream the device closed', async () => {
  const h = await opened();
  const result = h.conn.exec('echo hi', { maxOutputBytes: MAX_OUTPUT_BYTES });
  const [open] = h.take();
  const local = open!.arg0;
  const output = Buffer.concat([encodeShellPacket(ShellId.Stdout, Buffer.from('hi\n')), encodeShellPacket(ShellId.Exit, Buffer.from([0]))]);
  h.conn.receive(
    Buffer.concat([
      encodePacket(Command.OKAY, 9, local),
      encodePacket(Command.WRTE, 9, local, output),
      encodePacket(Command.CLSE, 9, local),
    ]),
  );
  const r = await result;
  assert.equal(r.stdout.toString(), 'hi\n');
  assert.equal(r.exitCode, 0);
  assert.deepEqual(h.take(), [], 'no close-stdin, OKAY or CLSE for the closed stream');
  // A stream still open in the same chunk is answered as usual.
  const second = h.conn.exec('echo again', { maxOutputBytes: MAX_OUTPUT_BYTES });
  const [open2] = h.take();
  h.conn.receive(
    Buffer.concat([encodePacket(Command.OKAY, 10, open2!.arg0), encodePacket(Command.WRTE, 10, open2!.arg0, encodeShellPacket(ShellId.Stdout, Buffer.from('a')))]),
  );
  assert.deepEqual(
    h.take().map((p) => p.command),
    [Command.WRTE, Command.OKAY],
  );
  h.device(Command.WRTE, 10, open2!.arg0, encodeShellPacket(ShellId.Exit, Buffer.from([0])));
  h.device(Command.CLSE, 10, open2!.arg0);
  assert.deepEqual(h.take().map((p) => p.command), [Command.OKAY], 'the CLSE is not echoed');
  assert.equal((await second).stdout.toString(), 'a');
});

test('exec: output past maxOutputBytes is counted, not kept', async () => {
  const h = await opened();
  const result = h.conn.exec('seq', { maxOutputBytes: 5 });
  const local = h.take()[0]!.arg0;
  h.device(Command.OKAY, 5, local);
  h.device(Command.WRTE, 5, local, Buffer.concat([encodeShellPacket(ShellId.Stdout, Buffer.from('abc')), encodeShellPacket(ShellId.Stderr, Buffer.from('defgh'))]));
  h.device(Command.WRTE, 5, local, encodeShellPacket(ShellId.Exit, Buffer.from([0])));
  h.device(Command.CLSE, 5, local);
  const r = await result;
  assert.deepEqual([r.stdout.toString(), r.stderr.toString(), r.combined.toString()], ['abc', 'de', 'abcde']);
  assert.deepEqual([r.outputBytes, r.truncated, r.exitCode], [8, true, 0]);
});

test('exec falls back to shell v1 when the device lacks shell_v2', async () => {
  const h = harness();
  h.device(Command.CNXN, 0x01000001, 4096, 'device::features=cmd');
  await h.conn.ready;
  h.take();
  const result = h.conn.exec('ls', { maxOutputBytes: MAX_OUTPUT_BYTES });
  const [open] = h.take();
  assert.equal(open?.payload.toString(), 'shell:ls\0');
  h.device(Command.OKAY, 9, open.arg0);
  assert.equal(h.take().length, 0, 'no shell v2 close-stdin on v1');
  h.device(Command.WRTE, 9, open.arg0, 'a\nb\n');
  h.device(Command.CLSE, 9, open.arg0);
  const r = await result;
  assert.deepEqual([r.stdout.toString(), r.exitCode], ['a\nb\n', null]);
});

test('an OPEN unanswered by the open timeout rejects OPEN_UNANSWERED long before the call\'s own; the late OKAY is answered with CLSE', async () => {
  const h = await opened({ openTimeoutMs: 50 });
  const started = Date.now();
  await assert.rejects(h.conn.exec('sleep 30', { timeoutMs: 60_000, maxOutputBytes: MAX_OUTPUT_BYTES }), (e: AdbError) => e.code === 'OPEN_UNANSWERED' && /not started/.test(e.message));
  assert.ok(Date.now() - started < 1_000, `cut at the open timeout: ${Date.now() - started} ms`);
  const local = h.take()[0]!.arg0;
  h.device(Command.OKAY, 42, local);
  assert.deepEqual(h.take().map((p) => [p.command, p.arg0, p.arg1]), [[Command.CLSE, local, 42]]);
});

test('a call whose own timeout is shorter than the open timeout: an unanswered OPEN is still OPEN_UNANSWERED, never TIMEOUT', async () => {
  const h = await opened();
  await assert.rejects(h.conn.exec('sleep 30', { timeoutMs: 50, maxOutputBytes: MAX_OUTPUT_BYTES }), (e: AdbError) => e.code === 'OPEN_UNANSWERED');
});

test('an answered OPEN runs until the call\'s own timeout (TIMEOUT), not the open timeout', async () => {
  const h = await opened({ openTimeoutMs: 30 });
  const started = Date.now();
  const result = h.conn.exec('sleep 30', { timeoutMs: 300, maxOutputBytes: MAX_OUTPUT_BYTES });
  h.device(Command.OKAY, 42, h.take()[0]!.arg0);
  await assert.rejects(result, (e: AdbError) => e.code === 'TIMEOUT');
  assert.ok(Date.now() - started >= 290, `ran to its own timeout: ${Date.now() - started} ms`);
});

test('abort after open sends CLSE and rejects CANCELLED; an aborted signal never opens', async () => {
  const h = await opened();
  const ac = new AbortController();
  const result = h.conn.exec('sleep 30', { signal: ac.signal, maxOutputBytes: MAX_OUTPUT_BYTES });
  const local = h.take()[0]!.arg0;
  h.device(Command.OKAY, 8, local);
  h.take();
  ac.abort();
  await assert.rejects(result, (e: AdbError) => e.code === 'CANCELLED');
  assert.deepEqual(h.take().map((p) => [p.command, p.arg0, p.arg1]), [[Command.CLSE, local, 8]]);
  await assert.rejects(h.conn.exec('x', { signal: ac.signal, maxOutputBytes: MAX_OUTPUT_BYTES }), (e: AdbError) => e.code === 'CANCELLED');
  assert.equal(h.take().length, 0);
});

test('flow control: one WRTE in flight per stream until the device says OKAY', async () => {
  const h = await opened();
  const s = h.conn.openStream('sink:', { onOpen() {}, onData() {}, onClose() {} });
  const local = h.take()[0]!.arg0;
  s.write(Buffer.from('a'));
  assert.equal(h.take().length, 0, 'nothing before the OPEN is answered');
  h.device(Command.OKAY, 3, local);
  s.write(Buffer.from('b'));
  s.write(Buffer.from('c'));
  assert.deepEqual(h.take().map((p) => p.payload.toString()), ['a']);
  h.device(Command.OKAY, 3, local);
  assert.deepEqual(h.take().map((p) => p.payload.toString()), ['b']);
  h.device(Command.OKAY, 3, local);
  assert.deepEqual(h.take().map((p) => p.payload.toString()), ['c']);
});

test('garbage after the handshake fails open streams with PROTOCOL_ERROR and reports the close', async () => {
  const h = await opened();
  let reported: AdbError | null = null;
  h.conn.onclose = (e) => (reported = e);
  const result = h.conn.exec('echo', { maxOutputBytes: MAX_OUTPUT_BYTES });
  h.conn.receive(Buffer.alloc(24, 0x41));
  await assert.rejects(result, (e: AdbError) => e.code === 'PROTOCOL_ERROR');
  assert.equal((reported as AdbError | null)?.code, 'PROTOCOL_ERROR');
  assert.ok(h.isClosed());
  await assert.rejects(h.conn.exec('echo', { maxOutputBytes: MAX_OUTPUT_BYTES }), (e: AdbError) => e.code === 'CONNECTION_LOST');
});

test('a device OPEN is refused and a refused OPEN of ours fails the call', async () => {
  const h = await opened();
  h.device(Command.OPEN, 12, 0, 'tcp:80\0');
  assert.deepEqual(h.take().map((p) => [p.command, p.arg0, p.arg1]), [[Command.CLSE, 0, 12]]);
  const result = h.conn.exec('x', { maxOutputBytes: MAX_OUTPUT_BYTES });
  const local = h.take()[0]!.arg0;
  h.device(Command.CLSE, 0, local);
  await assert.rejects(result, (e: AdbError) => e.code === 'PROTOCOL_ERROR' && /refused/.test(e.message));
});

test('ping: a refused OPEN and an accepted one both answer it; a lost connection does not', async () => {
  const h = await opened();
  const refused = h.conn.ping(1_000);
  const open1 = h.take()[0]!;
  assert.equal(open1.command, Command.OPEN);
  assert.equal(open1.payload.toString(), 'sync:\0');
  h.device(Command.CLSE, 0, open1.arg0);
  await refused;

  const accepted = h.conn.ping(1_000);
  const open2 = h.take()[0]!;
  h.device(Command.OKAY, 77, open2.arg0);
  await accepted;
  assert.deepEqual(h.take().map((p) => [p.command, p.arg0, p.arg1]), [[Command.CLSE, open2.arg0, 77]], 'the accepted stream is closed at once');

  const lost = h.conn.ping(1_000);
  h.conn.transportClosed();
  await assert.rejects(lost, (e: AdbError) => e.code === 'CONNECTION_LOST');
});

test('lastReceivedAt: set when bytes arrive from the device, not when we send', async () => {
  const h = await opened();
  const afterHandshake = h.conn.lastReceivedAt;
  assert.ok(afterHandshake > 0, 'the CNXN counts');
  h.conn.lastReceivedAt = 1;
  void h.conn.ping(1_000).catch(() => {});
  assert.equal(h.conn.lastReceivedAt, 1, 'sending an OPEN is not receiving');
  h.device(Command.CLSE, 0, h.take()[0]!.arg0);
  assert.ok(h.conn.lastReceivedAt >= afterHandshake, 'a refused OPEN is an answer');
  // adbd answers the CLSE that closes an accepted ping with its own: that echo is not traffic.
  const accepted = h.conn.ping(1_000);
  h.device(Command.OKAY, 77, h.take()[0]!.arg0);
  await accepted;
  const [clse] = h.take();
  h.conn.lastReceivedAt = 1;
  h.device(Command.CLSE, 77, clse!.arg0);
  assert.equal(h.conn.lastReceivedAt, 1, 'the echo of our own CLSE does not count');
  h.device(Command.WRTE, 78, 9999, 'stray');
  assert.equal(h.conn.lastReceivedAt, 1, 'nor does a packet for no open stream');
});

test('a device that leaves OPENs unanswered cannot make abandoned streams pile up', async () => {
  const h = await opened();
  let reported: AdbError | null = null;
  h.conn.onclose = (e) => (reported = e);
  // Answered late: no longer counted.
  const late = h.conn.openStream('x:', { onOpen() {}, onData() {}, onClose() {} });
  late.close();
  h.device(Command.OKAY, 5, late.localId);
  for (let i = 0; i < MAX_UNANSWERED_OPENS; i++) h.conn.openStream('x:', { onOpen() {}, onData() {}, onClose() {} }).close();
  assert.ok(h.conn.isOpen, 'up to the limit the connection stays');
  h.conn.openStream('x:', { onOpen() {}, onData() {}, onClose() {} }).close();
  assert.ok(!h.conn.isOpen);
  assert.equal((reported as AdbError | null)?.code, 'CONNECTION_LOST');
});

/** A shell v2 exec whose OPEN the device accepted with remote id 77. */
async function running(h: Awaited<ReturnType<typeof opened>>, command: string) {
  const result = h.conn.exec(command, { timeoutMs: 60_000, maxOutputBytes: MAX_OUTPUT_BYTES });
  const local = h.take()[0]!.arg0;
  h.device(Command.OKAY, 77, local);
  h.take(); // close-stdin
  return { result, local };
}

test('a shell v2 packet with an id no device sends ends that exec at once with PROTOCOL_ERROR naming it; the stream is closed, the connection stays', async () => {
  const h = await opened();
  const other = h.conn.exec('sleep 1', { timeoutMs: 60_000, maxOutputBytes: MAX_OUTPUT_BYTES });
  const otherLocal = h.take()[0]!.arg0;
  h.device(Command.OKAY, 78, otherLocal);
  h.take();
  const { result, local } = await running(h, 'echo x');
  h.device(Command.WRTE, 77, local, Buffer.concat([encodeShellPacket(ShellId.Stdout, Buffer.from('before ')), encodeShellPacket(7 as ShellId, Buffer.from('??'))]));
  await assert.rejects(result, (e: AdbError) => {
    assert.equal(e.code, 'PROTOCOL_ERROR');
    assert.match(e.message, /shell v2: packet id 7 is not one the sender may use/);
    assert.equal(e.partial?.combined.toString(), 'before ', 'what it printed before is kept');
    return true;
  });
  assert.deepEqual(h.take().map((p) => [p.command, p.arg0, p.arg1]), [[Command.OKAY, local, 77], [Command.CLSE, local, 77]]);
  assert.ok(h.conn.isOpen && !h.isClosed(), 'the connection carries on');
  h.device(Command.WRTE, 78, otherLocal, Buffer.concat([encodeShellPacket(ShellId.Stdout, Buffer.from('fine')), encodeShellPacket(ShellId.Exit, Buffer.from([0]))]));
  h.device(Command.CLSE, 78, otherLocal);
  assert.equal((await other).stdout.toString(), 'fine', 'the other stream was not touched');
});

test('a shell v2 header announcing 2^31 bytes ends the exec at once with PROTOCOL_ERROR, however it is split across WRTEs', async () => {
  const h = await opened();
  const { result, local } = await running(h, 'echo x');
  const header = Buffer.alloc(5);
  header[0] = ShellId.Stdout;
  header.writeUInt32LE(2 ** 31, 1);
  h.device(Command.WRTE, 77, local, header.subarray(0, 2));
  h.device(Command.WRTE, 77, local, Buffer.concat([header.subarray(2), Buffer.from('x')]));
  await assert.rejects(result, (e: AdbError) => e.code === 'PROTOCOL_ERROR' && /packet of 2147483648 bytes announced/.test(e.message));
  assert.ok(h.conn.isOpen);
  assert.equal(h.conn.openStreams, 0);
});
