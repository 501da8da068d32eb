// Instance status from real connections to the simulator: running, offline, starting after reboot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG, InstanceStatus } from '../../src/core/index.js';
import { createHealthMonitor, type ConnectionPool } from '../../src/dispatch/index.js';
import { until } from '../support/index.js';
import { fixture } from './setup.js';

test('health monitor: unknown, running, offline with an offline fault, running again', async () => {
  const f = await fixture({ count: 2, noStart: true });
  const monitor = createHealthMonitor({ store: f.store, pool: f.pool, config: { ...DEFAULT_CONFIG, healthIntervalMs: 200 } });
  try {
    assert.equal(monitor.status(f.ids[0]!), InstanceStatus.Unknown);
    await monitor.start();
    await until('both running', () => f.ids.every((id) => monitor.status(id) === InstanceStatus.Running));
    assert.equal(monitor.status('not-registered'), InstanceStatus.Unknown);

    f.fleet.instances[0]!.setFault({ kind: 'offline', ms: 3_000 });
    await until('i0 offline', () => monitor.status(f.ids[0]!) === InstanceStatus.Offline);
    assert.equal(monitor.status(f.ids[1]!), InstanceStatus.Running);
    await until('i0 back', () => monitor.status(f.ids[0]!) === InstanceStatus.Running);
  } finally {
    await monitor.stop();
    await f.close();
  }
});

test('health monitor: a connected device that stops answering (hang) is offline; running again once it answers', async () => {
  const f = await fixture({ count: 2, noStart: true });
  const monitor = createHealthMonitor({ store: f.store, pool: f.pool, config: { ...DEFAULT_CONFIG, healthIntervalMs: 200, healthTimeoutMs: 300 } });
  try {
    await monitor.start();
    await until('both running', () => f.ids.every((id) => monitor.status(id) === InstanceStatus.Running));
    assert.ok(f.pool.isConnected(f.fleet.instances[0]!.address));
    f.fleet.instances[0]!.setFault({ kind: 'hang' });
    await until('i0 offline', () => monitor.status(f.ids[0]!) === InstanceStatus.Offline);
    assert.equal(monitor.status(f.ids[1]!), InstanceStatus.Running);
    assert.equal(f.fleet.instances[0]!.journal().length, 0, 'health checks run no command');
    f.fleet.instances[0]!.setFault(null);
    await until('i0 answering again', () => monitor.status(f.ids[0]!) === InstanceStatus.Running);
  } finally {
    await monitor.stop();
    await f.close();
  }
});

test('health monitor: reboot shows starting until adbd answers again, then running', async () => {
  const f = await fixture({ count: 1, noStart: true, rebootDelayMs: 1_000 });
  const monitor = createHealthMonitor({ store: f.store, pool: f.pool, config: { ...DEFAULT_CONFIG, healthIntervalMs: 200 } });
  try {
    await monitor.start();
    await until('running', () => monitor.status(f.ids[0]!) === InstanceStatus.Running);
    const [target] = await f.store.listTargets();
    await monitor.reboot(target!);
    assert.equal(monitor.status(f.ids[0]!), InstanceStatus.Starting);
    await until('the device to go down', () => f.fleet.instances[0]!.state === 'rebooting');
    assert.equal(monitor.status(f.ids[0]!), InstanceStatus.Starting);
    await until('running again', () => monitor.status(f.ids[0]!) === InstanceStatus.Running);
    assert.equal(f.fleet.instances[0]!.state, 'online');
  } finally {
    await monitor.stop();
    await f.close();
  }
});

