// A worker cut off from PostgreSQL fences itself (src/dispatch/lease-keeper.ts): it cannot renew,
// so before its lease can lapse and another worker start the next job on the same device, it
// gives up its instances (the dispatcher aborts their jobs). The database is real; the cut is a
// real TCP proxy between the worker's pool and the server that starts dropping every connection.
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { LeaseKeeper } from '../../src/dispatch/lease-keeper.js';
import { SILENT_LOGGER } from '../../src/dispatch/ports.js';
import { createPostgresStore, type Store } from '../../src/store/index.js';
import { until } from '../support/index.js';
import { freshPostgres, postgresSkipReason } from '../support/postgres.js';
import { tenantWithInstances } from '../store/conformance/fixtures.js';

const LEASE_MS = 1_500;
const opened: Store[] = [];
after(async () => {
  for (const s of opened) await s.close().catch(() => {});
});

/** A TCP proxy to host:port; cut() drops every connection, now and to come, until mend(). */
async function proxy(host: string, port: number): Promise<{ port: number; cut(): void; mend(): void; close(): void }> {
  let open = true;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (!open) return client.destroy();
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    mend() {
      open = true;
    },
    close() {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

describe('the lease fence', { skip: postgresSkipReason ?? false }, () => {
  test('a worker that cannot renew gives its instances up itself, and takes them back once it can', async () => {
    const at = await freshPostgres();
    const admin = createPostgresStore({ url: at.url, schema: at.schema });
    await admin.open();
    opened.push(admin);
    await tenantWithInstances(admin, 3);
    const target = new URL(at.url);
    const cutter = await proxy(target.hostname, Number(target.port));
    try {
      const viaProxy = new URL(at.url);
      viaProxy.port = String(cutter.port);
      const store = createPostgresStore({ url: viaProxy.toString(), schema: at.schema });
      await store.open();
      opened.push(store);
      const leases = store.joinAsWorker({ workerId: 'fenced', zones: null, leaseMs: LEASE_MS });
      assert.ok(leases !== null);
      const lost: number[][] = [];
      const acquired: number[][] = [];
      const keeper = new LeaseKeeper(leases, SILENT_LOGGER, {
        acquired: async (keys) => void acquired.push(keys),
        lost: (keys) => void lost.push(keys),
        interrupted: () => {},
      });
      const first = await keeper.start();
      assert.equal(first.held.length, 3);
      cutter.cut();
      await until('the fence', () => lost.length > 0, 10 * LEASE_MS);
      assert.deepEqual(lost, [first.held], 'every instance given up, once, without the database');
      assert.equal(leases.held().size, 0);
      // Nobody rescued them meanwhile (no other worker): back, they are this worker's again, as
      // new leases, so their queues are read afresh.
      cutter.mend();
      await until('the leases back', () => acquired.length > 0, 20 * LEASE_MS);
      assert.deepEqual(acquired, [first.held]);
      assert.deepEqual([...leases.held()].sort((a, b) => a - b), first.held);
      await keeper.stop();
    } finally {
      cutter.close();
    }
  });
});
