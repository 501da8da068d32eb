// A deliberately small ADB host for driving the simulator packet by packet in tests.
import net from 'node:net';
import { Command, PacketDecoder, VERSION, MAX_PAYLOAD, encodePacket, type Packet } from '../../src/adb/wire/index.js';

export const HOST_BANNER = 'host::features=shell_v2,cmd';

export class RawClient {
  readonly socket: net.Socket;
  readonly #queue: Packet[] = [];
  #waiter: (() => void) | null = null;
  #closed = false;
  readonly closed: Promise<void>;
  /** Raw bytes as received, for tests that look below the packet level. */
  readonly raw: Buffer[] = [];
  decodeError: Error | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    const decoder = new PacketDecoder((p) => {
      this.#queue.push({ ...p, payload: Buffer.from(p.payload) });
      this.#waiter?.();
    });
    socket.on('data', (c: Buffer) => {
      this.raw.push(Buffer.from(c));
      if (this.decodeError !== null) return;
      try {
        decoder.push(c);
      } catch (e) {
        this.decodeError = e as Error;
        this.#waiter?.();
      }
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.#closed = true;
        this.#waiter?.();
        resolve();
      }),
    );
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => {
        s.off('error', reject);
        resolve(new RawClient(s));
      });
      s.once('error', reject);
    });
  }

  send(command: number, arg0: number, arg1: number, payload?: Buffer | string, withChecksum = false): void {
    this.socket.write(encodePacket(command, arg0, arg1, payload, withChecksum));
  }

  /** The next packet; rejects on close, decode error or timeout. */
  async next(timeoutMs = 10000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = this.#queue.shift();
      if (p !== undefined) return p;
      if (this.decodeError !== null) throw this.decodeError;
      if (this.#closed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a packet');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(t);
          this.#waiter = null;
          resolve();
        };
      });
    }
  }

  /** Resolves true if nothing arrives within ms (for "must not answer" checks). */
  async silentFor(ms: number): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    return this.#queue.length === 0;
  }

  async connectHandshake(version = VERSION, maxPayload = MAX_PAYLOAD): Promise<Packet> {
    this.send(Command.CNXN, version, maxPayload, HEADER_BANNER_NUL, true);
    return this.next();
  }

  /** Opens a service, acks every WRTE, collects until the device closes the stream. */
  async run(service: string, localId = 1): Promise<{ data: Buffer; writes: number; opened: boolean }> {
    this.send(Command.OPEN, localId, 0, `${service}\0`);
    return this.collect(localId);
  }

  /** On an open stream: acks every WRTE, collects until the device closes it (opened: an OKAY came). */
  async collect(localId: number): Promise<{ data: Buffer; writes: number; opened: boolean }> {
    const chunks: Buffer[] = [];
    let writes = 0;
    let opened = false;
    for (;;) {
      const p = await this.next();
      if (p.arg1 !== localId) continue;
      if (p.command === Command.OKAY) opened = true;
      else if (p.command === Command.WRTE) {
        writes++;
        chunks.push(p.payload);
        this.send(Command.OKAY, localId, p.arg0);
      } else if (p.command === Command.CLSE) {
        return { data: Buffer.concat(chunks), writes, opened };
      }
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

const HEADER_BANNER_NUL = `${HOST_BANNER}\0`;

/** Splits shell v2 packets: stdout, stderr and the exit code. */
export function decodeShellV2(data: Buffer): { stdout: string; stderr: string; exit: number | null } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let exit: number | null = null;
  let off = 0;
  while (off + 5 <= data.length) {
    const id = data[off]!;
    const len = data.readUInt32LE(off + 1);
    const body = data.subarray(off + 5, off + 5 + len);
    if (id === 1) out.push(body);
    else if (id === 2) err.push(body);
    else if (id === 3) exit = body[0] ?? null;
    off += 5 + len;
  }
  if (off !== data.length) throw new Error('truncated shell v2 stream');
  return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), exit };
}
