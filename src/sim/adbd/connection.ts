// One host connection to a simulated adbd: handshake (CNXN, optional RSA AUTH), then streams.
// Bytes in through receive(), bytes out through a Wire, so tests can drive it without sockets.
// Replies produced while handling one chunk leave in a single writev (batched on a microtask).
import { randomBytes, type KeyObject } from 'node:crypto';
import {
  AuthType,
  Command,
  FEATURE_DELAYED_ACK,
  INITIAL_DELAYED_ACK_BYTES,
  MAX_PAYLOAD,
  MAX_PAYLOAD_V1,
  PacketDecoder,
  PacketError,
  SHELL_HEADER_SIZE,
  ShellId,
  ShellV2Parser,
  VERSION,
  VERSION_SKIP_CHECKSUM,
  encodeHeader,
  encodeOkay,
  encodePacket,
  okayCount,
  parseAndroidPublicKey,
  parseDeviceBanner,
  shellHeader,
  verifyTokenSignature,
  type Packet,
} from '../../adb/wire/index.js';
import { Journal } from '../journal.js';
import type { VirtualShell } from '../shell/shell.js';
import type { Fault } from '../types.js';
import { parseService } from './service.js';
import { SyncProc } from './sync-service.js';
import { BURST_BYTES, MIN_FILL, readPayload, type Stream } from './stream.js';

/** What a connection needs from its instance. */
export interface DeviceSide {
  readonly serial: string;
  readonly shell: VirtualShell;
  readonly journalStore: Journal;
  readonly auth: 'none' | 'rsa';
  /** The instance's adb_keys: a key accepted from RSAPUBLICKEY is appended here. */
  readonly trustedKeys: KeyObject[];
  readonly fault: Fault | null;
  /** the banner lists delayed_ack: used with hosts that list it too */
  readonly delayedAck: boolean;
  banner(): string;
  /** Takes the instance down (asynchronously: the current reply is flushed first). */
  reboot(): void;
}

/** The socket as the connection sees it. */
export interface Wire {
  write(data: Buffer): void;
  /** Several Buffers in one go (one writev): a WRTE's header and its payload's pieces, uncopied. */
  writev(chunks: Buffer[]): void;
  /** Closes after pending data is sent. */
  end(): void;
  /** Closes at once. */
  destroy(): void;
}

const GARBAGE = Buffer.from('GARBAGE\u0000NOT\u0000AN\u0000ADB\u0000HDR!');

export class AdbdConnection {
  readonly id: number;
  readonly #dev: DeviceSide;
  readonly #wire: Wire;
  readonly #decoder: PacketDecoder;
  #online = false;
  #closed = false;
  #maxPayload = MAX_PAYLOAD_V1;
  #checksum = false;
  /** both banners list delayed_ack (set by the host's CNXN) */
  #delayedAck = false;
  #token: Buffer | null = null;
  #nextId = 1;
  readonly #streams = new Map<number, Stream>();
  #out: Buffer[] = [];
  #flushQueued = false;
  #sentData = 0;

