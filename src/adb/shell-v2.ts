// Shell protocol v2 (AOSP adb/shell_protocol.h): inside a stream, `[u8 id][u32 LE length][data]`.
// Its packets are independent of WRTE boundaries, so the parser carries state across payloads.

export const ShellId = { Stdin: 0, Stdout: 1, Stderr: 2, Exit: 3, CloseStdin: 4, WindowSizeChange: 5 } as const;
export type ShellId = (typeof ShellId)[keyof typeof ShellId];

const HEADER = 5;

export function encodeShellPacket(id: ShellId, data: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(HEADER + data.length);
  out[0] = id;
  out.writeUInt32LE(data.length, 1);
  data.copy(out, HEADER);
  return out;
}

/** The close-stdin packet, sent once per exec so commands that read stdin see EOF. */
export const CLOSE_STDIN = encodeShellPacket(ShellId.CloseStdin);

/**
 * Incremental parser. onData gets each piece of a packet's data as it arrives (a view into the
 * input): a large stdout packet comes out in several pieces with the same id, never copied here.
 */
export class ShellV2Parser {
  /** only for a header split across payloads: most execs never need it */
  #header: Buffer | null = null;
  #headerFilled = 0;
  #id = 0;
  #remaining = 0;
  readonly #onData: (id: number, data: Buffer) => void;

  constructor(onData: (id: number, data: Buffer) => void) {
    this.#onData = onData;
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
      if (this.#headerFilled === 0 && chunk.length - off >= HEADER) {
        this.#startPacket(chunk[off]!, chunk.readUInt32LE(off + 1));
        off += HEADER;
        continue;
      }
      const header = (this.#header ??= Buffer.alloc(HEADER));
      const n = Math.min(HEADER - this.#headerFilled, chunk.length - off);
      chunk.copy(header, this.#headerFilled, off, off + n);
      this.#headerFilled += n;
      off += n;
      if (this.#headerFilled < HEADER) return;
      this.#headerFilled = 0;
      this.#startPacket(header[0]!, header.readUInt32LE(1));
    }
  }

  #startPacket(id: number, length: number): void {
    this.#id = id;
    this.#remaining = length;
    if (length === 0) this.#onData(id, EMPTY);
  }

  /** A packet is partly received (the stream ended mid-packet if this is true at close). */
  get midPacket(): boolean {
    return this.#remaining > 0 || this.#headerFilled > 0;
  }
}
const EMPTY = Buffer.alloc(0);
