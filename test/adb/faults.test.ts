// Every simulator fault gives its own error code, fails only its own instance, and the pool
// (backoff, reboot, idle close, disconnect events) behaves as the worker relies on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFleet, type Fault, type Fleet } from '../../src/sim/index.js';
import { AdbPool, type AdbError } from '../../src/adb/index.js';
import { ADB_TIMEOUTS, MAX_OUTPUT_BYTES, testKey, until } from '../support/index.js';
import { codeOf } from './helpers.js';

async function withFleet(count: number, fn: (fleet: Fleet) => Promise<void>, opts: { rebootDelayMs?: number } = {}): Promise<void> {
  const fleet = await startFleet({ count, ...opts });
  try {
    await fn(fleet);
  } finally {
    await fleet.close();
  }
}

async function outcome(p: Promise<{ stdout: Buffer }>): Promise<string> {
  try {
    return `ok:${(await p).stdout.toString().trim()}`;
  } catch (e) {
    return codeOf(e);
  }
}

test('faults on a fresh connection: each instance fails with its own code while a healthy one keeps working', () =>
  withFleet(7, async (fleet) => {
    const [healthy, ...faulty] = fleet.instances;
    const faults: [Fault, string][] = [
      [{ kind: 'latency', ms: 200 }, 'ok:x'],
      // The simulator's hang completes the handshake and never answers OPEN.
      [{ kind: 'hang' }, 'OPEN_UNANSWERED'],
      [{ kind: 'refuse' }, 'CONNECT_FAILED'],
      [{ kind: 'auth-reject' }, 'AUTH_REJECTED'],
      [{ kind: 'garbage' }, 'CONNECT_FAILED'],
      [{ kind: 'offline', ms: 60_000 }, 'CONNECT_FAILED'],
    ];
    faults.forEach(([f], i) => faulty[i]!.setFault(f));
    const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey(), connectTimeoutMs: 1_000, authTimeoutMs: 1_000 });
    try {
      const healthyRuns = Array.from({ length: 20 }, (_, i) => pool.exec(healthy!.address, `echo ${i}`, { timeoutMs: 30_000, maxOutputBytes: MAX_OUTPUT_BYTES }));
      const got = await Promise.all(faults.map((_, i) => outcome(pool.exec(faulty[i]!.address, 'echo x', { timeoutMs: 3_000, maxOutputBytes: MAX_OUTPUT_BYTES }))));
      assert.deepEqual(got, faults.map(([, want]) => want));
      (await Promise.all(healthyRuns)).forEach((r, i) => assert.equal(r.stdout.toString(), `${i}\n`));
      assert.equal(pool.stats().connectsFailed, 4, 'refuse, auth-reject, garbage and offline failed to connect');
    } finally {
      await pool.close();
    }
  }));

test('faults on an established connection: hang leaves the OPEN unanswered, drop and offline lose it, garbage is a protocol error', () =>
  withFleet(5, async (fleet) => {
    const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
    const lost: [string, string][] = [];
    pool.onDisconnect((address, err) => lost.push([address, err.code]));
    try {
      await Promise.all(fleet.instances.map((i) => pool.connect(i.address)));
      const [healthy, hang, drop, garbage, offline] = fleet.instances as [typeof fleet.instances[0], ...typeof fleet.instances];
      hang!.setFault({ kind: 'hang' });
      drop!.setFault({ kind: 'drop', afterBytes: 1000 });
      garbage!.setFault({ kind: 'garbage' });
      const long = pool.exec(offline!.address, 'sleep 60', { timeoutMs: 60_000, maxOutputBytes: MAX_OUTPUT_BYTES });
      await until('the long command to start', () => offline!.journal().some((e) => e.command === 'sleep 60'));
      offline!.setFault({ kind: 'offline', ms: 60_000 });
      const got = await Promise.all([
        outcome(pool.exec(healthy!.address, 'echo fine', { timeoutMs: 30_000, maxOutputBytes: MAX_OUTPUT_BYTES })),
        outcome(pool.exec(hang!.address, 'echo x', { timeoutMs: 500, maxOutputBytes: MAX_OUTPUT_BYTES })),
        outcome(pool.exec(drop!.address, 'seq 1 100000', { timeoutMs: 30_000, maxOutputBytes: MAX_OUTPUT_BYTES })),
        outcome(pool.exec(garbage!.address, 'echo x', { timeoutMs: 30_000, maxOutputBytes: MAX_OUTPUT_BYTES })),
        outcome(long),
      ]);
      assert.deepEqual(got, ['ok:fine', 'OPEN_UNANSWERED', 'CONNECTION_LOST', 'PROTOCOL_ERROR', 'CONNECTION_LOST']);
      await until('three disconnect events', () => lost.length === 3);
      assert.deepEqual(lost.map(([a]) => a).sort(), [drop!.address, garbage!.address, offline!.address].sort());
      assert.ok(pool.isConnected(healthy!.address) && pool.isConnected(hang!.address));
      assert.ok(!pool.isConnected(drop!.address));
    } finally {
      await pool.close();
    }
  }));

