// Instances behind Debian's real adb server (`adb-server://127.0.0.1:PORT/SERIAL`): simulator
// instances `adb connect`ed to a private server become its serials, and the same command through
// the direct path and through the server gives the same stdout, stderr, exit code, and the same
// errors for timeouts, cancels and devices that are not there.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AdbServerPool, FleetPool, isAdbError, type ExecResult } from '../../src/adb/index.js';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { ADB_TIMEOUTS, debianAdbSkip as skip, freePort, startAdbServer, testKey, testPublicKey, until, type AdbServer } from '../support/index.js';

let server: AdbServer | null = null;
let fleet: Fleet | null = null;
/** a device that speaks shell v1 only */
let v1: Fleet | null = null;
let pool: FleetPool | null = null;

const viaServer = (address: string): string => `adb-server://127.0.0.1:${server!.port}/${address}`;
const codeOf = (e: unknown): string => (isAdbError(e) ? e.code : `not an AdbError: ${String(e)}`);

before(async () => {
  if (skip !== false) return;
  server = await startAdbServer();
  fleet = await startFleet({ count: 4, auth: 'rsa', trustedKeys: [testPublicKey()], rebootDelayMs: 500 });
  v1 = await startFleet({ count: 1, features: [] });
  for (const inst of [...fleet.instances.slice(0, 3), ...v1.instances]) await server.connect(inst.address);
  pool = new FleetPool({ ...ADB_TIMEOUTS, key: testKey(), backoffBaseMs: 50, backoffMaxMs: 200 });
});

after(async () => {
  await pool?.close();
  await server?.close();
  await fleet?.close();
  await v1?.close();
});

/** The command on the same instance directly and through the server: both results, or both errors. */
async function both(address: string, command: string, opts: { timeoutMs?: number; maxOutputBytes?: number } = {}): Promise<[ExecResult, ExecResult]> {
  const o = { timeoutMs: opts.timeoutMs ?? 20_000, maxOutputBytes: opts.maxOutputBytes ?? 1 << 20 };
  return Promise.all([pool!.exec(address, command, o), pool!.exec(viaServer(address), command, o)]);
}

test('the same commands give the same stdout, stderr, exit code and output accounting both ways', { skip }, async () => {
  const a = fleet!.instances[0]!.address;
  for (const command of ['echo hello', 'ls /nope', 'echo out; ls /nope; exit 3', 'nosuchtool', 'getprop ro.serialno', 'cat', 'seq 1 200000']) {
    const [direct, served] = await both(a, command);
    assert.deepEqual(served, direct, command);
  }
  const [direct, served] = await both(a, 'echo out; ls /nope; exit 3');
  assert.deepEqual([served.stdout.toString(), served.stderr.toString(), served.exitCode], ['out\n', 'ls: /nope: No such file or directory\n', 3]);
  assert.deepEqual(served, direct);
});

test('the output cap cuts both ways alike', { skip }, async () => {
  const [direct, served] = await both(fleet!.instances[1]!.address, 'seq 1 100000', { maxOutputBytes: 1000 });
  assert.equal(served.truncated, true);
  assert.equal(served.combined.length, 1000);
  assert.deepEqual(served, direct);
});

test('a shell v1 device (no shell_v2 feature) falls back to shell: both ways, no exit code', { skip }, async () => {
  const [direct, served] = await both(v1!.instances[0]!.address, 'echo out; ls /nope; exit 3');
  assert.equal(served.exitCode, null);
  assert.equal(served.stdout.toString(), 'out\nls: /nope: No such file or directory\n');
  assert.deepEqual(served, direct);
});

test('a timeout ends the remote command and fails TIMEOUT with the output so far, both ways', { skip }, async () => {
  const inst = fleet!.instances[2]!;
  const errors = await Promise.all(
    [inst.address, viaServer(inst.address)].map((a) =>
      pool!.exec(a, 'echo started; sleep 30', { timeoutMs: 1_000, maxOutputBytes: 1 << 20 }).then(
        () => assert.fail(`${a}: no timeout`),
        (e: unknown) => e,
      ),
    ),
  );
  for (const e of errors) {
    assert.equal(codeOf(e), 'TIMEOUT');
    assert.equal(isAdbError(e) ? e.partial?.stdout.toString() : null, 'started\n');
  }
  // The device hung up on both commands (the server closes the device's stream when our socket goes).
  await until('both sleeps to be hung up on', () => inst.journal().filter((j) => j.command === 'echo started; sleep 30' && j.end === 'closed').length === 2, 10_000);
});

