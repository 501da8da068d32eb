// `exec:CMD`: the command's stdout as raw bytes, with no shell protocol and no pty (adbd's
// services.cpp), so `screencap -p` arrives byte for byte. Streamed to a sink with backpressure:
// when the sink's buffer is full the stream is paused (its OKAYs withheld) and the device waits.
// No exit status and no stderr exist on this service; the call ends when the device closes it.

import type { Writable } from 'node:stream';
import { AdbError, TransferError } from './errors.js';
import type { CancelSignal, ExecTarget } from './exec.js';
import type { StreamHandle, StreamHandler } from './stream.js';

export interface RawExecOptions {
  /** the whole call; past it the stream is closed (the command is hung up on) and the call rejects with TIMEOUT */
  timeoutMs?: number;
  signal?: CancelSignal;
  /** stop (and fail with OUTPUT_LIMIT) past this many bytes; default: no limit */
  maxBytes?: number;
}

export interface RawExecResult {
  /** bytes written to the sink */
  bytes: number;
}

/** The sink is ended when the device closes the stream, not on failure (the caller owns it then). */
export function execRawOn(target: ExecTarget, command: string, sink: Writable, opts: RawExecOptions): Promise<RawExecResult> {
  return new Promise<RawExecResult>((resolve, reject) => new RawExec(target, command, sink, opts, resolve, reject).start());
}

class RawExec implements StreamHandler {
  readonly #target: ExecTarget;
  readonly #command: string;
  readonly #sink: Writable;
  readonly #opts: RawExecOptions;
  readonly #resolve: (r: RawExecResult) => void;
  readonly #reject: (e: AdbError | TransferError) => void;
  #stream: StreamHandle | null = null;
  #timer: NodeJS.Timeout | null = null;
  #deadline = Infinity;
  #opened = false;
  #done = false;
  #bytes = 0;
  #onAbort: (() => void) | null = null;
  readonly #onDrain = (): void => this.#stream?.resume();
  readonly #onSinkError = (e: Error): void => this.#fail(new TransferError('LOCAL_IO', this.#target.address, `exec ${this.#command}: the output sink failed: ${e.message}`, { cause: e }));

  constructor(target: ExecTarget, command: string, sink: Writable, opts: RawExecOptions, resolve: (r: RawExecResult) => void, reject: (e: AdbError | TransferError) => void) {
    this.#target = target;
    this.#command = command;
    this.#sink = sink;
    this.#opts = opts;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  start(): void {
    const { signal, timeoutMs } = this.#opts;
    const address = this.#target.address;
    if (signal?.aborted === true) return this.#fail(new AdbError('CANCELLED', address, 'aborted before start'));
    try {
      this.#stream = this.#target.openStream(`exec:${this.#command}`, this);
    } catch (e) {
      return this.#fail(e instanceof AdbError ? e : new AdbError('CONNECTION_LOST', address, String(e)));
    }
    this.#sink.on('drain', this.#onDrain);
    this.#sink.on('error', this.#onSinkError);
    const now = Date.now();
    if (timeoutMs !== undefined) this.#deadline = now + timeoutMs;
    this.#arm(Math.min(now + this.#target.openTimeoutMs, this.#deadline) - now);
    if (signal !== undefined) {
      this.#onAbort = () => this.#fail(new AdbError('CANCELLED', address, 'aborted'));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  onOpen(): void {
    this.#opened = true;
  }

  onData(data: Buffer): void {
    if (this.#done) return;
    this.#bytes += data.length;
    const max = this.#opts.maxBytes;
    if (max !== undefined && this.#bytes > max) {
      return this.#fail(new TransferError('OUTPUT_LIMIT', this.#target.address, `exec ${this.#command}: more than ${max} bytes of output`));
    }
    // A copy: data is a view into a read buffer the next read reuses, and the sink keeps it.
    if (!this.#sink.write(Buffer.from(data))) this.#stream?.pause();
  }

  onClose(err: AdbError | null): void {
    this.#stream = null;
    if (err !== null) return this.#fail(err);
    if (this.#done) return;
    this.#done = true;
    this.#finish();
    const bytes = this.#bytes;
    this.#sink.end(() => this.#resolve({ bytes }));
  }

  #arm(ms: number): void {
    if (ms !== Infinity) this.#timer = setTimeout(this.#onTimer, Math.max(0, ms));
  }

  #onTimer = (): void => {
    this.#timer = null;
    const address = this.#target.address;
    if (!this.#opened) return this.#fail(new AdbError('OPEN_UNANSWERED', address, `no answer within ${Math.min(this.#target.openTimeoutMs, this.#opts.timeoutMs ?? Infinity)} ms; the command was not started`));
    const left = this.#deadline - Date.now();
    if (left > 0) return this.#arm(left);
    this.#fail(new AdbError('TIMEOUT', address, `exec ${this.#command}: no end within ${this.#opts.timeoutMs} ms`));
  };

  #fail(e: AdbError | TransferError): void {
    if (this.#done) return;
    this.#done = true;
    this.#finish();
    this.#reject(e);
  }

  #finish(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#onAbort !== null) this.#opts.signal?.removeEventListener('abort', this.#onAbort);
    this.#onAbort = null;
    this.#sink.off('drain', this.#onDrain);
    this.#sink.off('error', this.#onSinkError);
    const stream = this.#stream;
    this.#stream = null;
    stream?.close();
  }
}
