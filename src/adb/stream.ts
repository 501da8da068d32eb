// One ADB stream (a service opened with OPEN), split as Tango splits its sockets: the controller
// holds the stream's state and its transitions, driven by the connection as the device's packets
// come in; the handle is what the stream's user holds (write, close) and nothing more.

import { AdbError } from './errors.js';

/** Callbacks of a stream's user. They run on the socket's data path: they must not throw. */
export interface StreamHandler {
  /** the device answered OPEN with OKAY */
  onOpen(): void;
  /** one WRTE payload (a view into the receive buffer: copy it to keep it past a later chunk) */
  onData(data: Buffer): void;
  /** the stream ended: null when the device closed it, an error when it refused it or the connection died */
  onClose(err: AdbError | null): void;
  /**
   * The device refused the OPEN. When given, called instead of onClose with PROTOCOL_ERROR: a
   * caller for whom a refusal is an ordinary answer (a ping) pays for no Error and its stack.
   */
  onRefused?(): void;
  /**
   * The device acknowledged a WRTE and nothing of ours waits to be sent: a writer that keeps one
   * payload queued behind the one in flight writes its next one now (streamed pushes).
   */
  onDrain?(): void;
}

export interface StreamHandle {
  readonly localId: number;
  /**
   * Queues data for the device. Without delayed_ack only one WRTE may be in flight per stream
   * (protocol.txt), so the rest waits here until the device's OKAY: the caller bounds what it queues.
   */
  write(data: Buffer): void;
  /** Bytes written but not yet sent, waiting for the device's OKAY of the WRTE in flight. */
  readonly queued: number;
  /**
   * Withholds the OKAY of the device's WRTEs from now on (each is still handed to onData): without
   * delayed_ack the device sends nothing more on this stream until resume(), so a slow consumer
   * (a file being written) holds at most one payload more than it asked for.
   */
  pause(): void;
  /** Sends the OKAY withheld since pause(), if any. */
  resume(): void;
  /** Sends CLSE (once the device has answered OPEN) and forgets the stream; no more callbacks. */
  close(): void;
}

/**
 * What a stream needs from its connection `C`: packets out, and the connection's stream table.
 * One owner serves every connection (it gets the connection as an argument): an object of
 * closures per connection cost ~2 KiB of heap each, as much as the rest of an idle connection.
 */
export interface StreamOwner<C> {
  address(conn: C): string;
  /** the device's largest WRTE payload (negotiated in CNXN) */
  maxPayload(conn: C): number;
  sendWrite(conn: C, localId: number, remoteId: number, data: Buffer): void;
  sendOkay(conn: C, localId: number, remoteId: number): void;
  /** The stream is over: drop it from the table; CLSE goes out unless the device closed it. */
  ended(conn: C, localId: number, remoteId: number, byDevice: boolean): void;
  /** One more (+1) or one fewer (-1) OPEN we gave up on that the device has not answered. */
  unanswered(conn: C, delta: 1 | -1): void;
}

