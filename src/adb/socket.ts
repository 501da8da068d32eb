// The one place node:net meets the protocol: a TCP socket adapted to the Transport of an
// AdbConnection (adbd) or of a SmartSocket (an adb server).

import { connect as netConnect, type Socket } from 'node:net';
import { AdbConnection, type Transport } from './connection.js';
import { parseAddress, type HostPort } from './address.js';
import type { SmartSocket } from './server-protocol.js';
import type { AdbKey } from './key.js';

export interface ConnectOptions {
  key: AdbKey;
  /** TCP connect plus CNXN handshake, up to the first AUTH */
  connectTimeoutMs: number;
  /** from the first AUTH TOKEN to the device's CNXN */
  authTimeoutMs: number;
  /** how long an exec waits for the device to answer its OPEN */
  openTimeoutMs: number;
}

/**
 * Opens a connection to adbd at host:port and completes the handshake. Rejects with
 * CONNECT_FAILED or AUTH_REJECTED. The returned connection's onclose reports its end.
 */
export async function connectAdb(address: string, opts: ConnectOptions): Promise<AdbConnection> {
  const conn = startConnection(address, opts);
  await conn.ready;
  return conn;
}

/** Like connectAdb but returns the connection at once; await its ready promise. */
export function startConnection(address: string, opts: ConnectOptions): AdbConnection {
  const target = parseAddress(address);
  const transport = new SocketTransport();
  const conn = new AdbConnection(transport, {
    address,
    key: opts.key,
    connectTimeoutMs: opts.connectTimeoutMs,
    authTimeoutMs: opts.authTimeoutMs,
    openTimeoutMs: opts.openTimeoutMs,
  });
  if (target === null) {
    conn.transportClosed(new Error(`not a host:port address: ${JSON.stringify(address)}`));
    return conn;
  }
  transport.open(target.host, target.port, conn, true);
  return conn;
}

/** Opens a TCP connection to an adb server for one smart socket's requests. */
export function openServerSocket(server: HostPort, smart: SmartSocket): void {
  const transport = new SocketTransport();
  smart.start(transport);
  transport.open(server.host, server.port, smart, false);
}

/** Where a socket's bytes and its end go. */
interface Receiver {
  receive(chunk: Buffer): void;
  transportClosed(err?: Error): void;
  /** what was written has all left (the socket's 'drain') */
  transportDrained?(): void;
}

/**
 * One buffer every adbd connection of the process reads into, instead of a fresh 64 KiB Buffer
 * per read: reads take up to a MiB (fewer syscalls) and leave no garbage. Read callbacks run one
 * at a time; what must outlive one is copied by whoever keeps it (an exec's output, a pull's
 * write buffers, a raw exec's sink). A smart socket keeps 'data' (its replies are held as they come).
 */
const READ_BUFFER = Buffer.allocUnsafe(1024 * 1024);

class SocketTransport implements Transport {
  #socket: Socket | null = null;
  #closed = false;
  #corked = false;
  #pending: Buffer[] | null = null;

  /** sharedRead: conn copies what it keeps of a chunk (see READ_BUFFER) */
  open(host: string, port: number, conn: Receiver, sharedRead: boolean): void {
    if (this.#closed) return;
    const onread = sharedRead ? { buffer: READ_BUFFER, callback: (n: number) => (conn.receive(READ_BUFFER.subarray(0, n)), true) } : undefined;
    const socket = netConnect({ host, port, onread });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    let error: Error | undefined;
    if (!sharedRead) socket.on('data', (chunk: Buffer) => conn.receive(chunk));
    if (conn.transportDrained !== undefined) socket.on('drain', () => conn.transportDrained?.());
    socket.on('error', (e) => (error = e));
    socket.on('close', () => {
      this.#closed = true;
      conn.transportClosed(error);
    });
    if (this.#pending !== null) for (const b of this.#pending) this.write(b);
    this.#pending = null;
  }

  write(data: Buffer): void {
    const socket = this.#socket;
    if (socket === null) {
      if (!this.#closed) (this.#pending ??= []).push(data);
      return;
    }
    if (this.#closed || socket.destroyed) return;
    // Everything written in one turn of the event loop (the OKAYs for a chunk full of WRTEs,
    // a burst of OPENs) leaves in one writev instead of a syscall per packet.
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        socket.uncork();
      });
    }
    socket.write(data);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = null;
    this.#socket?.destroy();
  }

  pause(): void {
    this.#socket?.pause();
  }

  /** Counted only while the socket asks for a drain: below its high-water mark no 'drain' would come. */
  queued(): number {
    const socket = this.#socket;
    return socket !== null && socket.writableNeedDrain ? socket.writableLength : 0;
  }

  resume(): void {
    this.#socket?.resume();
  }
}
