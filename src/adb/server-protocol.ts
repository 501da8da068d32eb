// The adb server's client protocol, "smart sockets" (OVERVIEW.TXT, "Client <-> Server"): each
// request is 4 hex digits of length and the payload, answered `OKAY`, or `FAIL` + 4 hex digits +
// a message. One TCP connection per request chain: `host:transport:SERIAL` switches the
// connection to that device, the next request names a device service (`shell,v2,raw:CMD`,
// `reboot:`), and after its OKAY the service's bytes flow raw: no ADB packets, no flow control,
// the shell v2 framing of the service itself inside. A host query (`host-serial:S:get-state`)
// answers OKAY and one length-prefixed payload. Transport-agnostic, like connection.ts: bytes in
// through receive(), out through a Transport; socket.ts adapts node:net.

import { AdbError } from './errors.js';
import type { Transport } from './connection.js';
import type { StreamHandle, StreamHandler } from './stream.js';

/** A request as the server reads it: its length in 4 hex digits, then the payload. */
export function encodeRequest(payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  if (body.length > 0xffff) throw new RangeError(`adb server request of ${body.length} bytes (at most 65535)`);
  return Buffer.concat([Buffer.from(body.length.toString(16).padStart(4, '0'), 'ascii'), body]);
}

/**
 * A FAIL from the server, as the code that means the same to the worker as the direct path's:
 * the server's words for a device it cannot reach (AOSP adb transport.cpp, acquire_one_transport:
 * "device 'X' not found", "device offline", "device still connecting"/"authorizing") are a
 * connect that failed; "device unauthorized" is the device refusing this server's key.
 */
export function serverFailure(address: string, message: string): AdbError {
  const code = /^device unauthorized/.test(message) ? 'AUTH_REJECTED' : 'CONNECT_FAILED';
  return new AdbError(code, address, `adb server: ${firstLine(message)}`);
}

function firstLine(message: string): string {
  const nl = message.indexOf('\n');
  return nl < 0 ? message : message.slice(0, nl);
}

const OKAY = 0x4f4b4159; // 'OKAY' read big-endian
const FAIL = 0x4641494c; // 'FAIL'

