// One ADB stream (a service opened with OPEN) as the connection's dispatcher sees it.
// The public face is StreamHandle (write, close); the connection drives the rest.

import type { AdbError } from './errors.js';

/** Callbacks of a stream's user. They run on the socket's data path: they must not throw. */
export interface StreamHandler {
  /** the device answered OPEN with OKAY */
  onOpen(): void;
  /** one WRTE payload (a view into the receive buffer: copy it to keep it past a later chunk) */
  onData(data: Buffer): void;
  /** the stream ended: null when the device closed it, an error when it refused it or the connection died */
  onClose(err: AdbError | null): void;
}

export interface StreamHandle {
  readonly localId: number;
  /**
   * Queues data for the device. Without delayed_ack only one WRTE may be in flight per stream
   * (protocol.txt), so the rest waits here until the device's OKAY: the caller bounds what it queues.
   */
  write(data: Buffer): void;
  /** Sends CLSE (once the device has answered OPEN) and forgets the stream; no more callbacks. */
  close(): void;
}

export const StreamPhase = { Opening: 0, Open: 1, Closed: 2 } as const;
export type StreamPhase = (typeof StreamPhase)[keyof typeof StreamPhase];

/** What the stream needs from its connection. */
export interface StreamOwner {
  sendWrite(stream: Stream, data: Buffer): void;
  closeStream(stream: Stream): void;
  readonly maxPayload: number;
}

export class Stream implements StreamHandle {
  readonly localId: number;
  remoteId = 0;
  phase: StreamPhase = StreamPhase.Opening;
  /** closed by us before the device answered OPEN: its OKAY must be answered with CLSE */
  abandoned = false;
  /** a WRTE of ours awaits the device's OKAY */
  writing = false;
  #queue: Buffer[] | null = null;
  readonly handler: StreamHandler;
  readonly #owner: StreamOwner;

  constructor(owner: StreamOwner, localId: number, handler: StreamHandler) {
    this.#owner = owner;
    this.localId = localId;
    this.handler = handler;
  }

  write(data: Buffer): void {
    if (this.phase === StreamPhase.Closed || this.abandoned) return;
    const max = this.#owner.maxPayload;
    for (let off = 0; off < data.length; off += max) {
      const piece = data.length <= max ? data : data.subarray(off, off + max);
      (this.#queue ??= []).push(piece);
    }
    this.flush();
  }

  /** Sends the next queued piece if the device has acknowledged the previous one. */
  flush(): void {
    if (this.phase !== StreamPhase.Open || this.writing || this.#queue === null) return;
    const next = this.#queue.shift();
    if (this.#queue.length === 0) this.#queue = null;
    if (next === undefined) return;
    this.writing = true;
    this.#owner.sendWrite(this, next);
  }

  close(): void {
    if (this.phase === StreamPhase.Closed || this.abandoned) return;
    this.#queue = null;
    this.#owner.closeStream(this);
  }
}
