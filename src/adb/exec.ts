// Running one shell command on a stream: `shell,v2,raw:CMD` when the device speaks shell v2
// (separate stdout/stderr and an exit code), else the v1 `shell:CMD` (one output, no exit code).
// One promise per exec; the data path is callbacks on Buffers.

import { AdbError } from './errors.js';
import { CLOSE_STDIN, FROM_DEVICE, ShellId, ShellV2Error, ShellV2Parser } from './wire/index.js';
import type { StreamHandle, StreamHandler } from './stream.js';

/**
 * What exec and the pool use of an AbortSignal: an AbortSignal is one. The worker passes a plain
 * object instead (dispatch/lane.ts): an AbortController per job cost ~5% of its CPU per command.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface ExecOptions {
  /** the stream is closed (the device SIGHUPs the shell) and the call rejects with TIMEOUT */
  timeoutMs?: number;
  /** output kept (stdout and stderr together); the rest is counted and drained */
  maxOutputBytes: number;
  /** aborting closes the stream and rejects with CANCELLED */
  signal?: CancelSignal;
}

export interface ExecResult {
  stdout: Buffer;
  stderr: Buffer;
  /** stdout and stderr in arrival order, at most maxOutputBytes */
  combined: Buffer;
  /** null with shell v1, or when the shell ended without reporting a status */
  exitCode: number | null;
  /** every output byte produced, kept or not */
  outputBytes: number;
  truncated: boolean;
}

/** What exec needs from a connection. */
export interface ExecTarget {
  readonly address: string;
  readonly features: readonly string[];
  /** how long the device may take to answer the OPEN (then OPEN_UNANSWERED) */
  readonly openTimeoutMs: number;
  openStream(service: string, handler: StreamHandler): StreamHandle;
}

export function execOn(target: ExecTarget, command: string, opts: ExecOptions): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve, reject) => {
    const exec = new Exec(target, command, opts, resolve, reject);
    exec.start();
  });
}

class Exec implements StreamHandler {
  readonly #target: ExecTarget;
  readonly #command: string;
  readonly #opts: ExecOptions;
  readonly #resolve: (r: ExecResult) => void;
  readonly #reject: (e: AdbError) => void;
  readonly #max: number;
  readonly #v2: boolean;
  #parser: ShellV2Parser | null = null;
  #stream: StreamHandle | null = null;
  /** one timer: first for the OPEN's answer (or the deadline if sooner), then for the deadline */
  #timer: NodeJS.Timeout | null = null;
  #deadline = Infinity;
  #opened = false;
  #done = false;
  /** kept output in arrival order, fd 1 or 2 per piece */
  #pieces: Buffer[] = [];
  #fds: number[] = [];
  #kept = 0;
  #total = 0;
  #exitCode: number | null = null;
  #onAbort: (() => void) | null = null;

  constructor(target: ExecTarget, command: string, opts: ExecOptions, resolve: (r: ExecResult) => void, reject: (e: AdbError) => void) {
    this.#target = target;
    this.#command = command;
    this.#opts = opts;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#max = opts.maxOutputBytes;
    this.#v2 = target.features.includes('shell_v2');
  }