const Phase = { Status: 0, FailLength: 1, FailMessage: 2, ReplyLength: 3, Reply: 4, Raw: 5, Closed: 6 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/** What a query's user hears: the payload after OKAY, or the error. */
export interface ReplyHandler {
  onReply(payload: string): void;
  onError(err: AdbError): void;
}

/**
 * One smart-socket connection. Sends its requests one after another, each after the previous
 * one's OKAY. The last one's answer decides the mode: `raw` hands the bytes to a StreamHandler
 * (a device service), `reply` reads one length-prefixed payload (a host query).
 */
export class SmartSocket implements StreamHandle {
  readonly localId: number;
  /** the instance's adb-server:// address, for errors */
  readonly address: string;
  readonly #requests: readonly string[];
  readonly #stream: StreamHandler | null;
  readonly #reply: ReplyHandler | null;
  #transport: Transport | null = null;
  #phase: Phase = Phase.Status;
  /** index of the request whose answer is awaited */
  #step = 0;
  /** bytes of a status, length or message split across chunks */
  #pending: Buffer | null = null;
  #want = 4;
  #opened = false;

  /** `stream` for a device service (raw after the last OKAY), `reply` for a host query. */
  constructor(address: string, localId: number, requests: readonly string[], sink: { stream: StreamHandler } | { reply: ReplyHandler }) {
    this.address = address;
    this.localId = localId;
    this.#requests = requests;
    this.#stream = 'stream' in sink ? sink.stream : null;
    this.#reply = 'reply' in sink ? sink.reply : null;
  }

  /** The transport is up (or will be: writes before the TCP connect completes are queued). */
  start(transport: Transport): void {
    this.#transport = transport;
    if (this.#phase === Phase.Closed) return transport.close();
    transport.write(encodeRequest(this.#requests[0]!));
  }

  /** Bytes from the server, in any chunking. Never throws. */
  receive(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0 && this.#phase !== Phase.Closed) {
      if (this.#phase === Phase.Raw) {
        this.#stream!.onData(data);
        return;
      }
      const n = Math.min(this.#want - (this.#pending?.length ?? 0), data.length);
      const piece = data.subarray(0, n);
      data = data.subarray(n);
      const got = this.#pending === null ? piece : Buffer.concat([this.#pending, piece]);
      if (got.length < this.#want) {
        this.#pending = Buffer.from(got); // a view into the socket's buffer would not survive it
        continue;
      }
      this.#pending = null;
      this.#advance(got);
    }
  }

  /** The connection ended: by the server (err undefined) or with a socket error. */
  transportClosed(err?: Error): void {
    if (this.#phase === Phase.Closed) return;
    const wasRaw = this.#phase === Phase.Raw;
    this.#phase = Phase.Closed;
    if (wasRaw) return this.#stream!.onClose(err === undefined ? null : new AdbError('CONNECTION_LOST', this.address, `adb server: ${err.message}`, { cause: err }));
    // Before the device took the service: the server or its device went away, or never answered.
    const detail = err === undefined ? 'the adb server closed the connection before answering' : `adb server: ${err.message}`;
    const code = this.#step === 0 ? 'CONNECT_FAILED' : 'CONNECTION_LOST';
    this.#fail(new AdbError(code, this.address, detail, err === undefined ? undefined : { cause: err }));
  }

  // The user's side (StreamHandle).

  /** Service bytes to the device (raw mode only; earlier writes have nowhere to go). */
  write(data: Buffer): void {
    if (this.#phase === Phase.Raw) this.#transport?.write(data);
  }

  /**
   * The adb server's stream has no flow control of its own: TCP's is it. What the socket has not
   * yet handed to the OS counts as queued, and the socket's drain is the stream's onDrain.
   */
  get queued(): number {
    return this.#transport?.queued?.() ?? 0;
  }

  /** What the OS has taken is as good as acknowledged: its Buffer is free (TCP has its own copy). */
  get unacknowledged(): number {
    return this.queued;
  }

  transportDrained(): void {
    if (this.#phase === Phase.Raw) this.#stream!.onDrain?.();
  }

  /** Stops reading the socket: the server, then the device, hold what comes next (TCP's flow control). */
  pause(): void {
    this.#transport?.pause?.();
  }

  resume(): void {
    this.#transport?.resume?.();
  }

  /** Closes the connection: the server closes the device's stream (the shell gets SIGHUP). No more callbacks. */
  close(): void {
    if (this.#phase === Phase.Closed) return;
    this.#phase = Phase.Closed;
    this.#transport?.close();
  }

  /** Closes the connection and reports err to the user (a deadline, a cancel, the pool closing). */
  abort(err: AdbError): void {
    if (this.#phase === Phase.Closed) return;
    this.close();
    this.#fail(err);
  }

  #advance(got: Buffer): void {
    switch (this.#phase) {
      case Phase.Status: {
        const word = got.readUInt32BE(0);
        if (word === FAIL) return this.#expect(Phase.FailLength, 4);
        if (word !== OKAY) return this.#broken(`answered ${JSON.stringify(got.toString('latin1'))} instead of OKAY or FAIL`);
        if (++this.#step < this.#requests.length) {
          this.#transport?.write(encodeRequest(this.#requests[this.#step]!));
          return this.#expect(Phase.Status, 4);
        }
        if (this.#reply !== null) return this.#expect(Phase.ReplyLength, 4);
        this.#phase = Phase.Raw;
        this.#opened = true;
        this.#stream!.onOpen();
        return;
      }
      case Phase.FailLength:
      case Phase.ReplyLength: {
        const text = got.toString('latin1');
        if (!/^[0-9a-fA-F]{4}$/.test(text)) return this.#broken(`sent ${JSON.stringify(text)} where a 4-hex-digit length belongs`);
        const length = parseInt(text, 16);
        const next = this.#phase === Phase.FailLength ? Phase.FailMessage : Phase.Reply;
        if (length === 0) return this.#advanceTo(next, Buffer.alloc(0));
        return this.#expect(next, length);
      }
      case Phase.FailMessage:
      case Phase.Reply:
        return this.#advanceTo(this.#phase, got);
    }
  }

  #advanceTo(phase: typeof Phase.FailMessage | typeof Phase.Reply, body: Buffer): void {
    const text = body.toString('utf8');
    this.close();
    if (phase === Phase.Reply) return this.#reply!.onReply(text);
    // A FAIL to the device service comes from the device (adbd refused to open it): the direct
    // path's refused OPEN. A FAIL to a host request is the server's: see serverFailure.
    const refused = this.#step > 0 && this.#step === this.#requests.length - 1 && this.#stream !== null;
    if (refused && this.#stream!.onRefused !== undefined) return this.#stream!.onRefused();
    this.#fail(refused ? new AdbError('PROTOCOL_ERROR', this.address, `the device refused to open the service (adb server: ${firstLine(text)})`) : serverFailure(this.address, text));
  }

  #expect(phase: Phase, bytes: number): void {
    this.#phase = phase;
    this.#want = bytes;
  }

  /** Not the adb server's protocol: whatever listens there is not an adb server. */
  #broken(what: string): void {
    this.close();
    const code = this.#opened || this.#step > 0 ? 'PROTOCOL_ERROR' : 'CONNECT_FAILED';
    this.#fail(new AdbError(code, this.address, `not an adb server: it ${what}`));
  }

  #fail(err: AdbError): void {
    this.#phase = Phase.Closed;
    if (this.#reply !== null) this.#reply.onError(err);
    else this.#stream!.onClose(err);
  }
}
