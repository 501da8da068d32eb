// One persistent connection per device address, shared by every caller: opened lazily, many
// streams on it (bounded; excess callers wait FIFO), reconnected with exponential backoff and
// jitter, closed when idle. The worker's only door to the devices.

import type { AdbConnection } from './connection.js';
import type { DeviceBanner, SyncStat } from './wire/index.js';
import { ADB_ERROR_CODES, AdbError } from './errors.js';
import type { ExecOptions, ExecResult } from './exec.js';
import type { RawExecOptions, RawExecResult } from './exec-raw.js';
import type { SyncOptions } from './sync-call.js';
import type { SyncEntry } from './sync-ops.js';
import type { PullOptions } from './sync-pull.js';
import type { PushOptions, TransferResult } from './sync-push.js';
import type { Writable } from 'node:stream';
import type { AdbKey } from './key.js';
import { newEntry, type AdbPoolOptions, type AdbPoolStats, type CallOptions, type Entry } from './pool-entry.js';
import { startConnection } from './socket.js';
import { guard } from './guard.js';
import { backoffRetryAt } from './backoff.js';

type DisconnectListener = (address: string, err: AdbError) => void;

export type { AdbPoolOptions, AdbPoolStats } from './pool-entry.js';

export class AdbPool {
  readonly #opts: Required<Omit<AdbPoolOptions, 'key'>> & { key: AdbKey };
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<DisconnectListener>();
  #sweeper: NodeJS.Timeout | null = null;
  #closed = false;
  #connections = 0;
  #connectsFailed = 0;
  #reconnects = 0;
  /** bytes of connections already gone */
  #bytesIn = 0;
  #bytesOut = 0;