test('bad-shell-packet: an unknown id or a 2^31 length ends the exec at once (PROTOCOL_ERROR), the command is hung up on, the connection serves the next one', () =>
  withFleet(1, async (fleet) => {
    const inst = fleet.instances[0]!;
    const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
    try {
      for (const [fault, violation] of [
        [{ kind: 'bad-shell-packet', id: 9, length: 4 }, /packet id 9 is not one the sender may use/],
        [{ kind: 'bad-shell-packet', id: 1, length: 2 ** 31 }, /packet of 2147483648 bytes announced/],
      ] as const) {
        inst.setFault(fault);
        const started = Date.now();
        await assert.rejects(pool.exec(inst.address, 'echo x', { timeoutMs: 60_000, maxOutputBytes: MAX_OUTPUT_BYTES }), (e: AdbError) => e.code === 'PROTOCOL_ERROR' && violation.test(e.message));
        assert.ok(Date.now() - started < 2_000, `at once, not at the 60 s timeout: ${Date.now() - started} ms`);
        await until('the device to see the stream closed', () => inst.journal().at(-1)?.end === 'closed');
        inst.setFault(null);
        const r = await pool.exec(inst.address, 'echo after', { timeoutMs: 10_000, maxOutputBytes: MAX_OUTPUT_BYTES });
        assert.equal(r.stdout.toString(), 'after\n');
      }
      assert.deepEqual(new Set(inst.journal().map((e) => e.connectionId)), new Set([1]), 'one connection throughout');
      assert.equal(pool.stats().connections, 1);
    } finally {
      await pool.close();
    }
  }));

test('backoff: after a failed connect, calls fail fast with the last error until the wait is over', () =>
  withFleet(1, async (fleet) => {
    const inst = fleet.instances[0]!;
    inst.setFault({ kind: 'refuse' });
    const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey(), backoffBaseMs: 2_000, backoffMaxMs: 2_000 });
    try {
      await assert.rejects(pool.exec(inst.address, 'echo', { timeoutMs: 10_000, maxOutputBytes: MAX_OUTPUT_BYTES }), (e) => codeOf(e) === 'CONNECT_FAILED');
      inst.setFault(null);
      // Within the backoff (at least half of 2 s, by the jitter rule) no new attempt is made.
      await assert.rejects(pool.connect(inst.address), (e) => codeOf(e) === 'CONNECT_FAILED');
      assert.equal(pool.stats().connectsFailed, 1);
      let banner = null;
      const end = Date.now() + 20_000;
      while (banner === null && Date.now() < end) {
        banner = await pool.connect(inst.address).catch(() => null);
        if (banner === null) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(banner !== null, 'connects once the backoff is over');
      assert.equal(pool.stats().connectsFailed, 1, 'no attempt was made during the backoff');
    } finally {
      await pool.close();
    }
  }));

test('reboot: the device goes down (a disconnect event), refuses meanwhile, then answers again', () =>
  withFleet(
    1,
    async (fleet) => {
      const inst = fleet.instances[0]!;
      const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey(), backoffBaseMs: 50, backoffMaxMs: 100 });
      const events: AdbError[] = [];
      pool.onDisconnect((_a, e) => events.push(e));
      try {
        await pool.reboot(inst.address);
        await until('the disconnect event', () => events.length === 1);
        assert.equal(fleet.journal()[0]?.service, 'reboot');
        await assert.rejects(pool.connect(inst.address), (e) => codeOf(e) === 'CONNECT_FAILED');
        await until('the device to come back', () => inst.state === 'online');
        let r = null;
        const end = Date.now() + 20_000;
        while (r === null && Date.now() < end) r = await pool.exec(inst.address, 'echo back', { timeoutMs: 10_000, maxOutputBytes: MAX_OUTPUT_BYTES }).catch(() => null);
        assert.equal(r?.stdout.toString(), 'back\n');
      } finally {
        await pool.close();
      }
    },
    { rebootDelayMs: 300 },
  ));

test('idle connections are closed without a disconnect event; the next call reconnects', () =>
  withFleet(1, async (fleet) => {
    const inst = fleet.instances[0]!;
    const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey(), idleMs: 100 });
    let events = 0;
    pool.onDisconnect(() => events++);
    try {
      await pool.exec(inst.address, 'echo', { timeoutMs: 10_000, maxOutputBytes: MAX_OUTPUT_BYTES });
      assert.ok(pool.isConnected(inst.address));
      await until('the idle close', () => !pool.isConnected(inst.address));
      assert.equal(events, 0);
      assert.equal((await pool.exec(inst.address, 'echo again', { timeoutMs: 10_000, maxOutputBytes: MAX_OUTPUT_BYTES })).stdout.toString(), 'again\n');
      const s = pool.stats();
      assert.equal(s.connections, 1);
      assert.ok(s.bytesIn > 0 && s.bytesOut > 0);
    } finally {
      await pool.close();
    }
    await assert.rejects(pool.exec(inst.address, 'echo', { maxOutputBytes: MAX_OUTPUT_BYTES }), (e) => codeOf(e) === 'CANCELLED');
  }));