const Phase = { Opening: 0, Open: 1, Closed: 2 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

export class StreamController<C> {
  readonly localId: number;
  /** the user's side of this stream */
  readonly handle: StreamHandle;
  #remoteId = 0;
  #phase: Phase = Phase.Opening;
  /** closed by us before the device answered OPEN: its OKAY must be answered with CLSE */
  #abandoned = false;
  /** a WRTE of ours awaits the device's OKAY */
  #writing = false;
  #queue: Buffer[] | null = null;
  #queued = 0;
  #paused = false;
  /** a WRTE of the device arrived while paused: its OKAY goes out on resume() */
  #ackOwed = false;
  readonly #handler: StreamHandler;
  readonly #owner: StreamOwner<C>;
  readonly #conn: C;

  constructor(owner: StreamOwner<C>, conn: C, localId: number, handler: StreamHandler) {
    this.#owner = owner;
    this.#conn = conn;
    this.localId = localId;
    this.#handler = handler;
    this.handle = new Stream(this);
  }

  // The user's side, reached through the handle.

  write(data: Buffer): void {
    if (this.#phase === Phase.Closed || this.#abandoned) return;
    const max = this.#owner.maxPayload(this.#conn);
    for (let off = 0; off < data.length; off += max) {
      const piece = data.length <= max ? data : data.subarray(off, off + max);
      (this.#queue ??= []).push(piece);
      this.#queued += piece.length;
    }
    this.#flush();
  }

  get queued(): number {
    return this.#queued;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    if (!this.#ackOwed || this.#phase !== Phase.Open) return;
    this.#ackOwed = false;
    this.#owner.sendOkay(this.#conn, this.localId, this.#remoteId);
  }

  close(): void {
    if (this.#phase === Phase.Closed || this.#abandoned) return;
    this.#queue = null;
    this.#queued = 0;
    if (this.#phase === Phase.Opening) {
      this.#abandoned = true; // the CLSE goes out when the device's OKAY tells us its id
      this.#owner.unanswered(this.#conn, 1);
      return;
    }
    this.#end(false);
  }

  // The device's side: the connection hands over this stream's packets.

  /** OKAY: the first one accepts our OPEN, later ones acknowledge our WRTE. */
  okay(remoteId: number): void {
    if (this.#phase === Phase.Opening) {
      this.#remoteId = remoteId;
      this.#phase = Phase.Open;
      if (this.#abandoned) {
        this.#owner.unanswered(this.#conn, -1);
        return this.#end(false);
      }
      this.#handler.onOpen();
      this.#flush();
    } else if (this.#phase === Phase.Open && remoteId === this.#remoteId) {
      this.#writing = false;
      this.#flush();
      if (this.#queue === null && this.#phase === Phase.Open) this.#handler.onDrain?.();
    }
  }

  /** WRTE: acknowledged at once (the user keeps at most its byte cap and counts the rest), unless paused. */
  data(remoteId: number, payload: Buffer): void {
    if (this.#phase !== Phase.Open || remoteId !== this.#remoteId) return;
    if (this.#paused) this.#ackOwed = true;
    else this.#owner.sendOkay(this.#conn, this.localId, remoteId);
    this.#handler.onData(payload);
  }

  /** CLSE: the device closed the stream, or (before answering OPEN) refused it. */
  remoteClose(remoteId: number): void {
    if (this.#phase === Phase.Open && remoteId !== this.#remoteId) return;
    const refused = this.#phase === Phase.Opening;
    this.#end(true);
    if (this.#abandoned) {
      if (refused) this.#owner.unanswered(this.#conn, -1);
      return;
    }
    if (refused && this.#handler.onRefused !== undefined) return this.#handler.onRefused();
    this.#handler.onClose(refused ? new AdbError('PROTOCOL_ERROR', this.#owner.address(this.#conn), 'the device refused to open the service') : null);
  }

  /** The connection ended under the stream (it has already forgotten it). */
  lost(err: AdbError): void {
    if (this.#phase === Phase.Closed) return;
    this.#phase = Phase.Closed;
    this.#queue = null;
    this.#queued = 0;
    if (!this.#abandoned) this.#handler.onClose(err);
  }

  /** Sends the next queued piece if the device has acknowledged the previous one. */
  #flush(): void {
    if (this.#phase !== Phase.Open || this.#writing || this.#queue === null) return;
    const next = this.#queue.shift();
    if (this.#queue.length === 0) this.#queue = null;
    if (next === undefined) return;
    this.#queued -= next.length;
    this.#writing = true;
    this.#owner.sendWrite(this.#conn, this.localId, this.#remoteId, next);
  }

  #end(byDevice: boolean): void {
    this.#phase = Phase.Closed;
    this.#queue = null;
    this.#queued = 0;
    this.#owner.ended(this.#conn, this.localId, this.#remoteId, byDevice);
  }
}

/** The handle: the user's view of a stream, with none of the controller's transitions. */
class Stream<C> implements StreamHandle {
  readonly #controller: StreamController<C>;

  constructor(controller: StreamController<C>) {
    this.#controller = controller;
  }

  get localId(): number {
    return this.#controller.localId;
  }

  write(data: Buffer): void {
    this.#controller.write(data);
  }

  get queued(): number {
    return this.#controller.queued;
  }

  pause(): void {
    this.#controller.pause();
  }

  resume(): void {
    this.#controller.resume();
  }

  close(): void {
    this.#controller.close();
  }
}
