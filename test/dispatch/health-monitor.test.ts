// Instance status from real connections to the simulator: running, offline, starting after reboot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG, InstanceStatus } from '../../src/core/index.js';
import { createHealthMonitor, type WorkerPool } from '../../src/dispatch/index.js';
import { until } from '../support/index.js';
import { fixture } from './setup.js';

test('health monitor: unknown, running, offline with an offline fault, running again', async () => {
  const f = await fixture({ count: 2, noStart: true });
  const monitor = createHealthMonitor({ store: f.store, pool: f.pool, config: { healthIntervalMs: 200, healthTimeoutMs: DEFAULT_CONFIG.healthTimeoutMs } });
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
  const monitor = createHealthMonitor({ store: f.store, pool: f.pool, config: { healthIntervalMs: 200, healthTimeoutMs: 300 } });
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
  const monitor = createHealthMonitor({ store: f.store, pool: f.pool, config: { healthIntervalMs: 200, healthTimeoutMs: DEFAULT_CONFIG.healthTimeoutMs } });
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

test('health monitor: refresh picks up new and removed instances', async () => {
  const f = await fixture({ count: 2, noStart: true });
  const monitor = createHealthMonitor({ store: f.store, pool: f.pool, config: { healthIntervalMs: 60_000, healthTimeoutMs: DEFAULT_CONFIG.healthTimeoutMs } });
  try {
    await f.store.deleteInstance(f.ids[1]!);
    await monitor.start();
    await until('i0 running', () => monitor.status(f.ids[0]!) === InstanceStatus.Running);
    assert.equal(monitor.status(f.ids[1]!), InstanceStatus.Unknown);
    await f.store.createInstance({ instanceId: 'late', adbAddress: f.fleet.instances[1]!.address, instanceName: 'late', zone: 'z', tenantId: null });
    await monitor.refresh();
    await until('late running', () => monitor.status('late') === InstanceStatus.Running);
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
  const pool: WorkerPool = {
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
    nextAttemptAt: (address) => f.pool.nextAttemptAt(address),
    exec: (address, command, options) => f.pool.exec(address, command, options),
    reboot: (address) => f.pool.reboot(address),
    onDisconnect: (listener) => f.pool.onDisconnect(listener),
  };
  for (const inst of f.fleet.instances) inst.setFault({ kind: 'latency', ms: 50 });
  const monitor = createHealthMonitor({ store: f.store, pool, config: { healthIntervalMs: 60_000, healthTimeoutMs: DEFAULT_CONFIG.healthTimeoutMs }, concurrency: 3 });
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