  constructor(dev: DeviceSide, wire: Wire, id: number) {
    this.#dev = dev;
    this.#wire = wire;
    this.id = id;
    this.#decoder = new PacketDecoder(this.#onPacket, MAX_PAYLOAD_V1, this.#onWritePiece);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes from the host. Anything malformed closes this connection only. */
  receive(chunk: Buffer): void {
    if (this.#closed) return;
    try {
      this.#decoder.push(chunk);
    } catch (e) {
      // A bug of ours must not take the whole fleet down either: report it, drop this connection.
      if (!(e instanceof PacketError)) process.emitWarning(`simulator error on ${this.#dev.serial}: ${(e as Error).stack ?? String(e)}`);
      this.shutdown('disconnected', 'destroy');
    }
  }

  /**
   * Ends every stream (journaled with `end`) and closes the wire: `end` flushes what is queued
   * first (reboot, drop), `destroy` cuts at once (offline), `none` when the socket is already gone.
   */
  shutdown(end: 'disconnected' | 'reboot', how: 'end' | 'destroy' | 'none'): void {
    if (this.#closed) return;
    for (const s of this.#streams.values()) {
      s.proc.kill();
      Journal.finish(s.entry, end);
    }
    this.#streams.clear();
    if (how === 'end') this.#flush();
    this.#closed = true;
    this.#out = [];
    if (how === 'none') return;
    const latency = this.#latency();
    const close = how === 'end' ? () => this.#wire.end() : () => this.#wire.destroy();
    if (latency > 0 && how === 'end') setTimeout(close, latency);
    else close();
  }

  #onPacket = (p: Packet): void => {
    if (this.#closed) return;
    switch (p.command) {
      case Command.CNXN:
        return this.#onConnect(p);
      case Command.AUTH:
        return this.#onAuth(p);
      case Command.SYNC:
        throw new PacketError('SYNC is not a wire command');
    }
    // adbd ignores stream traffic until the handshake is done (and must, or AUTH means nothing).
    if (!this.#online) return;
    switch (p.command) {
      case Command.OPEN:
        return this.#onOpen(p);
      case Command.OKAY: {
        const s = this.#streams.get(p.arg1);
        if (s === undefined) return;
        if (this.#delayedAck) {
          // adbd drops an OKAY without its count (sockets.cpp local_socket_ack).
          const count = okayCount(p.payload);
          if (count === null) return;
          s.window += count;
        } else s.window = 1;
        return this.#pump(s);
      }
      case Command.WRTE:
        return this.#onWritePiece(p.arg0, p.arg1, p.payload, true, p.payload.length);
      case Command.CLSE: {
        const s = this.#streams.get(p.arg1);
        if (s === undefined) return;
        // The host hung up: the command gets SIGHUP; adbd answers with its own CLSE.
        this.#streams.delete(s.localId);
        s.proc.kill();
        Journal.finish(s.entry, 'closed');
        return this.#packet(Command.CLSE, s.localId, s.remoteId);
      }
    }
    // STLS: we never offer TLS, so a host has no business asking; ignore it like adbd would.
  };

  /** A WRTE, whole or a piece of one split across chunks (see PacketDecoder). */
  #onWritePiece = (_remoteId: number, localId: number, piece: Buffer, last: boolean, length: number): void => {
    if (this.#closed || !this.#online) return;
    const s = this.#streams.get(localId);
    if (s === undefined) return;
    // The data is taken at once (stdin, a pushed file's pieces): acknowledged in full once all here.
    if (last) this.#okay(s.localId, s.remoteId, length);
    this.#stdin(s, piece);
  };

  #onConnect(p: Packet): void {
    if (this.#online) {
      // A new CNXN restarts the transport: streams of the old session are gone.
      for (const s of this.#streams.values()) {
        s.proc.kill();
        Journal.finish(s.entry, 'disconnected');
      }
      this.#streams.clear();
      this.#online = false;
    }
    const version = Math.min(p.arg0 >>> 0, VERSION);
    this.#maxPayload = Math.max(MIN_FILL * 4, Math.min(p.arg1 >>> 0, MAX_PAYLOAD));
    this.#checksum = version < VERSION_SKIP_CHECKSUM;
    this.#decoder.verifyChecksum = this.#checksum;
    this.#decoder.maxPayload = Math.max(this.#maxPayload, MAX_PAYLOAD_V1);
    this.#version = version;
    this.#delayedAck = this.#dev.delayedAck && parseDeviceBanner(p.payload).features.includes(FEATURE_DELAYED_ACK);
    const fault = this.#dev.fault;
    if (fault?.kind === 'garbage') return this.#garbage();
    if (this.#dev.auth === 'rsa' || fault?.kind === 'auth-reject') return this.#sendToken();
    this.#accept();
  }

  #version = VERSION;

  #accept(): void {
    this.#online = true;
    this.#token = null;
    this.#queue(encodePacket(Command.CNXN, this.#version, this.#maxPayload, this.#dev.banner(), true));
  }

  #sendToken(): void {
    this.#token = randomBytes(20);
    this.#queue(encodePacket(Command.AUTH, AuthType.Token, 0, this.#token, true));
  }

  #onAuth(p: Packet): void {
    const token = this.#token;
    if (this.#online || token === null) return;
    const rejecting = this.#dev.fault?.kind === 'auth-reject';
    if (p.arg0 === AuthType.Signature) {
      if (!rejecting && this.#dev.trustedKeys.some((k) => verifyTokenSignature(k, token, p.payload))) return this.#accept();
      return this.#sendToken();
    }
    if (p.arg0 === AuthType.RsaPublicKey) {
      // A real phone shows "Allow USB debugging?" here. `rsa` mode is a user who taps allow;
      // auth-reject is one who never answers, so the host waits (and shows "unauthorized").
      if (rejecting) return;
      let key: KeyObject;
      try {
        key = parseAndroidPublicKey(p.payload);
      } catch {
        return;
      }
      this.#dev.trustedKeys.push(key);
      this.#accept();
    }
  }

  #onOpen(p: Packet): void {
    const remoteId = p.arg0;
    if (remoteId === 0) throw new PacketError('OPEN with local-id 0');
    // adbd refuses an OPEN whose grant disagrees with the feature (adb.cpp, A_OPEN).
    if (this.#delayedAck !== (p.arg1 !== 0)) return this.#packet(Command.CLSE, 0, remoteId);
    const window = this.#delayedAck ? p.arg1 >>> 0 : 1;
    const fault = this.#dev.fault;
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'garbage') return this.#garbage();
    const req = parseService(p.payload);
    const dev = this.#dev;
    if (req.kind === 'unknown') {
      // CLSE with local-id 0 is how adbd refuses an OPEN.
      return this.#packet(Command.CLSE, 0, remoteId);
    }
    const localId = this.#nextId++;
    if (this.#nextId > 0xffffffff) this.#nextId = 1;
    if (req.kind === 'reboot') {
      const entry = dev.journalStore.start(dev.serial, req.target, req.name, remoteId, this.id);
      this.#okay(localId, remoteId, INITIAL_DELAYED_ACK_BYTES);
      Journal.finish(entry, 'reboot');
      return dev.reboot();
    }
    if (req.kind === 'sync') return this.#startSync(localId, remoteId, window);
    // Journaled before it runs: a command with side effects is on record even if it never ends.
    const entry = dev.journalStore.start(dev.serial, req.command, req.name, remoteId, this.id);
    const proc = req.command === '' && req.kind === 'shell' ? dev.shell.interactive() : dev.shell.spawn(req.command);
    const v2 = req.kind === 'shell' && req.v2;
    const stdin = v2 ? new ShellV2Parser((id, data) => (id === ShellId.Stdin ? proc.stdin?.(data) : id === ShellId.CloseStdin ? proc.closeStdin?.() : undefined)) : null;
    const s: Stream = { localId, remoteId, proc, v2, window, burstPending: false, entry, stdin };
    this.#streams.set(localId, s);
    this.#okay(localId, remoteId, INITIAL_DELAYED_ACK_BYTES);
    if (v2 && fault?.kind === 'bad-shell-packet') {
      // The header comes with a byte of its data, then nothing (#pump sends no more): a host that
      // believes the length waits for the rest until its timeout. The command stays journaled as
      // running until the host closes the stream.
      this.#sendData(s, [shellHeader(fault.id as ShellId, fault.length), Buffer.from('x')], SHELL_HEADER_SIZE + 1);
      return;
    }
    proc.wake = () => this.#pump(s);
    this.#pump(s);
  }

  #startSync(localId: number, remoteId: number, window: number): void {
    const device = this.#dev.shell.device;
    const dev = this.#dev;
    const proc = new SyncProc({
      files: device.files,
      get props() {
        return device.props;
      },
      get fault() {
        return dev.fault;
      },
      drop: () => this.shutdown('disconnected', 'end'),
      journal: (what) => dev.journalStore.start(dev.serial, what, 'sync', remoteId, this.id),
    });
    const s: Stream = { localId, remoteId, proc, v2: false, window, burstPending: false, entry: null, stdin: null };
    this.#streams.set(localId, s);
    this.#okay(localId, remoteId, INITIAL_DELAYED_ACK_BYTES);
    proc.wake = () => this.#pump(s);
  }

  /**
   * Sends what the command has while the host's window lasts: one WRTE in flight without
   * delayed_ack, with it up to the host's grant, BURST_BYTES at a time per turn of the event loop.
   */
  #pump(s: Stream): void {
    if (s.burstPending || this.#closed || this.#streams.get(s.localId) !== s) return;
    if (s.v2 && this.#dev.fault?.kind === 'bad-shell-packet') return;
    let burst = 0;
    while (s.window > 0) {
      if (burst >= BURST_BYTES) {
        s.burstPending = true;
        setImmediate(() => {
          s.burstPending = false;
          this.#pump(s);
        });
        return;
      }
      const sent = this.#pumpOne(s);
      if (sent <= 0) return;
      burst += sent;
    }
  }

  /** One WRTE of what the command has: its size; 0 when it has nothing now, -1 once the stream is over. */
  #pumpOne(s: Stream): number {
    const { parts, size, done, waiting } = readPayload(s, this.#maxPayload);
    if (size > 0) {
      s.window = this.#delayedAck ? s.window - size : 0;
      if (!this.#sendData(s, parts, size)) return -1;
    }
    if (done) {
      this.#streams.delete(s.localId);
      this.#packet(Command.CLSE, s.localId, s.remoteId);
      return -1;
    }
    return waiting ? 0 : size;
  }

  /** An OKAY: with delayed_ack it carries count (a grant, or the bytes it acknowledges). */
  #okay(localId: number, remoteId: number, count: number): void {
    this.#queue(encodeOkay(localId, remoteId, this.#delayedAck ? count : null, this.#checksum));
  }

  /**
   * One WRTE of the parts (size bytes in all). false when a drop fault cut the connection here.
   * The parts follow their header uncopied (a pulled file's pieces are views into it), unless
   * checksums are due (old hosts) or a drop fault cuts them.
   */
  #sendData(s: Stream, parts: Buffer[], size: number): boolean {
    const fault = this.#dev.fault;
    if (fault?.kind !== 'drop' && !this.#checksum) {
      this.#sentData += size;
      this.#queue(encodeHeader(Command.WRTE, s.localId, s.remoteId, size));
      for (const p of parts) this.#queue(p);
      return true;
    }
    const payload = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    if (fault?.kind === 'drop') {
      const left = fault.afterBytes - this.#sentData;
      if (payload.length >= left) {
        if (left > 0) this.#packet(Command.WRTE, s.localId, s.remoteId, payload.subarray(0, left));
        this.#sentData += Math.max(left, 0);
        this.shutdown('disconnected', 'end');
        return false;
      }
    }
    this.#sentData += payload.length;
    this.#packet(Command.WRTE, s.localId, s.remoteId, payload);
    return true;
  }

  /**
   * Host WRTE data: raw stdin for shell v1 and exec:, shell v2 packets otherwise. Pieces are views
   * into the read buffer the next read reuses (read-buffer.ts): commands and a pushed file copy
   * what they keep.
   */
  #stdin(s: Stream, data: Buffer): void {
    if (s.stdin === null) s.proc.stdin?.(data);
    else s.stdin.push(data);
  }

  #garbage(): void {
    this.#queue(GARBAGE);
    this.shutdown('disconnected', 'end');
  }

  #packet(command: number, arg0: number, arg1: number, payload?: Buffer): void {
    this.#queue(encodePacket(command, arg0, arg1, payload, this.#checksum));
  }

  #queue(b: Buffer): void {
    if (this.#closed) return;
    this.#out.push(b);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flush);
    }
  }

  #flush = (): void => {
    this.#flushQueued = false;
    if (this.#out.length === 0 || this.#closed) return;
    const out = this.#out;
    this.#out = [];
    const send = out.length === 1 ? () => this.#wire.write(out[0]!) : () => this.#wire.writev(out);
    const latency = this.#latency();
    if (latency > 0) setTimeout(send, latency);
    else send();
  };

  #latency(): number {
    const f = this.#dev.fault;
    return f?.kind === 'latency' ? f.ms : 0;
  }
}