test('health monitor: follows registrations, removals and address changes through the store, without a full re-read', async () => {
  const f = await fixture({ count: 3, noStart: true });
  let fullReads = 0;
  const store = new Proxy(f.store, {
    get(target, prop) {
      if (prop === 'listTargets') fullReads++;
      const value = Reflect.get(target, prop) as unknown;
      // Bound to the store itself: its methods use private fields, which a proxy does not have.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const monitor = createHealthMonitor({ store, pool: f.pool, config: { ...DEFAULT_CONFIG, healthIntervalMs: 60_000 } });
  try {
    await f.store.deleteInstance(f.ids[1]!);
    await monitor.start();
    await until('i0 running', () => monitor.status(f.ids[0]!) === InstanceStatus.Running);
    assert.equal(monitor.status(f.ids[1]!), InstanceStatus.Unknown);
    const base = { zone: 'z', tenantId: null };
    await f.store.createInstances([
      { ...base, instanceId: 'late-1', adbAddress: f.fleet.instances[1]!.address, instanceName: 'late 1' },
      { ...base, instanceId: 'late-2', adbAddress: '127.0.0.1:1', instanceName: 'late 2' },
    ]);
    await until('late-1 running, late-2 offline', () => monitor.status('late-1') === InstanceStatus.Running && monitor.status('late-2') === InstanceStatus.Offline);
    await f.store.deleteInstance('late-1');
    await until('late-1 forgotten', () => monitor.status('late-1') === InstanceStatus.Unknown);
    // Re-registered at another address: checked there, from unknown.
    await f.store.deleteInstance('late-2');
    await f.store.createInstance({ ...base, instanceId: 'late-2', adbAddress: f.fleet.instances[2]!.address, instanceName: 'late 2' });
    await until('late-2 running at its new address', () => monitor.status('late-2') === InstanceStatus.Running);
    assert.equal(fullReads, 1, 'only the start reads the whole registry');
  } finally {
    await monitor.stop();
    await f.close();
  }
});

/** The real pool, with its pings counted per address (and timed). */
function countingPool(real: ConnectionPool): { pool: ConnectionPool; pings: Map<string, number>; times: number[] } {
  const pings = new Map<string, number>();
  const times: number[] = [];
  const pool: ConnectionPool = {
    connect: (address) => real.connect(address),
    ping: (address, timeoutMs) => {
      pings.set(address, (pings.get(address) ?? 0) + 1);
      times.push(Date.now());
      return real.ping(address, timeoutMs);
    },
    isConnected: (address) => real.isConnected(address),
    lastReceivedAt: (address) => real.lastReceivedAt(address),
    nextAttemptAt: (address) => real.nextAttemptAt(address),
    exec: (address, command, options) => real.exec(address, command, options),
    reboot: (address) => real.reboot(address),
    onDisconnect: (listener) => real.onDisconnect(listener),
  };
  return { pool, pings, times };
}

test('health monitor: an instance whose connection carries traffic is running without being pinged', async () => {
  const f = await fixture({ count: 2, noStart: true });
  const { pool, pings } = countingPool(f.pool);
  const [busy, quiet] = f.fleet.instances.map((i) => i.address) as [string, string];
  let stop = false;
  const traffic = (async () => {
    while (!stop) await f.pool.exec(busy, 'echo hi', { timeoutMs: 5_000, maxOutputBytes: 1024, signal: new AbortController().signal });
  })();
  const monitor = createHealthMonitor({ store: f.store, pool, config: { ...DEFAULT_CONFIG, healthIntervalMs: 1_000 } });
  try {
    await until('the busy connection carries traffic', () => f.pool.lastReceivedAt(busy) > 0);
    await monitor.start();
    await until('three checks of the quiet one', () => (pings.get(quiet) ?? 0) >= 3, 15_000);
    assert.equal(monitor.status(f.ids[0]!), InstanceStatus.Running);
    assert.equal(monitor.status(f.ids[1]!), InstanceStatus.Running);
    assert.equal(pings.get(busy) ?? 0, 0, 'the busy instance was never pinged');
  } finally {
    stop = true;
    await traffic;
    await monitor.stop();
    await f.close();
  }
});

test('health monitor: pings stay within healthPingsPerSecond; every instance is still checked', async () => {
  const f = await fixture({ count: 12, noStart: true });
  const { pool, times } = countingPool(f.pool);
  const perSecond = 8;
  const monitor = createHealthMonitor({ store: f.store, pool, config: { ...DEFAULT_CONFIG, healthIntervalMs: 200, healthPingsPerSecond: perSecond } });
  try {
    const started = Date.now();
    await monitor.start();
    await until('all running', () => f.ids.every((id) => monitor.status(id) === InstanceStatus.Running), 15_000);
    await until('more pings than one burst', () => times.length >= 16, 15_000);
    // The budget: a burst of ceil(rate x 50 ms), then rate per second. A slow machine pings less, never more.
    const burst = Math.ceil((perSecond / 1000) * 50);
    for (const [i, t] of times.entries()) {
      assert.ok(i + 1 <= burst + ((t - started) * perSecond) / 1000 + 1e-9, `ping ${i + 1} at ${t - started} ms is over budget`);
    }
  } finally {
    await monitor.stop();
    await f.close();
  }
});

test('health monitor: checks run with bounded concurrency', async () => {
  const f = await fixture({ count: 12, noStart: true });
  // The real pool, observed: how many checks the monitor has in flight at once.
  let inFlight = 0;
  let maxInFlight = 0;
  const pool: ConnectionPool = {
    connect: (address) => f.pool.connect(address),
    ping: async (address, timeoutMs) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        return await f.pool.ping(address, timeoutMs);
      } finally {
        inFlight--;
      }
    },
    isConnected: (address) => f.pool.isConnected(address),
    lastReceivedAt: (address) => f.pool.lastReceivedAt(address),
    nextAttemptAt: (address) => f.pool.nextAttemptAt(address),
    exec: (address, command, options) => f.pool.exec(address, command, options),
    reboot: (address) => f.pool.reboot(address),
    onDisconnect: (listener) => f.pool.onDisconnect(listener),
  };
  for (const inst of f.fleet.instances) inst.setFault({ kind: 'latency', ms: 50 });
  const monitor = createHealthMonitor({ store: f.store, pool, config: { ...DEFAULT_CONFIG, healthIntervalMs: 60_000 }, concurrency: 3 });
  try {
    await monitor.start();
    await until('all running', () => f.ids.every((id) => monitor.status(id) === InstanceStatus.Running));
    assert.ok(maxInFlight <= 3, `max in flight ${maxInFlight}`);
    assert.ok(maxInFlight >= 2, 'checks did run in parallel');
  } finally {
    await monitor.stop();
    await f.close();
  }
});
