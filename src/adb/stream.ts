// One ADB stream (a service opened with OPEN), split as Tango splits its sockets: the controller
// holds the stream's state and its transitions, driven by the connection as the device's packets
// come in; the handle is what the stream's user holds (write, close) and nothing more.

import { AdbError } from './errors.js';

/** Callbacks of a stream's user. They run on the socket's data path: they must not throw. */
export interface StreamHandler {
  /** the device answered OPEN with OKAY */
  onOpen(): void;
  /**
   * WRTE payload bytes, in order: a whole payload or a piece of one (a big WRTE is handed on as
   * its bytes arrive). A view into the read buffer, valid only during the call (socket.ts: the
   * next read reuses it): copy what is kept.
   */
  onData(data: Buffer): void;
  /** the stream ended: null when the device closed it, an error when it refused it or the connection died */
  onClose(err: AdbError | null): void;
  /**
   * The device refused the OPEN. When given, called instead of onClose with PROTOCOL_ERROR: a
   * caller for whom a refusal is an ordinary answer (a ping) pays for no Error and its stack.
   */
  onRefused?(): void;
  /**
   * The device acknowledged bytes of ours and nothing of ours waits to be sent: a writer that keeps
   * one payload queued behind those in flight writes its next one now (streamed pushes).
   */
  onDrain?(): void;
}

export interface StreamHandle {
  readonly localId: number;
  /**
   * Queues data for the device. Without delayed_ack only one WRTE may be in flight per stream
   * (protocol.txt); with it, WRTEs go out while the device's window lasts. The rest waits here
   * for the device's OKAYs: the caller bounds what it queues. The Buffer is sent as it is, not
   * copied: it must not change until `unacknowledged` says the device has it.
   */
  write(data: Buffer): void;
  /** Bytes written but not yet sent, waiting for the device's OKAY (its window). */
  readonly queued: number;
  /**
   * Bytes written that the device has not acknowledged: the queued ones and those in flight.
   * Once it drops to N, all but the last N bytes written reached the device (their Buffers are free).
   */
  readonly unacknowledged: number;
  /**
   * Withholds the OKAY of the device's WRTEs from now on (each is still handed to onData): the
   * device sends nothing more on this stream than its window (one WRTE without delayed_ack; our
   * OPEN's grant with it) until resume(), so a slow consumer (a file being written) holds at most
   * that much more than it asked for.
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
  /** acked: the bytes this OKAY acknowledges (delayed_ack), null for a bare OKAY */
  sendOkay(conn: C, localId: number, remoteId: number, acked: number | null): void;
  /** The stream is over: drop it from the table; CLSE goes out unless the device closed it. */
  ended(conn: C, localId: number, remoteId: number, byDevice: boolean): void;
  /** One more (+1) or one fewer (-1) OPEN we gave up on that the device has not answered. */
  unanswered(conn: C, delta: 1 | -1): void;
}

/**
 * With delayed_ack, what each OPEN grants the device: how far its WRTEs may run ahead of our
 * OKAYs. We acknowledge a WRTE when it arrives (or when a paused consumer resumes), so this
 * covers the round trip, not a consumer's backlog; adb grants 32 MiB, but a pull runs as fast
 * with 1 MiB as with 32 (bench:adb), and a paused pull holds at most this more.
 */
export const DELAYED_ACK_WINDOW = 4 * 1024 * 1024;

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
  /** delayed_ack is in use on this stream's connection (fixed when the stream is made) */
  readonly #delayed: boolean;
  /**
   * What may be sent before the device's next OKAY: with delayed_ack the bytes of its window left
   * (it may go negative: a whole payload goes out while any window is left, as adb does);
   * without, 1 while no WRTE is in flight and 0 while one is.
   */
  #window = 0;
  /** bytes sent in WRTEs that the device has not acknowledged */
  #inFlight = 0;
  #queue: Buffer[] | null = null;
  #queued = 0;
  #paused = false;
  /** a WRTE of the device arrived while paused: its OKAY goes out on resume() */
  #ackOwed = false;
  /** the bytes of the WRTEs whose OKAY is owed (delayed_ack: that OKAY acknowledges them all) */
  #owedBytes = 0;
  readonly #handler: StreamHandler;
  readonly #owner: StreamOwner<C>;
  readonly #conn: C;

  constructor(owner: StreamOwner<C>, conn: C, localId: number, handler: StreamHandler, delayedAck: boolean) {
    this.#owner = owner;
    this.#conn = conn;
    this.localId = localId;
    this.#handler = handler;
    this.#delayed = delayedAck;
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

  get unacknowledged(): number {
    return this.#queued + this.#inFlight;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    if (!this.#ackOwed || this.#phase !== Phase.Open) return;
    this.#ackOwed = false;
    const bytes = this.#owedBytes;
    this.#owedBytes = 0;
    this.#owner.sendOkay(this.#conn, this.localId, this.#remoteId, this.#delayed ? bytes : null);
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

  /**
   * OKAY: the first one accepts our OPEN (with delayed_ack, count is the device's window), later
   * ones acknowledge our WRTEs (count: how many bytes; without delayed_ack count is null and the
   * one WRTE in flight is acknowledged). The connection checks that count is there exactly when
   * delayed_ack is in use.
   */
  okay(remoteId: number, count: number | null): void {
    if (this.#phase === Phase.Opening) {
      this.#remoteId = remoteId;
      this.#phase = Phase.Open;
      this.#window = this.#delayed ? (count ?? 0) : 1;
      if (this.#abandoned) {
        this.#owner.unanswered(this.#conn, -1);
        return this.#end(false);
      }
      this.#handler.onOpen();
      this.#flush();
    } else if (this.#phase === Phase.Open && remoteId === this.#remoteId) {
      if (this.#delayed) {
        const acked = count ?? 0;
        this.#window += acked;
        // A negative count shrinks the window (adb allows it, for backpressure) but takes back no acknowledgement.
        if (acked > 0) this.#inFlight = Math.max(0, this.#inFlight - acked);
      } else {
        this.#window = 1;
        this.#inFlight = 0;
      }
      this.#flush();
      if (this.#queue === null && this.#phase === Phase.Open) this.#handler.onDrain?.();
    }
  }

  /**
   * WRTE payload, whole or a piece (last: the piece that completes a WRTE of length bytes). A WRTE
   * is acknowledged once it is all here (the user keeps at most its byte cap and counts the
   * rest), unless paused.
   */
  data(remoteId: number, piece: Buffer, last = true, length = piece.length): void {
    if (this.#phase !== Phase.Open || remoteId !== this.#remoteId) return;
    if (!last) {
      // nothing to acknowledge yet
    } else if (this.#paused) {
      this.#ackOwed = true;
      this.#owedBytes += length;
    } else this.#owner.sendOkay(this.#conn, this.localId, remoteId, this.#delayed ? length : null);
    this.#handler.onData(piece);
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

  /** Sends queued pieces while the device's window lasts. */
  #flush(): void {
    while (this.#phase === Phase.Open && this.#window > 0 && this.#queue !== null) {
      const next = this.#queue.shift();
      if (this.#queue.length === 0) this.#queue = null;
      if (next === undefined) return;
      this.#queued -= next.length;
      this.#inFlight += next.length;
      this.#window = this.#delayed ? this.#window - next.length : 0;
      this.#owner.sendWrite(this.#conn, this.localId, this.#remoteId, next);
    }
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

  get unacknowledged(): number {
    return this.#controller.unacknowledged;
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
