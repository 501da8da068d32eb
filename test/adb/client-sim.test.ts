// Our client against the real simulator over real sockets: outputs, exit codes, big outputs,
// many streams on one connection, timeouts, cancellation and RSA authentication.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { AdbPool, connectAdb, generateKey, type AdbConnection, type AdbError } from '../../src/adb/index.js';
import { ADB_TIMEOUTS, MAX_OUTPUT_BYTES, testKey, testPublicKey, until } from '../support/index.js';
import { codeOf, seqText } from './helpers.js';

let fleet: Fleet;
let pool: AdbPool;
let addr: string;

before(async () => {
  fleet = await startFleet({ count: 2, auth: 'rsa', trustedKeys: [testPublicKey()] });
  pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
  addr = fleet.instances[0]!.address;
});

after(async () => {
  await pool?.close();
  await fleet?.close();
});

test('stdout, stderr and exit codes of shell commands', async () => {
  const cases: [string, number, string, RegExp | string][] = [
    ['echo hello world', 0, 'hello world\n', ''],
    ['ls /nonexistent', 1, '', /No such file or directory/],
    ['exit 3', 3, '', ''],
    ['nosuchcmd', 127, '', /nosuchcmd/],
    ['getprop ro.product.model', 0, 'KooSim Phone\n', ''],
    // stdin is closed for every exec, so a command reading it ends instead of waiting forever
    ['cat', 0, '', ''],
  ];
  for (const [cmd, code, out, err] of cases) {
    const r = await pool.exec(addr, cmd, { timeoutMs: 20_000, maxOutputBytes: MAX_OUTPUT_BYTES });
    assert.equal(r.exitCode, code, cmd);
    assert.equal(r.stdout.toString(), out, cmd);
    if (typeof err === 'string') assert.equal(r.stderr.toString(), err, cmd);
    else assert.match(r.stderr.toString(), err, cmd);
    assert.equal(r.combined.length, r.stdout.length + r.stderr.length);
    assert.equal(r.outputBytes, r.combined.length);
    assert.equal(r.truncated, false);
  }
});

test('a 5 MB output arrives whole, and past maxOutputBytes it is counted but not kept', async () => {
  const want = seqText(700_000);
  const r = await pool.exec(addr, 'seq 1 700000', { timeoutMs: 60_000, maxOutputBytes: 8 * 1024 * 1024 });
  assert.equal(r.exitCode, 0);
  assert.equal(r.outputBytes, Buffer.byteLength(want));
  assert.ok(r.stdout.equals(Buffer.from(want)), 'stdout is byte-identical');
  const cut = await pool.exec(addr, 'seq 1 700000', { timeoutMs: 60_000, maxOutputBytes: 1000 });
  assert.equal(cut.exitCode, 0);
  assert.equal(cut.outputBytes, Buffer.byteLength(want));
  assert.equal(cut.truncated, true);
  assert.equal(cut.combined.toString(), want.slice(0, 1000));
});

test('100 concurrent streams share one connection and each gets its own output', async () => {
  const conn: AdbConnection = await connectAdb(fleet.instances[1]!.address, { ...ADB_TIMEOUTS, key: testKey() });
  try {
    const calls = Array.from({ length: 100 }, (_, i) => conn.exec(`echo stream ${i}`, { timeoutMs: 60_000, maxOutputBytes: MAX_OUTPUT_BYTES }));
    assert.equal(conn.openStreams, 100, 'all 100 are open on the connection at once');
    const results = await Promise.all(calls);
    results.forEach((r, i) => assert.equal(r.stdout.toString(), `stream ${i}\n`));
    const entries = fleet.instances[1]!.journal().filter((e) => e.command.startsWith('echo stream'));
    assert.equal(entries.length, 100);
    assert.equal(new Set(entries.map((e) => e.connectionId)).size, 1, 'all on one TCP connection');
    assert.equal(conn.openStreams, 0);
  } finally {
    conn.close();
  }
});

test('the pool bounds streams per connection and lets waiting callers in FIFO order', async () => {
  const small = new AdbPool({ ...ADB_TIMEOUTS, key: testKey(), maxStreamsPerConnection: 8 });
  try {
    await small.connect(addr);
    const calls = Array.from({ length: 100 }, (_, i) => small.exec(addr, `echo fifo ${i}`, { timeoutMs: 60_000, maxOutputBytes: MAX_OUTPUT_BYTES }));
    assert.equal(small.stats().openStreams, 8, 'eight run, the rest wait');
    const results = await Promise.all(calls);
    results.forEach((r, i) => assert.equal(r.stdout.toString(), `fifo ${i}\n`));
    const order = fleet.journal().filter((e) => e.command.startsWith('echo fifo')).map((e) => Number(e.command.split(' ')[2]));
    assert.deepEqual(order, Array.from({ length: 100 }, (_, i) => i), 'started in submission order');
    assert.deepEqual([small.stats().connections, small.stats().openStreams], [1, 0]);
  } finally {
    await small.close();
  }
});