  constructor(opts: AdbPoolOptions) {
    this.#opts = {
      key: opts.key,
      connectTimeoutMs: opts.connectTimeoutMs,
      authTimeoutMs: opts.authTimeoutMs,
      openTimeoutMs: opts.openTimeoutMs,
      maxStreamsPerConnection: Math.max(1, opts.maxStreamsPerConnection ?? 64),
      idleMs: opts.idleMs ?? 60_000,
      backoffBaseMs: opts.backoffBaseMs ?? 250,
      backoffMaxMs: opts.backoffMaxMs ?? 30_000,
      stableAfterMs: opts.stableAfterMs ?? 5_000,
    };
  }

  exec(address: string, command: string, opts: ExecOptions): Promise<ExecResult> {
    return this.#run(address, opts, (conn, o) => conn.exec(command, o));
  }

  /** `exec:CMD` into sink, byte for byte (exec-raw.ts); under the same stream slots as exec. */
  execRaw(address: string, command: string, sink: Writable, opts: RawExecOptions): Promise<RawExecResult> {
    return this.#run(address, opts, (conn, o) => conn.execRaw(command, sink, o));
  }

  /** Streams a local file to the device (sync-push.ts). */
  push(address: string, localPath: string, remotePath: string, opts: PushOptions): Promise<TransferResult> {
    return this.#run(address, opts, (conn, o) => conn.push(localPath, remotePath, o));
  }

  /** Streams a device file to a local one (sync-pull.ts). */
  pull(address: string, remotePath: string, localPath: string, opts: PullOptions): Promise<TransferResult> {
    return this.#run(address, opts, (conn, o) => conn.pull(remotePath, localPath, o));
  }

  stat(address: string, remotePath: string, opts: SyncOptions): Promise<SyncStat | null> {
    return this.#run(address, opts, (conn, o) => conn.stat(remotePath, o));
  }

  list(address: string, remotePath: string, opts: SyncOptions): Promise<SyncEntry[]> {
    return this.#run(address, opts, (conn, o) => conn.list(remotePath, o));
  }

  /** One call on a stream of the address's connection, holding a stream slot while it runs. */
  #run<T, O extends CallOptions>(address: string, opts: O, call: (conn: AdbConnection, opts: O) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new AdbError('CANCELLED', address, 'the pool is closed'));
    const entry = this.#entry(address);
    const conn = entry.conn;
    // Fast path: connected and a slot free, with nobody queued ahead.
    if (conn !== null && entry.slots.tryAcquire()) {
      return call(conn, opts).then(
        (r) => {
          this.#release(entry);
          return r;
        },
        (e: unknown) => {
          this.#release(entry);
          throw e;
        },
      );
    }
    return this.#runSlow(entry, opts, call);
  }

  async reboot(address: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    const entry = this.#entry(address);
    const conn = await this.#ensure(entry);
    entry.lastUsed = Date.now();
    await conn.reboot(opts);
  }

  /** Ensures a live connection (no I/O if one is up) and returns the device's banner. */
  async connect(address: string): Promise<DeviceBanner> {
    if (this.#closed) throw new AdbError('CANCELLED', address, 'the pool is closed');
    const conn = await this.#ensure(this.#entry(address));
    return conn.banner!;
  }

  /**
   * Is the device answering? Connects if needed, then probes the connection with an OPEN that
   * runs nothing (ping.ts): a connected adbd that stopped answering fails with TIMEOUT.
   */
  async ping(address: string, timeoutMs: number): Promise<void> {
    if (this.#closed) throw new AdbError('CANCELLED', address, 'the pool is closed');
    const entry = this.#entry(address);
    const conn = await this.#ensure(entry);
    // A checked connection is in use: the idle sweep must not close it under the health monitor.
    entry.lastUsed = Date.now();
    await conn.ping(timeoutMs);
  }

  /**
   * When a call may next reach out to this address, in epoch ms: at or before Date.now() when it
   * may be tried now (connected, connecting, never tried, or its backoff has run out), later while
   * the pool backs off after failed connects. Until then every call fails at once with the last
   * connect error, so a caller with work for the address waits until this time instead of
   * running its own backoff on top. The policy is the pool's: the first wait is backoffBaseMs,
   * doubling per consecutive failure up to backoffMaxMs, each drawn from [ceiling/2, ceiling]
   * (jitter, so a fleet that went down together does not reconnect in lockstep); one success
   * resets it. A connection that was up and got lost is retried at once, unless it was lost
   * within stableAfterMs of its handshake: that counts as one more failed connect.
   */
  nextAttemptAt(address: string): number {
    const entry = this.#entries.get(address);
    return entry === undefined || entry.lastError === null ? 0 : entry.retryAt;
  }

  /**
   * When the address's live connection last received something from the device (epoch ms), 0
   * when it has no live connection. A connection that carried an answer recently is known to be
   * answering: a health check need not ping it.
   */
  lastReceivedAt(address: string): number {
    return this.#entries.get(address)?.conn?.lastReceivedAt ?? 0;
  }

  isConnected(address: string): boolean {
    return this.#entries.get(address)?.conn != null;
  }

  /** Called when an established connection ends unexpectedly (not on idle close or pool close). */
  onDisconnect(listener: DisconnectListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stats(): AdbPoolStats {
    let bytesIn = this.#bytesIn;
    let bytesOut = this.#bytesOut;
    let openStreams = 0;
    for (const e of this.#entries.values()) {
      openStreams += e.slots.used;
      if (e.conn !== null) {
        bytesIn += e.conn.bytesIn;
        bytesOut += e.conn.bytesOut;
      }
    }
    return { connections: this.#connections, openStreams, bytesIn, bytesOut, connectsFailed: this.#connectsFailed, reconnects: this.#reconnects };
  }

  /** Closes every connection; queued and later calls reject with CANCELLED, running ones with CONNECTION_LOST. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    for (const entry of this.#entries.values()) {
      entry.slots.failWaiting(() => new AdbError('CANCELLED', entry.address, 'the pool is closed'));
      entry.starting?.close('the pool is closed');
      if (entry.conn !== null) this.#drop(entry, 'the pool is closed');
    }
  }

  async #runSlow<T, O extends CallOptions>(entry: Entry, opts: O, call: (conn: AdbConnection, opts: O) => Promise<T>): Promise<T> {
    const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
    if (!entry.slots.tryAcquire()) {
      const { address } = entry;
      await entry.slots.acquire(
        opts.signal,
        deadline,
        () => new AdbError('CANCELLED', address, 'aborted while waiting for a stream slot'),
        () => new AdbError('TIMEOUT', address, `no stream slot within ${opts.timeoutMs} ms`),
      );
    }
    try {
      const conn = entry.conn ?? (await guard(this.#ensure(entry), entry.address, opts.signal, deadline));
      if (deadline === Infinity) return await call(conn, opts);
      const timeoutMs = deadline - Date.now();
      if (timeoutMs <= 0) throw new AdbError('TIMEOUT', entry.address, `not done within ${opts.timeoutMs} ms`);
      return await call(conn, { ...opts, timeoutMs });
    } finally {
      this.#release(entry);
    }
  }

  #release(entry: Entry): void {
    entry.lastUsed = Date.now();
    entry.slots.release();
  }

  #ensure(entry: Entry): Promise<AdbConnection> {
    if (this.#closed) return Promise.reject(new AdbError('CANCELLED', entry.address, 'the pool is closed'));
    if (entry.conn !== null) return Promise.resolve(entry.conn);
    if (entry.connecting !== null) return entry.connecting;
    // In backoff: fail fast with what the last attempt got, so callers do not pile up on a dead device.
    if (entry.lastError !== null && Date.now() < entry.retryAt) return Promise.reject(entry.lastError);
    const conn = startConnection(entry.address, this.#opts);
    entry.starting = conn;
    // A chunk that holds the device's CNXN and then garbage closes the connection before ready's
    // callbacks run: such a connection is a failed connect, never an entry's live one.
    const opened = conn.ready.then(() => {
      if (!conn.isOpen) throw new AdbError('CONNECT_FAILED', entry.address, 'the device closed the connection right after the handshake');
    });
    entry.connecting = opened.then(
      () => {
        entry.starting = null;
        entry.connecting = null;
        // failures stays until the connection proves stable (#ended): a handshake alone is cheap.
        entry.lastError = null;
        entry.lastUsed = entry.connectedAt = Date.now();
        if (this.#closed) {
          conn.close('the pool is closed');
          throw new AdbError('CANCELLED', entry.address, 'the pool is closed');
        }
        entry.conn = conn;
        this.#connections++;
        if (entry.lost) {
          entry.lost = false;
          this.#reconnects++;
        }
        conn.onclose = (err) => this.#lost(entry, conn, err);
        this.#startSweeper();
        return conn;
      },
      (err: AdbError) => {
        entry.starting = null;
        entry.connecting = null;
        if (this.#closed) throw new AdbError('CANCELLED', entry.address, 'the pool is closed');
        this.#connectsFailed++;
        this.#backOff(entry, err);
        throw err;
      },
    );
    return entry.connecting;
  }

  /** One more consecutive failure: calls fail with err until the (jittered, doubled) wait is over. */
  #backOff(entry: Entry, err: AdbError): void {
    entry.failures++;
    entry.lastError = err;
    entry.retryAt = backoffRetryAt(entry.failures, this.#opts.backoffBaseMs, this.#opts.backoffMaxMs);
  }

  #lost(entry: Entry, conn: AdbConnection, err: AdbError): void {
    if (entry.conn !== conn) return;
    this.#forget(entry, conn);
    entry.lost = true;
    const age = Date.now() - entry.connectedAt;
    if (age < this.#opts.stableAfterMs) {
      // Reconnecting at once would redial a device that drops each connection as fast as it
      // handshakes (seen: 5 a second). Nothing ran on the next connection yet: a connect error.
      this.#backOff(entry, new AdbError('CONNECT_FAILED', entry.address, `the connection was lost ${age} ms after its handshake: ${err.detail ?? ADB_ERROR_CODES[err.code]}`, { cause: err }));
    }
    for (const l of this.#listeners) {
      try {
        l(entry.address, err);
      } catch {
        // A listener's bug must not break the pool's bookkeeping for other listeners.
      }
    }
  }

  /** Closes an entry's connection on our own initiative: no disconnect event. */
  #drop(entry: Entry, reason: string): void {
    const conn = entry.conn;
    if (conn === null) return;
    conn.onclose = null;
    this.#forget(entry, conn);
    conn.close(reason);
  }

  #forget(entry: Entry, conn: AdbConnection): void {
    entry.conn = null;
    if (Date.now() - entry.connectedAt >= this.#opts.stableAfterMs) entry.failures = 0;
    this.#connections--;
    this.#bytesIn += conn.bytesIn;
    this.#bytesOut += conn.bytesOut;
  }

  #entry(address: string): Entry {
    let entry = this.#entries.get(address);
    if (entry === undefined) {
      entry = newEntry(address, this.#opts.maxStreamsPerConnection);
      this.#entries.set(address, entry);
    }
    return entry;
  }

  /** One timer for the whole pool rather than one per connection: idle closing needs no precision. */
  #startSweeper(): void {
    if (this.#sweeper !== null) return;
    const every = Math.max(50, Math.min(this.#opts.idleMs / 4, 5_000));
    this.#sweeper = setInterval(() => this.#sweep(), every);
    this.#sweeper.unref();
  }

  #sweep(): void {
    const now = Date.now();
    for (const [address, entry] of this.#entries) {
      if (entry.slots.used > 0 || entry.connecting !== null) continue;
      if (entry.conn !== null && now - entry.lastUsed >= this.#opts.idleMs) this.#drop(entry, 'idle');
      // A failing address is kept a while past its wait: forgetting it would forget its backoff.
      if (entry.conn === null && (entry.lastError === null || now >= entry.retryAt + this.#opts.backoffMaxMs)) this.#entries.delete(address);
    }
    if (this.#entries.size === 0 && this.#sweeper !== null) {
      clearInterval(this.#sweeper);
      this.#sweeper = null;
    }
  }
}
