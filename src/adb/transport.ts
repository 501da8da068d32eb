// What an AdbConnection runs over and is made with: the link (socket.ts adapts node:net to it,
// tests drive it by hand) and the connection's options.
import type { AdbKey } from './key.js';

export interface Transport {
  write(data: Buffer): void;
  /** Drops the link; the adapter then reports it with transportClosed(). */
  close(): void;
  /** Stops and restarts reading (a raw adb server stream whose consumer is slow); absent: always reads. */
  pause?(): void;
  resume?(): void;
  /** Bytes written but not yet taken by the OS (a raw adb server stream's flow control); absent: 0. */
  queued?(): number;
}

export interface ConnectionOptions {
  address: string;
  key: AdbKey;
  /** from start until the device sends AUTH or CNXN */
  connectTimeoutMs: number;
  /** from the first AUTH TOKEN until the device sends CNXN */
  authTimeoutMs: number;
  /** how long an exec waits for the device to answer its OPEN (see exec.ts) */
  openTimeoutMs: number;
}
