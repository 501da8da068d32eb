// The worker's one door to every instance, whatever its address form: `host:port` goes to
// AdbPool (one ADB connection per device), `adb-server://HOST:PORT/SERIAL` to AdbServerPool
// (smart sockets through that server). Same calls, same errors, same reconnect policy, so the
// dispatcher and the health monitor need not know which path an instance takes.

import { isAdbServerAddress } from './address.js';
import type { ExecOptions, ExecResult } from './exec.js';
import type { AdbError } from './errors.js';
import { AdbPool, type AdbPoolOptions, type AdbPoolStats } from './pool.js';
import { AdbServerPool } from './server-pool.js';
import type { DeviceBanner, SyncStat } from './wire/index.js';
import type { RawExecOptions, RawExecResult } from './exec-raw.js';
import type { SyncOptions } from './sync-call.js';
import type { SyncEntry } from './sync-ops.js';
import type { PullOptions } from './sync-pull.js';
import type { PushOptions, TransferResult } from './sync-push.js';
import type { Writable } from 'node:stream';

export interface FleetPoolOptions extends AdbPoolOptions {
  /** device services (exec, reboot) in flight per adb server (default 64) */
  maxSocketsPerServer?: number;
}

export class FleetPool {
  readonly #direct: AdbPool;
  readonly #servers: AdbServerPool;

  constructor(opts: FleetPoolOptions) {
    const { maxSocketsPerServer, ...direct } = opts;
    this.#direct = new AdbPool(direct);
    this.#servers = new AdbServerPool({
      connectTimeoutMs: opts.connectTimeoutMs,
      openTimeoutMs: opts.openTimeoutMs,
      ...(maxSocketsPerServer === undefined ? {} : { maxSocketsPerServer }),
      ...(opts.backoffBaseMs === undefined ? {} : { backoffBaseMs: opts.backoffBaseMs }),
      ...(opts.backoffMaxMs === undefined ? {} : { backoffMaxMs: opts.backoffMaxMs }),
    });
  }

  exec(address: string, command: string, opts: ExecOptions): Promise<ExecResult> {
    return isAdbServerAddress(address) ? this.#servers.exec(address, command, opts) : this.#direct.exec(address, command, opts);
  }

  /** `exec:CMD` into sink, byte for byte (see exec-raw.ts). */
  execRaw(address: string, command: string, sink: Writable, opts: RawExecOptions): Promise<RawExecResult> {
    return isAdbServerAddress(address) ? this.#servers.execRaw(address, command, sink, opts) : this.#direct.execRaw(address, command, sink, opts);
  }

  /** Streams a local file to the device (sync-push.ts). */
  push(address: string, localPath: string, remotePath: string, opts: PushOptions): Promise<TransferResult> {
    return isAdbServerAddress(address) ? this.#servers.push(address, localPath, remotePath, opts) : this.#direct.push(address, localPath, remotePath, opts);
  }

  /** Streams a device file to a local one (sync-pull.ts). */
  pull(address: string, remotePath: string, localPath: string, opts: PullOptions): Promise<TransferResult> {
    return isAdbServerAddress(address) ? this.#servers.pull(address, remotePath, localPath, opts) : this.#direct.pull(address, remotePath, localPath, opts);
  }

  stat(address: string, remotePath: string, opts: SyncOptions): Promise<SyncStat | null> {
    return isAdbServerAddress(address) ? this.#servers.stat(address, remotePath, opts) : this.#direct.stat(address, remotePath, opts);
  }

  list(address: string, remotePath: string, opts: SyncOptions): Promise<SyncEntry[]> {
    return isAdbServerAddress(address) ? this.#servers.list(address, remotePath, opts) : this.#direct.list(address, remotePath, opts);
  }

  reboot(address: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    return isAdbServerAddress(address) ? this.#servers.reboot(address, opts) : this.#direct.reboot(address, opts);
  }

  /** The device's banner over a direct connection; null through an adb server, which shows none. */
  async connect(address: string): Promise<DeviceBanner | null> {
    if (!isAdbServerAddress(address)) return this.#direct.connect(address);
    await this.#servers.connect(address);
    return null;
  }

  ping(address: string, timeoutMs: number): Promise<void> {
    return isAdbServerAddress(address) ? this.#servers.ping(address, timeoutMs) : this.#direct.ping(address, timeoutMs);
  }

  isConnected(address: string): boolean {
    return isAdbServerAddress(address) ? this.#servers.isConnected(address) : this.#direct.isConnected(address);
  }

  nextAttemptAt(address: string): number {
    return isAdbServerAddress(address) ? this.#servers.nextAttemptAt(address) : this.#direct.nextAttemptAt(address);
  }

  lastReceivedAt(address: string): number {
    return isAdbServerAddress(address) ? this.#servers.lastReceivedAt(address) : this.#direct.lastReceivedAt(address);
  }

  onDisconnect(listener: (address: string, err: AdbError) => void): () => void {
    const offDirect = this.#direct.onDisconnect(listener);
    const offServers = this.#servers.onDisconnect(listener);
    return () => {
      offDirect();
      offServers();
    };
  }

  /** The direct connections' figures (AdbPool.stats). */
  stats(): AdbPoolStats {
    return this.#direct.stats();
  }

  async close(): Promise<void> {
    await Promise.all([this.#direct.close(), this.#servers.close()]);
  }
}