test('a cancel closes the stream and fails CANCELLED, both ways', { skip }, async () => {
  const inst = fleet!.instances[2]!;
  const errors = await Promise.all(
    [inst.address, viaServer(inst.address)].map(async (a, i) => {
      const ac = new AbortController();
      const command = `sleep 3${i}`;
      const p = pool!.exec(a, command, { timeoutMs: 20_000, maxOutputBytes: 1 << 20, signal: ac.signal });
      await until(`${a}: ${command} to start`, () => inst.journal().some((j) => j.command === command && j.end === 'running'));
      ac.abort();
      return p.then(() => assert.fail(`${a}: not cancelled`), (e: unknown) => e);
    }),
  );
  assert.deepEqual(errors.map(codeOf), ['CANCELLED', 'CANCELLED']);
  await until('both sleeps to be hung up on', () => inst.journal().filter((j) => /^sleep 3[01]$/.test(j.command) && j.end === 'closed').length === 2, 10_000);
});

test('a serial the server does not know, and no server at all, fail CONNECT_FAILED naming why', { skip }, async () => {
  const unknown = viaServer('127.0.0.1:1');
  await assert.rejects(pool!.exec(unknown, 'echo x', { timeoutMs: 5_000, maxOutputBytes: 1024 }), (e) => codeOf(e) === 'CONNECT_FAILED' && /device '127\.0\.0\.1:1' not found/.test(String(e)));
  await assert.rejects(pool!.connect(unknown), (e) => codeOf(e) === 'CONNECT_FAILED' && String(e).includes(unknown));
  assert.equal(pool!.isConnected(unknown), false);
  assert.ok(pool!.nextAttemptAt(unknown) > 0, 'a failed connect backs off');
  await assert.rejects(pool!.ping(unknown, 2_000), (e) => codeOf(e) === 'CONNECT_FAILED');
  const nobody = `adb-server://127.0.0.1:${await freePort()}/serial-1`;
  await assert.rejects(pool!.exec(nobody, 'echo x', { timeoutMs: 5_000, maxOutputBytes: 1024 }), (e) => codeOf(e) === 'CONNECT_FAILED');
});

test('an unauthorized device fails AUTH_REJECTED, as a direct refusal does', { skip }, async () => {
  const inst = fleet!.instances[3]!;
  inst.setFault({ kind: 'auth-reject' });
  await server!.run(['connect', inst.address], 10_000);
  await server!.waitForState(inst.address, 'unauthorized');
  await assert.rejects(pool!.connect(viaServer(inst.address)), (e) => codeOf(e) === 'AUTH_REJECTED');
  await assert.rejects(pool!.exec(viaServer(inst.address), 'echo x', { timeoutMs: 5_000, maxOutputBytes: 1024 }), (e) => codeOf(e) === 'AUTH_REJECTED');
  await assert.rejects(pool!.ping(viaServer(inst.address), 2_000), (e) => codeOf(e) === 'AUTH_REJECTED');
  assert.equal(inst.journal().length, 0, 'nothing ran');
  inst.setFault(null);
});

test('health through get-state: a listed device answers, connect makes it connected', { skip }, async () => {
  const a = viaServer(fleet!.instances[0]!.address);
  await pool!.ping(a, 2_000);
  await pool!.connect(a);
  assert.equal(pool!.isConnected(a), true);
  assert.equal(pool!.nextAttemptAt(a), 0);
});

test('sockets per adb server are capped: commands past the cap wait their turn and all run', { skip }, async () => {
  const capped = new AdbServerPool({ connectTimeoutMs: 3_000, openTimeoutMs: 3_000, maxSocketsPerServer: 2 });
  try {
    const insts = fleet!.instances.slice(0, 3);
    const results = await Promise.all(
      [...insts, ...insts].map((inst, i) => capped.exec(viaServer(inst.address), `sleep 0.2; echo c${i}`, { timeoutMs: 20_000, maxOutputBytes: 1024 })),
    );
    assert.deepEqual(results.map((r) => r.stdout.toString()), [0, 1, 2, 3, 4, 5].map((i) => `c${i}\n`));
    // No more than two ran at once on the devices: each started after all but one of the earlier ones ended.
    const runs = insts.flatMap((inst) => inst.journal().filter((j) => /^sleep 0\.2; echo c\d$/.test(j.command)));
    assert.equal(runs.length, 6);
    for (const r of runs) {
      const overlapping = runs.filter((o) => o !== r && o.startedAt < r.startedAt && (o.endedAt ?? Infinity) > r.startedAt);
      assert.ok(overlapping.length <= 1, `${r.command} started while ${overlapping.length} others ran`);
    }
    assert.equal(capped.stats().openSockets, 0);
  } finally {
    await capped.close();
  }
});

test('reboot through the server: the device reboots and answers again through the server', { skip }, async () => {
  const inst = fleet!.instances[1]!;
  const a = viaServer(inst.address);
  await pool!.reboot(a);
  assert.ok(inst.journal().some((j) => j.service === 'reboot'), 'the device got reboot:');
  assert.equal(pool!.isConnected(a), false, 'asked again before the next command');
  // The server reconnects to a device it was told to `adb connect` to once it is back.
  await until('the device to answer get-state again', () => pool!.ping(a, 2_000).then(() => true, () => false), 30_000, 200);
  const r = await pool!.exec(a, 'echo back', { timeoutMs: 10_000, maxOutputBytes: 1024 });
  assert.equal(r.stdout.toString(), 'back\n');
});