  start(): void {
    const { signal, timeoutMs } = this.#opts;
    if (signal?.aborted === true) return this.#fail(new AdbError('CANCELLED', this.#target.address, 'aborted before start'));
    if (this.#v2) this.#parser = new ShellV2Parser((id, data) => this.#onShellPacket(id, data), FROM_DEVICE);
    try {
      this.#stream = this.#target.openStream(this.#v2 ? `shell,v2,raw:${this.#command}` : `shell:${this.#command}`, this);
    } catch (e) {
      return this.#fail(e instanceof AdbError ? e : new AdbError('CONNECTION_LOST', this.#target.address, String(e)));
    }
    const now = Date.now();
    if (timeoutMs !== undefined) this.#deadline = now + timeoutMs;
    this.#arm(Math.min(now + this.#target.openTimeoutMs, this.#deadline) - now);
    if (signal !== undefined) {
      this.#onAbort = () => this.#fail(new AdbError('CANCELLED', this.#target.address, 'aborted'));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  onOpen(): void {
    this.#opened = true;
    if (this.#v2) this.#stream?.write(CLOSE_STDIN);
  }

  onData(data: Buffer): void {
    if (this.#done) return;
    if (this.#parser === null) return this.#output(ShellId.Stdout, data);
    try {
      this.#parser.push(data);
    } catch (e) {
      if (!(e instanceof ShellV2Error)) throw e;
      // As adb's host does on a bad shell packet, this stream is given up (CLSE); the connection
      // and its other streams carry on.
      this.#fail(new AdbError('PROTOCOL_ERROR', this.#target.address, `shell v2: ${e.message}`));
    }
  }

  #arm(ms: number): void {
    if (ms !== Infinity) this.#timer = setTimeout(this.#onTimer, Math.max(0, ms));
  }

  #onTimer = (): void => {
    this.#timer = null;
    const address = this.#target.address;
    // Unanswered, the OPEN started nothing as far as the host can tell, whichever time ran out.
    if (!this.#opened) return this.#fail(new AdbError('OPEN_UNANSWERED', address, `no answer within ${Math.min(this.#target.openTimeoutMs, this.#opts.timeoutMs ?? Infinity)} ms; the command was not started`));
    const left = this.#deadline - Date.now();
    if (left > 0) return this.#arm(left);
    this.#fail(new AdbError('TIMEOUT', address, `no exit within ${this.#opts.timeoutMs} ms`));
  };

  onClose(err: AdbError | null): void {
    this.#stream = null; // already closed: #finish must not send CLSE
    if (err !== null) return this.#fail(err);
    if (this.#done) return;
    // Shell v2 always ends with an exit packet; a stream closed without one ended abnormally.
    if (this.#v2 && this.#exitCode === null) {
      return this.#fail(new AdbError('CONNECTION_LOST', this.#target.address, 'the shell stream closed without an exit status'));
    }
    this.#finish();
    this.#done = true;
    this.#resolve(this.#result());
  }

  #onShellPacket(id: number, data: Buffer): void {
    if (id === ShellId.Stdout || id === ShellId.Stderr) this.#output(id, data);
    else if (id === ShellId.Exit && data.length > 0) this.#exitCode = data[0]!;
    // Other ids (stdin echo, window size) do not occur from a device; ignore them.
  }

  #output(fd: number, data: Buffer): void {
    this.#total += data.length;
    const room = this.#max - this.#kept;
    if (room <= 0 || data.length === 0) return;
    // A copy: data is a view into a read buffer the next read reuses.
    const piece = Buffer.from(data.length <= room ? data : data.subarray(0, room));
    this.#pieces.push(piece);
    this.#fds.push(fd);
    this.#kept += piece.length;
  }

  #result(): ExecResult {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    for (let i = 0; i < this.#pieces.length; i++) (this.#fds[i] === ShellId.Stderr ? err : out).push(this.#pieces[i]!);
    return {
      stdout: Buffer.concat(out),
      stderr: Buffer.concat(err),
      combined: Buffer.concat(this.#pieces, this.#kept),
      exitCode: this.#exitCode,
      outputBytes: this.#total,
      truncated: this.#total > this.#kept,
    };
  }

  #fail(e: AdbError): void {
    if (this.#done) return;
    this.#finish();
    this.#done = true;
    // A command cut short still printed something: callers store it with the failure.
    if (this.#total === 0) return this.#reject(e);
    const { stdout, stderr, combined, outputBytes, truncated } = this.#result();
    this.#reject(e.withPartial({ stdout, stderr, combined, outputBytes, truncated }));
  }

  /** Stops the timer and abort listener; closes the stream if it is still open. */
  #finish(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#onAbort !== null) this.#opts.signal?.removeEventListener('abort', this.#onAbort);
    this.#onAbort = null;
    const stream = this.#stream;
    this.#stream = null;
    stream?.close();
  }
}
