// One ADB connection, host side: the CNXN/AUTH handshake, then streams multiplexed with
// OPEN/OKAY/WRTE/CLSE (AOSP protocol.txt). Transport-agnostic: bytes come in through receive(),
// go out through a Transport, so tests can drive it without sockets; socket.ts adapts node:net.

import { AdbError, type AdbErrorCode } from './errors.js';
import {
  AuthType,
  Command,
  FEATURE_DELAYED_ACK,
  HOST_BANNER,
  MAX_PAYLOAD,
  PacketDecoder,
  PacketError,
  SEPARATE_PAYLOAD_MIN,
  VERSION,
  VERSION_SKIP_CHECKSUM,
  checksum,
  commandName,
  encodeHeader,
  encodeOkay,
  encodePacket,
  okayCount,
  parseDeviceBanner,
  signToken,
  type DeviceBanner,
  type Packet,
  type SyncStat,
} from './wire/index.js';
import { DELAYED_ACK_WINDOW, StreamController, type StreamHandle, type StreamHandler, type StreamOwner } from './stream.js';
import type { ConnectionOptions, Transport } from './transport.js';
import type { AdbKey } from './key.js';
import { execOn, type ExecOptions, type ExecResult } from './exec.js';
import { execRawOn, type RawExecOptions, type RawExecResult } from './exec-raw.js';
import { pingOn } from './ping.js';
import type { SyncOptions } from './sync-call.js';
import { listOn, statOn, type SyncEntry } from './sync-ops.js';
import { pullOn, type PullOptions } from './sync-pull.js';
import { pushOn, type PushOptions, type TransferResult } from './sync-push.js';
import type { Writable } from 'node:stream';
import { rebootOn } from './reboot.js';

export type { ConnectionOptions, Transport } from './transport.js';

/**
 * OPENs we gave up on (timeout, cancel) that the device never answered. Each stays in the stream
 * table until it does; a device that answers none of them has stopped working, and keeping them
 * would grow without bound, so past this many the connection is declared lost.
 */
export const MAX_UNANSWERED_OPENS = 128;

const Phase = { Handshake: 0, Open: 1, Closed: 2 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];
/** How far authentication went: nothing sent, signature sent, public key sent. */
const AuthStep = { None: 0, Signed: 1, KeySent: 2 } as const;
type AuthStep = (typeof AuthStep)[keyof typeof AuthStep];

export class AdbConnection {
  readonly address: string;
  readonly openTimeoutMs: number;
  banner: DeviceBanner | null = null;
  /** max payload the device accepts (negotiated in CNXN) */
  maxPayload = 4096;
  /** both banners list delayed_ack (known once CNXN arrives): several WRTEs per stream in flight */
  delayedAck = false;
  bytesIn = 0;
  bytesOut = 0;
  /** when a chunk last brought the handshake's answer or something for an open stream (epoch ms;
   * 0: never): set per chunk, not per packet. The device's answer to a CLSE of ours finds no
   * stream and does not count, so a health ping's own echo is not taken for traffic. */
  lastReceivedAt = 0;
  /** the chunk being read brought the handshake's answer or reached an open stream */
  #heardStream = false;
  /** resolves with the device banner once CNXN arrives; rejects with CONNECT_FAILED or AUTH_REJECTED */
  readonly ready: Promise<DeviceBanner>;
  /** called once when the connection ends, with the reason (never for a failed handshake) */
  onclose: ((err: AdbError) => void) | null = null;

