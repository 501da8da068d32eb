// The virtual Android shell of one instance: parses a command line and starts it as a Proc.
// No host process is ever spawned; everything answers from the instance's DeviceState.
import { StringDecoder } from 'node:string_decoder';
import type { DeviceState } from '../device-state.js';
import { ANDROID_COMMANDS } from './cmd-android.js';
import { BASIC_COMMANDS } from './cmd-basic.js';
import { FS_COMMANDS } from './cmd-fs.js';
import { isProc, type CommandFn } from './command.js';
import { parseCommandLine } from './parse.js';
import { BufferedProc, EOF, ListProc, WAIT, runToEnd, type Proc, type ReadResult } from './proc.js';

const COMMANDS: Record<string, CommandFn> = { ...BASIC_COMMANDS, ...FS_COMMANDS, ...ANDROID_COMMANDS };
const BIN_DIRS = ['/system/bin/', '/system/xbin/', '/vendor/bin/', '/bin/'];

export class VirtualShell {
  readonly device: DeviceState;

  constructor(device: DeviceState) {
    this.device = device;
  }

  /** Starts a command line (`a; b && c`). The returned Proc is pulled by the caller. */
  spawn(line: string): Proc {
    const parsed = parseCommandLine(line);
    if (!parsed.ok) return new BufferedProc('', `/system/bin/sh: ${parsed.error}\n`, 1);
    const list = parsed.list;
    if (list.length === 0) return new BufferedProc('', '', 0);
    if (list.length === 1) return this.#start(list[0]!.argv);
    return new ListProc(list.map((c) => ({ op: c.op, start: () => this.#start(c.argv) })));
  }

  /** Convenience for tests and tools: runs to the end and collects the output. */
  run(line: string): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    return runToEnd(this.spawn(line));
  }

  /** An interactive shell (OPEN `shell:` with no command): reads lines from stdin. */
  interactive(): Proc {
    return new InteractiveProc(this, `${this.device.serial}:/ $ `);
  }

  #start(argv: string[]): Proc {
    let name = argv[0]!;
    let args = argv.slice(1);
    for (const d of BIN_DIRS) if (name.startsWith(d) && !name.slice(d.length).includes('/')) name = name.slice(d.length);
    if (name === 'toybox' && args.length > 0) [name, ...args] = args as [string, ...string[]];
    if ((name === 'sh' || name === 'mksh') && args[0] === '-c' && args[1] !== undefined) return this.spawn(args[1]);
    const fn = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (fn === undefined) return new BufferedProc('', `/system/bin/sh: ${argv[0]}: inaccessible or not found\n`, 127);
    const r = fn(args, this.device);
    if (isProc(r)) return r;
    return new BufferedProc(r.out ?? '', r.err ?? '', r.code ?? 0);
  }
}

/** A line-at-a-time interactive shell: prompt, run, prompt; `exit` or end of stdin ends it. */
class InteractiveProc implements Proc {
  readonly #shell: VirtualShell;
  readonly #prompt: Buffer;
  #pending = '';
  /** stdin arrives in arbitrary pieces: a character split between two must not become U+FFFD */
  readonly #decoder = new StringDecoder('utf8');
  #lines: string[] = [];
  #current: Proc | null = null;
  #promptDue = true;
  #stdinClosed = false;
  #finished = false;
  #status = 0;
  readonly exits = false;
  wake = (): void => {};

  constructor(shell: VirtualShell, prompt: string) {
    this.#shell = shell;
    this.#prompt = Buffer.from(prompt);
  }

  get exitCode(): number {
    return this.#status;
  }

  read(max: number): ReadResult {
    for (;;) {
      if (this.#finished) return EOF;
      if (this.#current !== null) {
        const r = this.#current.read(max);
        if (r !== EOF) return r;
        this.#status = this.#current.exitCode;
        if (this.#current.exits) this.#finished = true;
        this.#current = null;
        this.#promptDue = true;
        continue;
      }
      if (this.#promptDue) {
        this.#promptDue = false;
        return { fd: 1, data: this.#prompt.subarray(0, max) };
      }
      const line = this.#lines.shift();
      if (line !== undefined) {
        this.#current = this.#shell.spawn(line);
        this.#current.wake = () => this.wake();
        continue;
      }
      if (this.#stdinClosed) return EOF;
      return WAIT;
    }
  }

  stdin(data: Buffer): void {
    this.#pending += this.#decoder.write(data);
    let nl: number;
    let added = false;
    while ((nl = this.#pending.search(/\r?\n|\r/)) >= 0) {
      const m = /\r?\n|\r/.exec(this.#pending.slice(nl))!;
      this.#lines.push(this.#pending.slice(0, nl));
      this.#pending = this.#pending.slice(nl + m[0].length);
      added = true;
    }
    if (added) this.wake();
  }

  closeStdin(): void {
    this.#stdinClosed = true;
    this.wake();
  }

  kill(): void {
    this.#current?.kill();
    this.#finished = true;
  }
}
