// Shell protocol v2 (AOSP adb/shell_protocol.h): inside a stream, `[u8 id][u32 LE length][data]`.
// Its packets are independent of WRTE boundaries, so the parser carries state across payloads.
// Both ends use this file: the host reads stdout/stderr/exit, the simulated adbd reads stdin.

import { MAX_PAYLOAD } from './packet.js';

export const ShellId = { Stdin: 0, Stdout: 1, Stderr: 2, Exit: 3, CloseStdin: 4, WindowSizeChange: 5 } as const;
export type ShellId = (typeof ShellId)[keyof typeof ShellId];

export const SHELL_HEADER_SIZE = 5;
const EMPTY = Buffer.alloc(0);

/** What a sender may put in a packet header; anything else is a violation the parser throws on. */
export interface ShellV2Rules {
  readonly ids: readonly number[];
  /** the largest data length a header may announce */
  readonly maxLength: number;
}

/**
 * adbd sends only stdout, stderr and exit, each packet read into one buffer of MAX_PAYLOAD bytes
 * header included (shell_protocol.h), so a longer packet is no device's: without this check a
 * header announcing 2^31 bytes makes the host wait for them until the command's timeout.
 */
export const FROM_DEVICE: ShellV2Rules = {
  ids: [ShellId.Stdout, ShellId.Stderr, ShellId.Exit],
  maxLength: MAX_PAYLOAD - SHELL_HEADER_SIZE,
};

/** A header breaks the sender's rules; the message names how. */
export class ShellV2Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShellV2Error';
  }
}

/** The header alone, for a sender that gathers header and data into one WRTE without copying data twice. */
export function shellHeader(id: ShellId, length: number): Buffer {
  const out = Buffer.allocUnsafe(SHELL_HEADER_SIZE);
  out[0] = id;
  out.writeUInt32LE(length, 1);
  return out;
}

export function encodeShellPacket(id: ShellId, data: Buffer = EMPTY): Buffer {
  const out = Buffer.allocUnsafe(SHELL_HEADER_SIZE + data.length);
  out[0] = id;
  out.writeUInt32LE(data.length, 1);
  data.copy(out, SHELL_HEADER_SIZE);
  return out;
}

/** The close-stdin packet, sent once per exec so commands that read stdin see EOF. */
export const CLOSE_STDIN = encodeShellPacket(ShellId.CloseStdin);

/** Exit packets are the same every time: all 256 are built once. */
const EXIT_PACKETS: readonly Buffer[] = Array.from({ length: 256 }, (_, code) => encodeShellPacket(ShellId.Exit, Buffer.from([code])));
export const EXIT_PACKET_SIZE = SHELL_HEADER_SIZE + 1;

/** The exit packet for a status (its low 8 bits, as a process exit status is). Shared: do not modify. */
export function exitPacket(code: number): Buffer {
  return EXIT_PACKETS[code & 255]!;
}

/**
 * Incremental parser. onData gets each piece of a packet's data as it arrives (a view into the
 * input): a large packet comes out in several pieces with the same id, never copied or buffered
 * here, so a packet's announced length costs nothing (adbd's shell_protocol.cpp reads the same way).
 */
export class ShellV2Parser {
  readonly #rules: ShellV2Rules | null;
  /** only for a header split across payloads: most execs never need it */
  #header: Buffer | null = null;
  #headerFilled = 0;
  #id = 0;
  #remaining = 0;
  readonly #onData: (id: number, data: Buffer) => void;

  /** rules: checked on every header (push throws ShellV2Error); none, as adbd reads the host's */
  constructor(onData: (id: number, data: Buffer) => void, rules: ShellV2Rules | null = null) {
    this.#onData = onData;
    this.#rules = rules;
  }

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.#remaining > 0) {
        const n = Math.min(this.#remaining, chunk.length - off);
        this.#remaining -= n;
        this.#onData(this.#id, chunk.subarray(off, off + n));
        off += n;
        continue;
      }
      if (this.#headerFilled === 0 && chunk.length - off >= SHELL_HEADER_SIZE) {
        this.#startPacket(chunk[off]!, chunk.readUInt32LE(off + 1));
        off += SHELL_HEADER_SIZE;
        continue;
      }
      const header = (this.#header ??= Buffer.alloc(SHELL_HEADER_SIZE));
      const n = Math.min(SHELL_HEADER_SIZE - this.#headerFilled, chunk.length - off);
      chunk.copy(header, this.#headerFilled, off, off + n);
      this.#headerFilled += n;
      off += n;
      if (this.#headerFilled < SHELL_HEADER_SIZE) return;
      this.#headerFilled = 0;
      this.#startPacket(header[0]!, header.readUInt32LE(1));
    }
  }

  #startPacket(id: number, length: number): void {
    const rules = this.#rules;
    if (rules !== null) {
      if (!rules.ids.includes(id)) throw new ShellV2Error(`packet id ${id} is not one the sender may use (${rules.ids.join(', ')})`);
      if (length > rules.maxLength) throw new ShellV2Error(`packet of ${length} bytes announced (at most ${rules.maxLength})`);
    }
    this.#id = id;
    this.#remaining = length;
    if (length === 0) this.#onData(id, EMPTY);
  }

  /** A packet is partly received (the stream ended mid-packet if this is true at close). */
  get midPacket(): boolean {
    return this.#remaining > 0 || this.#headerFilled > 0;
  }
}