  #phase: Phase = Phase.Handshake;
  #auth: AuthStep = AuthStep.None;
  #checksums = true; // until the device's CNXN says otherwise, as adb's transport.cpp does
  #timer: NodeJS.Timeout | null = null;
  #streams = new Map<number, StreamController<AdbConnection>>();
  #nextId = 1;
  #unanswered = 0;
  /**
   * Packets produced while a chunk from the device is being handled wait here until the chunk is
   * done, tagged with their stream's local id (0: none). A fast command's OKAY, output, exit and
   * CLSE usually arrive in one chunk; the close-stdin WRTE and the OKAYs we would answer with are
   * then addressed to a stream the device has already closed (and would ignore, protocol.txt),
   * so they are dropped: one syscall per command instead of two, on both sides.
   */
  #outbox: Buffer[] = [];
  #outboxIds: number[] = [];
  #inReceive = false;
  #closedByDevice = new Set<number>();
  readonly #transport: Transport;
  readonly #decoder: PacketDecoder;
  readonly #key: AdbKey;
  readonly #authTimeoutMs: number;
  /** What the streams' controllers call: one object for every connection (see StreamOwner). */
  static readonly #streamOwner: StreamOwner<AdbConnection> = {
    address: (c) => c.address,
    maxPayload: (c) => c.maxPayload,
    sendWrite: (c, localId, remoteId, data) => c.#send(Command.WRTE, localId, remoteId, data, localId),
    sendOkay: (c, localId, remoteId, acked) => c.#out(encodeOkay(localId, remoteId, acked, c.#checksums), localId),
    ended: (c, localId, remoteId, byDevice) => c.#streamEnded(localId, remoteId, byDevice),
    unanswered: (c, delta) => c.#countUnanswered(delta),
  };
  #resolveReady!: (b: DeviceBanner) => void;
  #rejectReady!: (e: AdbError) => void;

  constructor(transport: Transport, opts: ConnectionOptions) {
    this.address = opts.address;
    this.openTimeoutMs = opts.openTimeoutMs;
    this.#transport = transport;
    this.#key = opts.key;
    this.#authTimeoutMs = opts.authTimeoutMs;
    this.#decoder = new PacketDecoder(
      (p) => this.#onPacket(p),
      MAX_PAYLOAD,
      (arg0, arg1, piece, last, length) => this.#onWritePiece(arg0, arg1, piece, last, length),
    );
    this.ready = new Promise<DeviceBanner>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // The caller may never await ready (a pool reacting to onclose instead): no unhandled rejection.
    this.ready.catch(() => {});
    this.#timer = setTimeout(() => this.#fail('CONNECT_FAILED', `no answer to CNXN within ${opts.connectTimeoutMs} ms`), opts.connectTimeoutMs);
    this.#send(Command.CNXN, VERSION, MAX_PAYLOAD, Buffer.from(HOST_BANNER));
  }

  get isOpen(): boolean {
    return this.#phase === Phase.Open;
  }
  get openStreams(): number {
    return this.#streams.size;
  }
  get features(): readonly string[] {
    return this.banner?.features ?? [];
  }

  /** Bytes from the device, in any chunking. Never throws: bad input closes the connection. */
  receive(chunk: Buffer): void {
    if (this.#phase === Phase.Closed) return;
    this.bytesIn += chunk.length;
    this.#inReceive = true;
    try {
      this.#decoder.push(chunk);
    } catch (e) {
      const detail = e instanceof PacketError ? e.message : `failed handling a packet: ${(e as Error).message}`;
      this.#fail('PROTOCOL_ERROR', detail, e);
    } finally {
      if (this.#heardStream) {
        this.#heardStream = false;
        this.lastReceivedAt = Date.now();
      }
      this.#inReceive = false;
      this.#flushOutbox();
    }
  }

  #flushOutbox(): void {
    const packets = this.#outbox;
    const ids = this.#outboxIds;
    const closed = this.#closedByDevice;
    if (packets.length > 0) {
      this.#outbox = [];
      this.#outboxIds = [];
      for (let i = 0; i < packets.length && this.#phase !== Phase.Closed; i++) {
        if (ids[i] !== 0 && closed.has(ids[i]!)) continue;
        this.bytesOut += packets[i]!.length;
        this.#transport.write(packets[i]!);
      }
    }
    closed.clear();
  }

  /** The link went down (socket closed or failed). */
  transportClosed(err?: Error): void {
    if (this.#phase === Phase.Closed) return;
    const detail = err === undefined ? 'the device closed the connection' : err.message;
    this.#fail('CONNECTION_LOST', detail, err);
  }

  /** Closes the connection from our side; open streams fail with CONNECTION_LOST. */
  close(reason = 'closed by the host'): void {
    this.#fail('CONNECTION_LOST', reason);
  }

  openStream(service: string, handler: StreamHandler): StreamHandle {
    if (this.#phase !== Phase.Open) throw new AdbError('CONNECTION_LOST', this.address, 'the connection is not open');
    let id = this.#nextId;
    // Ids only grow (mod 2^32, never 0) so a late packet for a closed stream cannot hit a new one.
    while (id === 0 || this.#streams.has(id)) id = (id + 1) >>> 0;
    this.#nextId = (id + 1) >>> 0;
    const stream = new StreamController(AdbConnection.#streamOwner, this, id, handler, this.delayedAck);
    this.#streams.set(id, stream);
    // OPEN payloads end with a NUL (adb's host does so; adbd accepts both). arg1 is our grant
    // with delayed_ack, and must be 0 without it (adbd refuses the OPEN otherwise).
    this.#send(Command.OPEN, id, this.delayedAck ? DELAYED_ACK_WINDOW : 0, `${service}\0`);
    return stream.handle;
  }

  exec(command: string, opts: ExecOptions): Promise<ExecResult> {
    return execOn(this, command, opts);
  }

  /** `exec:CMD`: stdout byte for byte into sink (see exec-raw.ts). */
  execRaw(command: string, sink: Writable, opts: RawExecOptions): Promise<RawExecResult> {
    return execRawOn(this, command, sink, opts);
  }

  push(localPath: string, remotePath: string, opts: PushOptions): Promise<TransferResult> {
    return pushOn(this, localPath, remotePath, opts);
  }

  pull(remotePath: string, localPath: string, opts: PullOptions): Promise<TransferResult> {
    return pullOn(this, remotePath, localPath, opts);
  }

  stat(remotePath: string, opts: SyncOptions): Promise<SyncStat | null> {
    return statOn(this, remotePath, opts);
  }

  list(remotePath: string, opts: SyncOptions): Promise<SyncEntry[]> {
    return listOn(this, remotePath, opts);
  }

  /** timeoutMs: how long adbd may take to acknowledge; not a setting, so the default lives here */
  reboot(opts: { timeoutMs?: number } = {}): Promise<void> {
    return rebootOn(this, opts.timeoutMs ?? 10_000);
  }

  /** Resolves when adbd answers an OPEN (see ping.ts); rejects with TIMEOUT or CONNECTION_LOST. */
  ping(timeoutMs: number): Promise<void> {
    return pingOn(this, timeoutMs);
  }

  // Packets

  /** streamId tags a packet that is pointless once the device has closed that stream. */
  #send(command: number, arg0: number, arg1: number, payload?: Buffer | string, streamId = 0): void {
    // A big payload (a push's WRTE) follows its header as its own Buffer: the corked socket sends
    // both in one writev, and the payload is not copied into a packet first.
    if (payload instanceof Buffer && payload.length >= SEPARATE_PAYLOAD_MIN) {
      this.#out(encodeHeader(command, arg0, arg1, payload.length, this.#checksums ? checksum(payload) : 0), streamId);
      return this.#out(payload, streamId);
    }
    this.#out(encodePacket(command, arg0, arg1, payload, this.#checksums), streamId);
  }

  #out(bytes: Buffer, streamId: number): void {
    if (this.#inReceive) {
      this.#outbox.push(bytes);
      this.#outboxIds.push(streamId);
      return;
    }
    this.bytesOut += bytes.length;
    this.#transport.write(bytes);
  }

  #onPacket(p: Packet): void {
    if (this.#phase === Phase.Closed) return;
    switch (p.command) {
      case Command.OKAY:
        return this.#onOkay(p);
      case Command.WRTE:
        return this.#onWrite(p);
      case Command.CLSE:
        return this.#onClose(p.arg0, p.arg1);
      case Command.AUTH:
        return this.#onAuth(p);
      case Command.CNXN:
        return this.#onConnect(p);
      case Command.OPEN:
        // We offer no services to the device: refuse (CLSE with local-id 0 means a failed OPEN).
        if (this.#phase === Phase.Open) this.#send(Command.CLSE, 0, p.arg0);
        return;
      default:
        // STLS (TLS pairing, Android 11 wireless debugging) and SYNC are not spoken here.
        return this.#fail('PROTOCOL_ERROR', `unexpected ${commandName(p.command)}`);
    }
  }

  #onOkay(p: Packet): void {
    // An OKAY for a stream closed while it was in flight finds nothing: ignored.
    const stream = p.arg0 !== 0 ? this.#streams.get(p.arg1) : undefined;
    if (stream === undefined) return;
    this.#heardStream = true;
    let count: number | null = null;
    if (this.delayedAck) {
      count = okayCount(p.payload);
      // Without its count the stream's window could never open again: a silent stall.
      if (count === null) return this.#fail('PROTOCOL_ERROR', `OKAY for stream ${p.arg1} carries ${p.payload.length} bytes, not delayed_ack's 4-byte count`);
    }
    stream.okay(p.arg0, count);
  }

  #onWrite(p: Packet): void {
    const stream = this.#streams.get(p.arg1);
    if (stream === undefined) return;
    this.#heardStream = true;
    stream.data(p.arg0, p.payload);
  }

  /** A piece of a WRTE split across chunks (see PacketDecoder). */
  #onWritePiece(remoteId: number, localId: number, piece: Buffer, last: boolean, length: number): void {
    if (this.#phase !== Phase.Open) return;
    const stream = this.#streams.get(localId);
    if (stream === undefined) return;
    this.#heardStream = true;
    stream.data(remoteId, piece, last, length);
  }

  #onClose(remoteId: number, localId: number): void {
    const stream = this.#streams.get(localId);
    if (stream === undefined) return;
    this.#heardStream = true;
    stream.remoteClose(remoteId);
  }

  /** A stream is over (it says so): forget it, and answer with CLSE unless the device closed it. */
  #streamEnded(localId: number, remoteId: number, byDevice: boolean): void {
    this.#streams.delete(localId);
    if (byDevice) {
      if (this.#inReceive) this.#closedByDevice.add(localId);
      // protocol.txt: a CLSE is not answered.
    } else if (this.#phase === Phase.Open) {
      this.#send(Command.CLSE, localId, remoteId, undefined, localId);
    }
  }

  #countUnanswered(delta: 1 | -1): void {
    this.#unanswered += delta;
    if (this.#unanswered > MAX_UNANSWERED_OPENS) this.#fail('CONNECTION_LOST', `the device left ${MAX_UNANSWERED_OPENS} OPENs unanswered`);
  }

  #onAuth(p: Packet): void {
    if (this.#phase !== Phase.Handshake) return;
    if (p.arg0 !== AuthType.Token) return this.#fail('PROTOCOL_ERROR', `unexpected AUTH type ${p.arg0}`);
    if (this.#auth === AuthStep.None) {
      this.#restartTimer(this.#authTimeoutMs, () => this.#fail('AUTH_REJECTED', `the device did not accept our key within ${this.#authTimeoutMs} ms`));
      this.#auth = AuthStep.Signed;
      this.#send(Command.AUTH, AuthType.Signature, 0, signToken(this.#key.privateKey, Buffer.from(p.payload)));
    } else if (this.#auth === AuthStep.Signed) {
      // Signature refused: offer the public key; adbd stores it if the key is trusted (or the user allows it).
      this.#auth = AuthStep.KeySent;
      this.#send(Command.AUTH, AuthType.RsaPublicKey, 0, this.#key.androidPublicKey);
    }
    // Later tokens are ignored: answering each with a signature could loop as fast as RSA signs.
  }

  #onConnect(p: Packet): void {
    if (this.#phase === Phase.Open) {
      // A second CNXN means the device's adbd restarted under us: this session is over.
      return this.#fail('CONNECTION_LOST', 'the device restarted the session');
    }
    this.#heardStream = true; // the handshake's answer: the device is there
    this.#clearTimer();
    this.banner = parseDeviceBanner(p.payload);
    this.maxPayload = Math.max(256, Math.min(p.arg1 >>> 0, MAX_PAYLOAD));
    // We list delayed_ack in our banner: the device listing it too puts it in use.
    this.delayedAck = this.banner.features.includes(FEATURE_DELAYED_ACK);
    const version = p.arg0 >>> 0;
    this.#checksums = version < VERSION_SKIP_CHECKSUM;
    this.#decoder.verifyChecksum = this.#checksums;
    this.#phase = Phase.Open;
    this.#resolveReady(this.banner);
  }

  #restartTimer(ms: number, fn: () => void): void {
    this.#clearTimer();
    this.#timer = setTimeout(fn, ms);
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Ends the connection once: the handshake's promise or the streams learn why. */
  #fail(code: AdbErrorCode, detail: string, cause?: unknown): void {
    if (this.#phase === Phase.Closed) return;
    const wasHandshake = this.#phase === Phase.Handshake;
    this.#phase = Phase.Closed;
    this.#clearTimer();
    this.#transport.close();
    if (wasHandshake) {
      // Before CNXN every failure is a failed connect, except a device that will not take our key.
      const authFailed = code === 'AUTH_REJECTED' || (code === 'CONNECTION_LOST' && this.#auth !== AuthStep.None);
      const err = authFailed
        ? new AdbError('AUTH_REJECTED', this.address, code === 'AUTH_REJECTED' ? detail : `closed during authentication: ${detail}`, { cause })
        : new AdbError('CONNECT_FAILED', this.address, code === 'PROTOCOL_ERROR' ? `protocol error: ${detail}` : detail, { cause });
      this.#rejectReady(err);
      return;
    }
    const err = new AdbError(code, this.address, detail, cause === undefined ? undefined : { cause });
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    for (const s of streams) s.lost(err);
    const cb = this.onclose;
    this.onclose = null;
    cb?.(err);
  }
}
