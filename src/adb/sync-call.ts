// One file sync request on its own `sync:` stream (SYNC.TXT): what STAT, LIST, SEND and RECV share.
// The stream's lifecycle as an exec has it (OPEN answered within openTimeoutMs, the call's own
// deadline, cancel), the device's answers read as sync frames, a FAIL turned into SYNC_FAILED
// with the device's message. The operations (sync-ops.ts, sync-push.ts, sync-pull.ts) supply the
// request, the shapes of the answers they expect, and what to do with them.

import { AdbError, TransferError } from './errors.js';
import type { CancelSignal, ExecTarget } from './exec.js';
import type { StreamHandle, StreamHandler } from './stream.js';
import { SYNC_HEADER_SIZE, SyncId, SyncProtocolError, SyncReader, syncHeader, syncIdName, type SyncShape } from './wire/index.js';

export interface SyncOptions {
  /** the whole call; past it the stream is closed and the call rejects with TIMEOUT */
  timeoutMs?: number;
  /** aborting closes the stream and rejects with CANCELLED */
  signal?: CancelSignal;
}

/** What a sync call needs from a connection: exec's, and the largest WRTE the device takes. */
export interface SyncTarget extends ExecTarget {
  readonly maxPayload: number;
}

/** A FAIL's message: adbd's are short ("open failed: No such file or directory"); more is not a device's. */
const FAIL_MAX = 64 * 1024;
export const FAIL_SHAPE: SyncShape = { headerSize: SYNC_HEADER_SIZE, lengthAt: 4, streamed: false, maxLength: FAIL_MAX };
/** An answer that is the header alone (OKAY after a SEND, DONE after a RECV: their length means nothing). */
export const BARE_SHAPE: SyncShape = { headerSize: SYNC_HEADER_SIZE, lengthAt: null, streamed: false, maxLength: 0 };
const QUIT = syncHeader(SyncId.QUIT, 0);

export abstract class SyncCall<T> implements StreamHandler {
  protected readonly target: SyncTarget;
  protected stream: StreamHandle | null = null;
  protected done = false;
  readonly #opts: SyncOptions;
  readonly #what: string;
  readonly #reader: SyncReader;
  #resolve!: (v: T) => void;
  #reject!: (e: AdbError | TransferError) => void;
  #timer: NodeJS.Timeout | null = null;
  #deadline = Infinity;
  #opened = false;
  #onAbort: (() => void) | null = null;

  /** what: the request in words, for errors ("push to /sdcard/x") */
  constructor(target: SyncTarget, what: string, opts: SyncOptions) {
    this.target = target;
    this.#what = what;
    this.#opts = opts;
    this.#reader = new SyncReader((id) => (id === SyncId.FAIL ? FAIL_SHAPE : this.shape(id)), {
      frame: (id, header, body) => (id === SyncId.FAIL ? this.#deviceFailed(body) : this.onFrame(id, header, body)),
      data: (piece) => this.onPiece(piece),
    });
  }

  /** The answer's shape for an id this request expects, null for any other. */
  protected abstract shape(id: number): SyncShape | null;
  /** The request goes out: the stream is open. */
  protected abstract begin(): void;
  /** a frame this request expects (shape gave it one); body: its gathered variable part (a DENT's name) */
  protected abstract onFrame(id: number, header: Buffer, body: Buffer): void;
  protected onPiece(_piece: Buffer): void {}
  /** The call failed: release what the operation holds (a file); the call rejects once this is done. */
  protected cleanup(): Promise<void> | void {}

  run(): Promise<T> {
    const promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const { signal, timeoutMs } = this.#opts;
    const address = this.target.address;
    if (signal?.aborted === true) {
      this.fail(new AdbError('CANCELLED', address, `${this.#what}: aborted before start`));
      return promise;
    }
    try {
      this.stream = this.target.openStream('sync:', this);
    } catch (e) {
      this.fail(e instanceof AdbError ? e : new AdbError('CONNECTION_LOST', address, String(e)));
      return promise;
    }
    const now = Date.now();
    if (timeoutMs !== undefined) this.#deadline = now + timeoutMs;
    this.#arm(Math.min(now + this.target.openTimeoutMs, this.#deadline) - now);
    if (signal !== undefined) {
      this.#onAbort = () => this.fail(new AdbError('CANCELLED', address, `${this.#what}: aborted`));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    return promise;
  }

  onOpen(): void {
    this.#opened = true;
    this.begin();
  }

  onData(data: Buffer): void {
    if (this.done) return;
    try {
      this.#reader.push(data);
    } catch (e) {
      if (!(e instanceof SyncProtocolError)) throw e;
      this.fail(new AdbError('PROTOCOL_ERROR', this.target.address, `${this.#what}: sync: ${e.message}`));
    }
  }

  onClose(err: AdbError | null): void {
    this.stream = null;
    this.fail(err ?? new AdbError('CONNECTION_LOST', this.target.address, `${this.#what}: the device closed the sync stream before answering`));
  }

  protected succeed(value: T): void {
    if (this.done) return;
    this.done = true;
    // QUIT ends adbd's sync loop as adb's own client does; the CLSE that follows ends the stream.
    this.stream?.write(QUIT);
    this.#finish();
    this.#resolve(value);
  }

  protected fail(e: AdbError | TransferError): void {
    if (this.done) return;
    this.done = true;
    this.#finish();
    const cleaned = this.cleanup();
    if (cleaned === undefined) this.#reject(e);
    else void cleaned.then(() => this.#reject(e));
  }

  /** A local file could not be read or written: the device is not to blame. */
  protected localFailed(e: unknown, path: string): void {
    const err = e as NodeJS.ErrnoException;
    this.fail(new TransferError('LOCAL_IO', this.target.address, `${this.#what}: ${path}: ${err.code ?? err.message}`, { cause: e }));
  }

  #deviceFailed(body: Buffer): void {
    this.fail(new TransferError('SYNC_FAILED', this.target.address, `${this.#what}: ${body.toString('utf8')}`));
  }

  protected unexpected(id: number): void {
    this.fail(new AdbError('PROTOCOL_ERROR', this.target.address, `${this.#what}: sync: unexpected ${syncIdName(id)}`));
  }

  #arm(ms: number): void {
    if (ms !== Infinity) this.#timer = setTimeout(this.#onTimer, Math.max(0, ms));
  }

  #onTimer = (): void => {
    this.#timer = null;
    const address = this.target.address;
    if (!this.#opened) return this.fail(new AdbError('OPEN_UNANSWERED', address, `${this.#what}: no answer to OPEN sync: within ${Math.min(this.target.openTimeoutMs, this.#opts.timeoutMs ?? Infinity)} ms`));
    const left = this.#deadline - Date.now();
    if (left > 0) return this.#arm(left);
    this.fail(new AdbError('TIMEOUT', address, `${this.#what}: not done within ${this.#opts.timeoutMs} ms`));
  };

  #finish(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#onAbort !== null) this.#opts.signal?.removeEventListener('abort', this.#onAbort);
    this.#onAbort = null;
    const stream = this.stream;
    this.stream = null;
    stream?.close();
  }
}
