// Pool behaviour at the edges, against a scripted device on a real socket: each test's device
// misbehaves in one precise way that the simulator's fault modes do not produce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { AdbPool, Command, PacketDecoder, ShellId, encodePacket, encodeShellPacket, type Packet } from '../../src/adb/index.js';
import { ADB_TIMEOUTS, MAX_OUTPUT_BYTES, testKey } from '../support/index.js';
import { codeOf } from './helpers.js';

const BANNER = 'device::ro.product.name=p;ro.product.model=m;ro.product.device=d;features=shell_v2,cmd';
const CNXN = encodePacket(Command.CNXN, 0x01000001, 1024 * 1024, BANNER);

/** A device that answers CNXN at connect (plus `extra` in the same write) and OPENs with `onOpen`. */
async function device(opts: { extra?: Buffer; onOpen?: (socket: Socket, p: Packet) => void }): Promise<{ server: Server; address: string; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    socket.write(opts.extra === undefined ? CNXN : Buffer.concat([CNXN, opts.extra]));
    const decoder = new PacketDecoder((p) => {
      if (p.command === Command.OPEN) opts.onOpen?.(socket, p);
    });
    socket.on('data', (chunk) => {
      try {
        decoder.push(chunk);
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}`, accepted: () => accepted };
}

/** Waits until Date.now() has reached t: a timer can fire a millisecond before Date.now() says its
 * time has come, and the pool compares against Date.now(). */
async function untilPast(t: number): Promise<void> {
  while (Date.now() < t) await new Promise((r) => setTimeout(r, t - Date.now()));
}

test('a connection that dies in the chunk that completed its handshake is a failed connect, not a live one', async () => {
  const d = await device({ extra: Buffer.alloc(24, 0x41) });
  const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey(), backoffBaseMs: 10, backoffMaxMs: 20 });
  try {
    await assert.rejects(pool.connect(d.address), (e) => codeOf(e) === 'CONNECT_FAILED');
    assert.equal(pool.isConnected(d.address), false);
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(pool.exec(d.address, 'echo x', { timeoutMs: 2_000, maxOutputBytes: MAX_OUTPUT_BYTES }), (e) => codeOf(e) === 'CONNECT_FAILED');
    assert.ok(d.accepted() >= 2, 'the pool tried again instead of keeping the dead connection');
  } finally {
    await pool.close();
    d.server.close();
  }
});

test('health pings keep a connection in use: the idle sweep does not close and reopen it', async () => {
  const d = await device({ onOpen: (socket, p) => socket.write(encodePacket(Command.CLSE, 0, p.arg0)) });
  const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey(), idleMs: 200 });
  try {
    const until = Date.now() + 1_500;
    while (Date.now() < until) {
      await pool.ping(d.address, 1_000);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(d.accepted(), 1);
    // Without pings the same pool does close it when idle.
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(pool.isConnected(d.address), false);
  } finally {
    await pool.close();
    d.server.close();
  }
});

test('a shell v2 stream that closes without an exit status fails (CONNECTION_LOST), it does not succeed', async () => {
  const d = await device({
    onOpen: (socket, p) => {
      socket.write(
        Buffer.concat([
          encodePacket(Command.OKAY, 7, p.arg0),
          encodePacket(Command.WRTE, 7, p.arg0, encodeShellPacket(ShellId.Stdout, Buffer.from('partial\n'))),
          encodePacket(Command.CLSE, 7, p.arg0),
        ]),
      );
    },
  });
  const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
  try {
    await assert.rejects(pool.exec(d.address, 'echo x', { timeoutMs: 2_000, maxOutputBytes: MAX_OUTPUT_BYTES }), (e) => {
      assert.equal(codeOf(e), 'CONNECTION_LOST');
      assert.equal((e as { partial: { combined: Buffer } | null }).partial?.combined.toString(), 'partial\n');
      return true;
    });
  } finally {
    await pool.close();
    d.server.close();
  }
});

test('nextAttemptAt follows the pool\'s backoff on a refusing port: jittered, doubling, failing fast until then', async () => {
  const d = await device({});
  const address = d.address;
  await new Promise((r) => d.server.close(r)); // nothing listens there now: connects are refused
  const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey(), backoffBaseMs: 1_000, backoffMaxMs: 30_000 });
  try {
    assert.ok(pool.nextAttemptAt(address) <= Date.now(), 'an address never tried may be tried now');
    const failAndWindow = async (): Promise<{ err: unknown; from: number; to: number }> => {
      const from = Date.now();
      let err: unknown;
      await assert.rejects(pool.connect(address), (e) => {
        err = e;
        return codeOf(e) === 'CONNECT_FAILED';
      });
      return { err, from, to: Date.now() };
    };
    const first = await failAndWindow();
    const at1 = pool.nextAttemptAt(address);
    assert.ok(at1 >= first.from + 500 && at1 <= first.to + 1_000, `first wait in [base/2, base]: ${at1 - first.to} ms`);
    // Until then a call fails at once with the last error, without touching the network.
    if (Date.now() < at1) await assert.rejects(pool.connect(address), (e) => e === first.err);
    await untilPast(at1);
    assert.ok(pool.nextAttemptAt(address) <= Date.now());
    const second = await failAndWindow();
    assert.notEqual(second.err, first.err, 'past nextAttemptAt the pool really tried again');
    const at2 = pool.nextAttemptAt(address);
    assert.ok(at2 >= second.from + 1_000 && at2 <= second.to + 2_000, `second wait doubled: ${at2 - second.to} ms`);
  } finally {
    await pool.close();
  }
});

test('nextAttemptAt is now again after a successful connect, and after a connection that had proved stable is lost (a reconnect)', async () => {
  let refusing = true;
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    socket.on('error', () => {});
    if (refusing) return socket.resetAndDestroy();
    sockets.push(socket);
    socket.write(CNXN);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey(), backoffBaseMs: 400, backoffMaxMs: 800, stableAfterMs: 200 });
  try {
    await assert.rejects(pool.connect(address), (e) => codeOf(e) === 'CONNECT_FAILED');
    const at = pool.nextAttemptAt(address);
    assert.ok(at > Date.now(), 'backing off after a reset connection');
    refusing = false;
    await untilPast(at);
    await pool.connect(address);
    assert.ok(pool.nextAttemptAt(address) <= Date.now(), 'connected: may be tried now');
    const lost = new Promise<void>((r) => pool.onDisconnect(() => r()));
    await new Promise((r) => setTimeout(r, 250)); // past stableAfterMs
    sockets[0]!.destroy();
    await lost;
    assert.ok(pool.nextAttemptAt(address) <= Date.now(), 'a lost connection is retried at once');
    assert.equal(pool.stats().reconnects, 0, 'a first connection after failed attempts is no reconnect');
    await pool.connect(address);
    assert.equal(pool.stats().reconnects, 1, 'the connection made after the lost one is a reconnect');
  } finally {
    await pool.close();
    server.close();
  }
});

test('a device that completes the handshake and drops each connection is backed off, not redialled as fast as it answers', async () => {
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    socket.on('error', () => {});
    socket.write(CNXN);
    setTimeout(() => socket.destroy(), 20);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey(), backoffBaseMs: 250, backoffMaxMs: 30_000 });
  let lost = (): void => {};
  pool.onDisconnect(() => lost());
  try {
    // As the worker does: connect, and once the connection is gone wait until nextAttemptAt.
    const end = Date.now() + 3_000;
    const waits: number[] = [];
    while (Date.now() < end) {
      const gone = new Promise<void>((r) => (lost = r));
      await pool.connect(address);
      await gone;
      const wait = pool.nextAttemptAt(address) - Date.now();
      waits.push(wait);
      if (waits.length === 1) {
        // Meanwhile calls fail at once, as during any backoff, saying why.
        await assert.rejects(pool.connect(address), (e) => codeOf(e) === 'CONNECT_FAILED' && /lost \d+ ms after its handshake/.test((e as Error).message));
      }
      await untilPast(Math.min(pool.nextAttemptAt(address), end));
    }
    // Waits of [125, 250], [250, 500], [500, 1000], [1000, 2000] ms: at most 5 connections in 3 s
    // (one more for slack); without the rule it was one every ~25 ms.
    assert.ok(accepted >= 3 && accepted <= 6, `connections in 3 s: ${accepted}`);
    assert.ok(waits[0]! >= 100, `backing off after the first: ${waits[0]} ms`);
    for (let i = 1; i < waits.length; i++) assert.ok(waits[i]! >= 125 * 2 ** i - 30, `waits double: ${waits.join(', ')}`);
  } finally {
    await pool.close();
    server.close();
  }
});