test('a caller waiting for a stream slot gives up at its timeout, on cancel, and when the pool closes', async () => {
  const one = new AdbPool({ ...ADB_TIMEOUTS, key: testKey(), maxStreamsPerConnection: 1 });
  const held = one.exec(addr, 'sleep 32', { maxOutputBytes: MAX_OUTPUT_BYTES });
  try {
    await until('the slot to be held', () => fleet.journal().some((e) => e.command === 'sleep 32'));
    await assert.rejects(one.exec(addr, 'echo late', { timeoutMs: 200, maxOutputBytes: MAX_OUTPUT_BYTES }), (e: AdbError) => e.code === 'TIMEOUT' && /no stream slot within 200 ms/.test(e.detail ?? ''));
    const ac = new AbortController();
    const cancelled = one.exec(addr, 'echo cancelled', { signal: ac.signal, maxOutputBytes: MAX_OUTPUT_BYTES });
    ac.abort();
    await assert.rejects(cancelled, (e: AdbError) => e.code === 'CANCELLED' && /waiting for a stream slot/.test(e.detail ?? ''));
    const queued = one.exec(addr, 'echo queued', { maxOutputBytes: MAX_OUTPUT_BYTES });
    assert.equal(one.stats().openStreams, 1, 'only the sleep holds a slot');
    await one.close();
    await assert.rejects(queued, (e: AdbError) => e.code === 'CANCELLED' && e.detail === 'the pool is closed');
    await assert.rejects(held, (e: AdbError) => e.code === 'CONNECTION_LOST');
    assert.equal(fleet.journal().filter((e) => e.command === 'echo late' || e.command === 'echo cancelled' || e.command === 'echo queued').length, 0, 'no waiter ran');
  } finally {
    await one.close();
    await held.catch(() => undefined);
  }
});

test('timeout closes the stream (the shell is hung up on) and rejects with TIMEOUT', async () => {
  await assert.rejects(pool.exec(addr, 'sleep 30', { timeoutMs: 300, maxOutputBytes: MAX_OUTPUT_BYTES }), (e) => codeOf(e) === 'TIMEOUT');
  const entry = () => fleet.journal().find((e) => e.command === 'sleep 30');
  await until('the device to see the stream closed', () => entry()?.end === 'closed');
  // The connection is still good for the next command.
  assert.equal((await pool.exec(addr, 'echo after', { timeoutMs: 20_000, maxOutputBytes: MAX_OUTPUT_BYTES })).stdout.toString(), 'after\n');
});

test('a command cut short: the error carries what it printed, each stream its own', async () => {
  // Connected first, and a timeout long enough for output to flow on a loaded machine: the
  // assertion is about what a timed-out command carries, not about how soon it printed.
  await pool.connect(addr);
  const opts = { timeoutMs: 1_500, maxOutputBytes: MAX_OUTPUT_BYTES };
  const calls = [pool.exec(addr, 'seq 1 100000000', opts), pool.exec(addr, 'sleep 30', opts)];
  const [printed, silent] = await Promise.allSettled(calls);
  assert.equal(printed?.status, 'rejected');
  const err = (printed as PromiseRejectedResult).reason as AdbError;
  assert.equal(err.code, 'TIMEOUT');
  assert.ok(err.partial !== null && err.partial.outputBytes > 0);
  assert.ok(err.partial.combined.toString().startsWith('1\n2\n3\n'));
  assert.ok(err.partial.stdout.equals(err.partial.combined));
  assert.equal(((silent as PromiseRejectedResult).reason as AdbError).partial, null, 'no output, no partial');
});

test('ping: adbd answers an OPEN that runs nothing; a hung device times out', async () => {
  const before = fleet.journal().length;
  await pool.ping(addr, 5_000);
  assert.equal(fleet.journal().length, before, 'no command ran');
  const hung = fleet.instances[1]!;
  await pool.connect(hung.address);
  hung.setFault({ kind: 'hang' });
  try {
    await assert.rejects(pool.ping(hung.address, 200), (e) => codeOf(e) === 'TIMEOUT');
  } finally {
    hung.setFault(null);
  }
  await pool.ping(hung.address, 5_000);
});

test('aborting through an AbortSignal closes the stream and rejects with CANCELLED', async () => {
  const ac = new AbortController();
  const call = pool.exec(addr, 'sleep 31', { signal: ac.signal, maxOutputBytes: MAX_OUTPUT_BYTES });
  await until('the command to start', () => fleet.journal().some((e) => e.command === 'sleep 31'));
  ac.abort();
  await assert.rejects(call, (e) => codeOf(e) === 'CANCELLED');
  await until('the device to see the close', () => fleet.journal().find((e) => e.command === 'sleep 31')?.end === 'closed');
});

test('RSA auth: a trusted key is accepted; an unknown key is offered and accepted; a refused one gives AUTH_REJECTED', async () => {
  const banner = await pool.connect(addr);
  assert.equal(banner.model, 'KooSim Phone');
  const stranger = new AdbPool({ ...ADB_TIMEOUTS, key: generateKey('stranger@host') });
  const refused = new AdbPool({ ...ADB_TIMEOUTS, key: generateKey('refused@host'), authTimeoutMs: 500 });
  const rsaFleet = await startFleet({ count: 1, auth: 'rsa' });
  try {
    const a = rsaFleet.instances[0]!.address;
    const r = await stranger.exec(a, 'echo welcome', { timeoutMs: 20_000, maxOutputBytes: MAX_OUTPUT_BYTES });
    assert.equal(r.stdout.toString(), 'welcome\n');
    rsaFleet.instances[0]!.setFault({ kind: 'auth-reject' });
    await assert.rejects(refused.connect(a), (e) => codeOf(e) === 'AUTH_REJECTED' && (e as Error).message.includes(a));
  } finally {
    await stranger.close();
    await refused.close();
    await rsaFleet.close();
  }
});

test('a device without shell_v2 gets shell v1: no exit code, all output as stdout', async () => {
  const v1 = await startFleet({ count: 1, features: [] });
  const p = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
  try {
    const a = v1.instances[0]!.address;
    const r = await p.exec(a, 'ls /nonexistent', { timeoutMs: 20_000, maxOutputBytes: MAX_OUTPUT_BYTES });
    assert.equal(r.exitCode, null);
    assert.match(r.stdout.toString(), /No such file or directory/);
    assert.equal(r.stderr.length, 0);
    assert.equal(v1.journal()[0]?.service, 'shell');
  } finally {
    await p.close();
    await v1.close();
  }
});
