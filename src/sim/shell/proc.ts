// A running command, pulled by its stream: read() hands out at most `max` bytes at a time, so
// output is produced only as fast as the host acknowledges it (`seq 1 1000000` is never held whole).

interface Output {
  fd: 1 | 2;
  data: Buffer;
}

export const WAIT = 'wait' as const;
export const EOF = 'eof' as const;
export type ReadResult = Output | typeof WAIT | typeof EOF;

export interface Proc {
  /** Next output (at most max bytes), WAIT (call wake later), or EOF (exitCode is final). */
  read(max: number): ReadResult;
  readonly exitCode: number;
  /** Set by the driver; the proc calls it when a WAIT is over. */
  wake: () => void;
  /** Hang-up: release timers; read() answers EOF afterwards. */
  kill(): void;
  /** True for `exit`: the enclosing list stops there. */
  readonly exits: boolean;
  /**
   * Data the host typed (shell v2 id 0, or raw WRTE for v1), in any chunking; a view into the
   * receive buffer, so copy what is kept. Most commands ignore it.
   */
  stdin?(data: Buffer): void;
  closeStdin?(): void;
}

/** Output known up front (almost every command). */
export class BufferedProc implements Proc {
  #chunks: Output[];
  readonly exitCode: number;
  readonly exits: boolean;
  wake = (): void => {};

  constructor(out: string | Buffer, err: string | Buffer, exitCode: number, exits = false) {
    this.#chunks = [];
    if (out.length > 0) this.#chunks.push({ fd: 1, data: typeof out === 'string' ? Buffer.from(out) : out });
    if (err.length > 0) this.#chunks.push({ fd: 2, data: typeof err === 'string' ? Buffer.from(err) : err });
    this.exitCode = exitCode;
    this.exits = exits;
  }

  read(max: number): ReadResult {
    const c = this.#chunks[0];
    if (c === undefined) return EOF;
    if (c.data.length <= max) {
      this.#chunks.shift();
      return c;
    }
    const head = c.data.subarray(0, max);
    c.data = c.data.subarray(max);
    return { fd: c.fd, data: head };
  }

  kill(): void {
    this.#chunks = [];
  }
}

/** `seq`: lines generated on demand. */
export class SeqProc implements Proc {
  #next: number;
  readonly #last: number;
  readonly #step: number;
  #carry: Buffer | null = null;
  readonly exitCode = 0;
  readonly exits = false;
  wake = (): void => {};

  constructor(first: number, step: number, last: number) {
    this.#next = first;
    this.#step = step;
    this.#last = last;
  }

  read(max: number): ReadResult {
    if (this.#carry !== null) {
      const c = this.#carry;
      this.#carry = c.length > max ? c.subarray(max) : null;
      return { fd: 1, data: c.subarray(0, max) };
    }
    if (this.#step > 0 ? this.#next > this.#last : this.#next < this.#last) return EOF;
    let s = '';
    while (this.#step > 0 ? this.#next <= this.#last : this.#next >= this.#last) {
      const line = `${this.#next}\n`;
      if (s.length + line.length > max && s.length > 0) break;
      s += line;
      this.#next += this.#step;
    }
    const data = Buffer.from(s, 'latin1');
    if (data.length > max) {
      this.#carry = data.subarray(max);
      return { fd: 1, data: data.subarray(0, max) };
    }
    return { fd: 1, data };
  }

  kill(): void {
    this.#next = this.#step > 0 ? Infinity : -Infinity;
    this.#carry = null;
  }
}

/** `sleep`, and anything else that just waits (a `reboot` that never returns uses Infinity). */
export class SleepProc implements Proc {
  #timer: NodeJS.Timeout | null = null;
  #done = false;
  readonly #ms: number;
  readonly exitCode = 0;
  readonly exits = false;
  wake = (): void => {};

  constructor(ms: number) {
    this.#ms = ms;
  }

  read(): ReadResult {
    if (this.#done) return EOF;
    if (this.#timer === null && Number.isFinite(this.#ms)) {
      // setTimeout caps at 2^31-1 ms; longer sleeps wake up early and go back to sleep.
      this.#timer = setTimeout(() => {
        this.#done = true;
        this.wake();
      }, Math.min(this.#ms, 0x7fffffff));
    }
    return WAIT;
  }

  kill(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#done = true;
  }
}

/** `a; b && c || d`: runs each in turn, with mksh's rules for && and ||. */
export class ListProc implements Proc {
  readonly #items: { op: string; start: () => Proc }[];
  #index = 0;
  #current: Proc | null = null;
  #status = 0;
  #finished = false;
  readonly exits = false;
  wake = (): void => {};

  constructor(items: { op: string; start: () => Proc }[]) {
    this.#items = items;
  }

  get exitCode(): number {
    return this.#status;
  }

  read(max: number): ReadResult {
    for (;;) {
      if (this.#finished) return EOF;
      if (this.#current === null) {
        const item = this.#items[this.#index++];
        if (item === undefined) {
          this.#finished = true;
          return EOF;
        }
        if ((item.op === '&&' && this.#status !== 0) || (item.op === '||' && this.#status === 0)) continue;
        this.#current = item.start();
        this.#current.wake = () => this.wake();
      }
      const r = this.#current.read(max);
      if (r !== EOF) return r;
      this.#status = this.#current.exitCode;
      if (this.#current.exits) this.#finished = true;
      this.#current = null;
    }
  }

  kill(): void {
    this.#current?.kill();
    this.#finished = true;
  }
}

/** Drains a proc completely (unit tests and small helpers; never on the network path). */
export function runToEnd(proc: Proc, max = 65536): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  return new Promise((resolve) => {
    const pump = (): void => {
      for (;;) {
        const r = proc.read(max);
        if (r === WAIT) return;
        if (r === EOF) {
          resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), exitCode: proc.exitCode });
          return;
        }
        (r.fd === 1 ? out : err).push(r.data);
      }
    };
    proc.wake = pump;
    pump();
  });
}
