// One simulated phone: a TCP listener, its connections, its state (online, rebooting, offline)
// and its fault. The protocol lives in adbd/connection.ts; this file adapts node:net to it.
import net from 'node:net';
import type { KeyObject } from 'node:crypto';
import { FEATURE_DELAYED_ACK } from '../adb/wire/index.js';
import { AdbdConnection, type DeviceSide, type Wire } from './adbd/connection.js';
import { DeviceState } from './device-state.js';
import { parseFault } from './faults.js';
import { readIntoSharedBuffer } from './read-buffer.js';
import type { Journal } from './journal.js';
import { VirtualShell } from './shell/shell.js';
import type { Fault, InstanceState, JournalEntry, SimInstance } from './types.js';

interface InstanceOptions {
  index: number;
  host: string;
  auth: 'none' | 'rsa';
  rebootDelayMs: number;
  trustedKeys: KeyObject[];
  features: string[];
  journal: Journal;
  storageBytes: number;
}

function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export class SimInstanceImpl implements SimInstance, DeviceSide {
  readonly serial: string;
  readonly host: string;
  port = 0;
  address = '';
  readonly device: DeviceState;
  readonly shell: VirtualShell;
  readonly journalStore: Journal;
  readonly auth: 'none' | 'rsa';
  readonly trustedKeys: KeyObject[];
  readonly delayedAck: boolean;
  readonly #banner: string;
  readonly #rebootDelayMs: number;
  #state: InstanceState = 'online';
  #fault: Fault | null = null;
  #timer: NodeJS.Timeout | null = null;
  readonly #server: net.Server;
  readonly #live = new Map<net.Socket, AdbdConnection>();
  #connSeq = 0;

  constructor(o: InstanceOptions) {
    this.serial = `sim-${String(o.index + 1).padStart(4, '0')}`;
    this.host = o.host;
    this.auth = o.auth;
    this.journalStore = o.journal;
    this.trustedKeys = [...o.trustedKeys];
    this.#rebootDelayMs = o.rebootDelayMs;
    this.device = new DeviceState(this.serial, o.index, o.storageBytes);
    this.device.onReboot = () => this.reboot();
    this.shell = new VirtualShell(this.device);
    this.#banner = this.device.banner(o.features);
    this.delayedAck = o.features.includes(FEATURE_DELAYED_ACK);
    // Paused: #onSocket moves each socket to the shared read buffer before anything is read.
    this.#server = net.createServer({ noDelay: true, pauseOnConnect: true }, (s) => this.#onSocket(s));
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.#server.once('error', onError);
      this.#server.listen({ port, host: this.host }, () => {
        this.#server.off('error', onError);
        this.port = (this.#server.address() as net.AddressInfo).port;
        this.address = formatAddress(this.host, this.port);
        resolve();
      });
    });
  }

  get state(): InstanceState {
    return this.#state;
  }

  get fault(): Fault | null {
    return this.#fault;
  }

  banner(): string {
    return this.#banner;
  }

  setFault(f: Fault | null): void {
    const next = f === null ? null : parseFault(f);
    const wasOffline = this.#state === 'offline';
    this.#fault = next;
    if (next?.kind === 'offline') this.#goDown('offline', next.ms);
    else if (wasOffline) this.#comeBack();
  }

  /** The `reboot` service or command: after the current reply is flushed, the device goes down. */
  reboot(): void {
    setImmediate(() => this.#goDown('rebooting', this.#rebootDelayMs));
  }

  journal(): JournalEntry[] {
    return this.journalStore.entries(this.serial);
  }

  connections(): number {
    return this.#live.size;
  }

  async close(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    for (const [socket, conn] of this.#live) {
      conn.shutdown('disconnected', 'none');
      socket.destroy();
    }
    this.#live.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #goDown(state: 'rebooting' | 'offline', ms: number): void {
    this.#state = state;
    for (const conn of this.#live.values()) {
      // A rebooting phone closes sockets on the way down; an offline one just vanishes.
      if (state === 'rebooting') conn.shutdown('reboot', 'end');
      else conn.shutdown('disconnected', 'destroy');
    }
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (state === 'offline' && this.#fault?.kind === 'offline') this.#fault = null;
      if (state === 'rebooting') this.device.rebooted();
      this.#state = 'online';
    }, ms);
  }

  #comeBack(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#state = 'online';
  }

  #onSocket(accepted: net.Socket): void {
    accepted.on('error', () => {});
    if (this.#state !== 'online' || this.#fault?.kind === 'refuse') {
      // RST rather than FIN: what a host sees from a port nobody listens on.
      accepted.resetAndDestroy();
      return;
    }
    // The socket to use is known once it reads into the shared buffer (read-buffer.ts), after the wire's making.
    let socket = accepted;
    const wire: Wire = {
      write: (data) => {
        if (!socket.destroyed && socket.writable) socket.write(data);
      },
      writev: (chunks) => {
        if (socket.destroyed || !socket.writable) return;
        socket.cork();
        for (const c of chunks) socket.write(c);
        socket.uncork();
      },
      end: () => {
        if (!socket.destroyed) socket.end();
        // A host that never closes its side must not keep the socket forever.
        setTimeout(() => socket.destroy(), 5000).unref();
      },
      destroy: () => socket.destroy(),
    };
    const conn = new AdbdConnection(this, wire, ++this.#connSeq);
    socket = readIntoSharedBuffer(accepted, (chunk) => conn.receive(chunk));
    socket.on('error', () => {});
    socket.setNoDelay(true);
    this.#live.set(socket, conn);
    socket.on('close', () => {
      conn.shutdown('disconnected', 'none');
      this.#live.delete(socket);
    });
  }
}
