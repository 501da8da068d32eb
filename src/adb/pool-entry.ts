// AdbPool's options, statistics, and its record of one device address (pool.ts).

import type { AdbConnection } from './connection.js';
import type { AdbError } from './errors.js';
import type { CancelSignal } from './exec.js';
import type { AdbKey } from './key.js';
import { Slots } from './slots.js';

export interface AdbPoolOptions {
  key: AdbKey;
  /** see ConnectOptions */
  connectTimeoutMs: number;
  authTimeoutMs: number;
  openTimeoutMs: number;
  /** concurrent streams per connection; callers past it wait in FIFO order (default 64) */
  maxStreamsPerConnection?: number;
  /** a connection unused this long is closed (default 60 s) */
  idleMs?: number;
  /** first wait after a failed connect (default 250 ms), doubling up to backoffMaxMs (default 30 s) */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /**
   * a connection lost sooner than this after its handshake counts as a failed connect (default
   * 5 s): a device that accepts and then drops every connection is backed off, not redialled
   */
  stableAfterMs?: number;
}

export interface AdbPoolStats {
  /** live connections */
  connections: number;
  /** calls holding a stream slot */
  openStreams: number;
  bytesIn: number;
  bytesOut: number;
  connectsFailed: number;
  /** connections made to an address whose previous connection was lost (not closed by the pool) */
  reconnects: number;
}

export interface Entry {
  readonly address: string;
  conn: AdbConnection | null;
  /** the connection being set up, and the promise its callers share */
  starting: AdbConnection | null;
  connecting: Promise<AdbConnection> | null;
  /** stream slots on its connection: held by calls, a FIFO line past maxStreamsPerConnection */
  readonly slots: Slots;
  failures: number;
  retryAt: number;
  /** when the live connection completed its handshake */
  connectedAt: number;
  lastError: AdbError | null;
  lastUsed: number;
  /** its last connection was lost: the next one made is a reconnect */
  lost: boolean;
}

/** What every call on a stream takes: its deadline (slot wait, connect and run together) and its cancel. */
export interface CallOptions {
  timeoutMs?: number;
  signal?: CancelSignal;
}

export function newEntry(address: string, maxStreams: number): Entry {
  return { address, conn: null, starting: null, connecting: null, slots: new Slots(maxStreams), failures: 0, retryAt: 0, connectedAt: 0, lastError: null, lastUsed: Date.now(), lost: false };
}
