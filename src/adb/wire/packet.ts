// The ADB wire format: a 24-byte little-endian header and an optional payload
// (AOSP packages/modules/adb/protocol.txt; corrections in the project's notes:
// MAX_PAYLOAD is 1 MiB since version 0x01000001 and data_crc32 is a byte sum checked only below it).

export const Command = {
  SYNC: 0x434e5953, // 'SYNC' (obsolete, never valid on the wire)
  CNXN: 0x4e584e43, // 'CNXN'
  AUTH: 0x48545541, // 'AUTH'
  OPEN: 0x4e45504f, // 'OPEN'
  OKAY: 0x59414b4f, // 'OKAY'
  CLSE: 0x45534c43, // 'CLSE'
  WRTE: 0x45545257, // 'WRTE'
  STLS: 0x534c5453, // 'STLS'
} as const;
export type Command = (typeof Command)[keyof typeof Command];

export const AuthType = { Token: 1, Signature: 2, RsaPublicKey: 3 } as const;

export const HEADER_SIZE = 24;
/** Version that drops the payload checksum and raises MAX_PAYLOAD to 1 MiB. */
export const VERSION_SKIP_CHECKSUM = 0x01000001;
export const VERSION = 0x01000001;
export const VERSION_MIN = 0x01000000;
export const MAX_PAYLOAD = 1024 * 1024;
/** CNXN and AUTH must fit here: they travel before sizes are negotiated. */
export const MAX_PAYLOAD_V1 = 4096;

const KNOWN = new Set<number>(Object.values(Command));

export function commandName(cmd: number): string {
  for (const [name, value] of Object.entries(Command)) if (value === cmd) return name;
  return `0x${cmd.toString(16).padStart(8, '0')}`;
}

export function checksum(data: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i]!;
  return sum >>> 0;
}

/** Encodes one packet (header and payload in a single Buffer, one socket write). */
export function encodePacket(command: number, arg0: number, arg1: number, payload?: Buffer | string, withChecksum = false): Buffer {
  const length = payload === undefined ? 0 : typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;
  const buf = Buffer.allocUnsafe(HEADER_SIZE + length);
  buf.writeUInt32LE(command >>> 0, 0);
  buf.writeUInt32LE(arg0 >>> 0, 4);
  buf.writeUInt32LE(arg1 >>> 0, 8);
  buf.writeUInt32LE(length, 12);
  // A string payload is written straight into the packet: no intermediate Buffer.
  if (typeof payload === 'string') buf.write(payload, HEADER_SIZE, 'utf8');
  else if (payload !== undefined && length > 0) payload.copy(buf, HEADER_SIZE);
  buf.writeUInt32LE(withChecksum ? checksum(buf.subarray(HEADER_SIZE)) : 0, 16);
  buf.writeUInt32LE((command ^ 0xffffffff) >>> 0, 20);
  return buf;
}

/**
 * The header alone, for a sender that writes a large payload after it as its own Buffer (one
 * writev, no copy of the payload into a packet buffer).
 */
export function encodeHeader(command: number, arg0: number, arg1: number, length: number, dataChecksum = 0): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_SIZE);
  buf.writeUInt32LE(command >>> 0, 0);
  buf.writeUInt32LE(arg0 >>> 0, 4);
  buf.writeUInt32LE(arg1 >>> 0, 8);
  buf.writeUInt32LE(length >>> 0, 12);
  buf.writeUInt32LE(dataChecksum >>> 0, 16);
  buf.writeUInt32LE((command ^ 0xffffffff) >>> 0, 20);
  return buf;
}

/**
 * The `delayed_ack` feature (AOSP adb.cpp, sockets.cpp; used when both banners list it): each OPEN
 * carries in arg1 how many bytes its sender will take before acknowledging (nonzero exactly when
 * the feature is in use: adbd refuses an OPEN whose arg1 disagrees), the OKAY answering it carries
 * the other side's grant, and every later OKAY carries the bytes it acknowledges. Those counts are
 * an OKAY's 4-byte payload (a signed LE int32, added to the sender's window); without the feature
 * an OKAY has no payload and one WRTE per stream is in flight.
 */
export const FEATURE_DELAYED_ACK = 'delayed_ack';
/** adbd's grant in the OKAY answering an OPEN (AOSP adb.h INITIAL_DELAYED_ACK_BYTES). */
export const INITIAL_DELAYED_ACK_BYTES = 32 * 1024 * 1024;

/** An OKAY: bare, or (acked not null: delayed_ack) with its 4-byte count. */
export function encodeOkay(arg0: number, arg1: number, acked: number | null, withChecksum = false): Buffer {
  if (acked === null) return encodeHeader(Command.OKAY, arg0, arg1, 0);
  const buf = Buffer.allocUnsafe(HEADER_SIZE + 4);
  buf.writeUInt32LE(Command.OKAY, 0);
  buf.writeUInt32LE(arg0 >>> 0, 4);
  buf.writeUInt32LE(arg1 >>> 0, 8);
  buf.writeUInt32LE(4, 12);
  buf.writeInt32LE(acked | 0, HEADER_SIZE);
  buf.writeUInt32LE(withChecksum ? checksum(buf.subarray(HEADER_SIZE)) : 0, 16);
  buf.writeUInt32LE((Command.OKAY ^ 0xffffffff) >>> 0, 20);
  return buf;
}

/** An OKAY's count under delayed_ack; null when its payload is not the 4 bytes that carry one. */
export function okayCount(payload: Buffer): number | null {
  return payload.length === 4 ? payload.readInt32LE(0) : null;
}

/** Payloads at least this big go out after their header rather than copied into one packet Buffer. */
export const SEPARATE_PAYLOAD_MIN = 16 * 1024;

export interface Packet {
  command: number;
  arg0: number;
  arg1: number;
  payload: Buffer;
}

export class PacketError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PacketError';
  }
}

/**
 * A piece of a WRTE's payload, handed on as its chunk arrives: `last` on the piece that completes
 * it, `length` the whole payload's.
 */
export type WritePieceHandler = (arg0: number, arg1: number, piece: Buffer, last: boolean, length: number) => void;

/**
 * Incremental decoder: feed it TCP chunks as they come; it calls onPacket for every whole packet
 * (packets may be split across chunks or packed several to a chunk). A bad header throws
 * PacketError; the caller then closes the connection, as protocol.txt requires.
 * Payload Buffers may be views into the chunk: copy them if kept past the callback.
 *
 * A packet split across chunks is assembled in one Buffer sized from its header, so a 1 MiB
 * payload arriving in 64 KiB pieces costs one copy per byte, not one re-concatenation per chunk.
 * Given onWritePiece, a WRTE split across chunks is not assembled at all: its payload goes there
 * piece by piece, views into the chunks (unless checksums are verified, which need it whole).
 * Copying a 1 MiB payload into fresh memory cost more than the rest of its decoding.
 */
export class PacketDecoder {
  /** Header bytes of a packet whose header itself was split (allocated on first need). */
  #header: Buffer | null = null;
  /** The whole packet being assembled once its header is known; null while reading a header. */
  #packet: Buffer | null = null;
  /** Bytes held in #header or #packet. */
  #filled = 0;
  maxPayload: number;
  /** Set true once the peer's version is below VERSION_SKIP_CHECKSUM. */
  verifyChecksum = false;
  readonly #onPacket: (p: Packet) => void;
  readonly #onWritePiece: WritePieceHandler | null;
  /** The WRTE whose payload is being handed on in pieces: its args, length and bytes still to come (0: none). */
  #pieceArg0 = 0;
  #pieceArg1 = 0;
  #pieceLength = 0;
  #pieceLeft = 0;

  constructor(onPacket: (p: Packet) => void, maxPayload = MAX_PAYLOAD, onWritePiece: WritePieceHandler | null = null) {
    this.#onPacket = onPacket;
    this.maxPayload = maxPayload;
    this.#onWritePiece = onWritePiece;
  }

  push(chunk: Buffer): void {
    let off = this.#pieceLeft > 0 ? this.#piece(chunk, 0) : this.#filled > 0 ? this.#resume(chunk) : 0;
    while (chunk.length - off >= HEADER_SIZE) {
      const length = this.#checkHeader(chunk, off);
      const end = off + HEADER_SIZE + length;
      if (end > chunk.length) {
        if (this.#startPieces(chunk, off, length)) {
          this.#piece(chunk, off + HEADER_SIZE);
          return;
        }
        this.#packet = Buffer.allocUnsafe(HEADER_SIZE + length);
        this.#filled = chunk.copy(this.#packet, 0, off);
        return;
      }
      this.#emit(chunk, off, length);
      off = end;
    }
    if (off < chunk.length) {
      this.#header ??= Buffer.allocUnsafe(HEADER_SIZE);
      this.#filled = chunk.copy(this.#header, 0, off);
      this.#checkCommandWord();
    }
  }

  /** A partial header whose command word is already wrong is garbage: say so now, not 20 bytes later. */
  #checkCommandWord(): void {
    if (this.#filled >= 4 && !KNOWN.has(this.#header!.readUInt32LE(0))) {
      throw this.#fail(`unknown command ${commandName(this.#header!.readUInt32LE(0))}`);
    }
  }

  /** Continues the packet started in an earlier chunk; returns how much of chunk it used. */
  #resume(chunk: Buffer): number {
    let off = 0;
    if (this.#packet === null) {
      const header = this.#header!;
      off = chunk.copy(header, this.#filled, 0, HEADER_SIZE - this.#filled);
      this.#filled += off;
      if (this.#filled < HEADER_SIZE) {
        this.#checkCommandWord();
        return off;
      }
      const length = this.#checkHeader(header, 0);
      if (this.#startPieces(header, 0, length)) {
        this.#filled = 0;
        return this.#piece(chunk, off);
      }
      this.#packet = Buffer.allocUnsafe(HEADER_SIZE + length);
      header.copy(this.#packet, 0);
    }
    const packet = this.#packet;
    const n = chunk.copy(packet, this.#filled, off, off + packet.length - this.#filled);
    this.#filled += n;
    off += n;
    if (this.#filled === packet.length) {
      this.#packet = null;
      this.#filled = 0;
      this.#emit(packet, 0, packet.length - HEADER_SIZE);
    }
    return off;
  }

  /** Whether the packet whose header is at off goes on in pieces; if so, its pieces are expected from now. */
  #startPieces(buf: Buffer, off: number, length: number): boolean {
    if (this.#onWritePiece === null || this.verifyChecksum || length === 0 || buf.readUInt32LE(off) !== Command.WRTE) return false;
    this.#pieceArg0 = buf.readUInt32LE(off + 4);
    this.#pieceArg1 = buf.readUInt32LE(off + 8);
    this.#pieceLength = length;
    this.#pieceLeft = length;
    return true;
  }

  /** Hands on what chunk holds (from off) of the WRTE in pieces; returns where its payload ended in chunk. */
  #piece(chunk: Buffer, off: number): number {
    const n = Math.min(this.#pieceLeft, chunk.length - off);
    if (n === 0) return off;
    this.#pieceLeft -= n;
    const piece = off === 0 && n === chunk.length ? chunk : chunk.subarray(off, off + n);
    this.#onWritePiece!(this.#pieceArg0, this.#pieceArg1, piece, this.#pieceLeft === 0, this.#pieceLength);
    return off + n;
  }

  /** Validates the header at off and returns its payload length. */
  #checkHeader(buf: Buffer, off: number): number {
    const command = buf.readUInt32LE(off);
    const length = buf.readUInt32LE(off + 12);
    const magic = buf.readUInt32LE(off + 20);
    if (((command ^ 0xffffffff) >>> 0) !== magic) throw this.#fail(`bad magic for command ${commandName(command)}`);
    if (!KNOWN.has(command)) throw this.#fail(`unknown command ${commandName(command)}`);
    if (length > this.maxPayload) throw this.#fail(`payload of ${length} bytes exceeds max ${this.maxPayload}`);
    return length;
  }

  #emit(buf: Buffer, off: number, length: number): void {
    const payload = buf.subarray(off + HEADER_SIZE, off + HEADER_SIZE + length);
    const command = buf.readUInt32LE(off);
    if (this.verifyChecksum && checksum(payload) !== buf.readUInt32LE(off + 16)) {
      throw this.#fail(`bad payload checksum for ${commandName(command)}`);
    }
    this.#onPacket({ command, arg0: buf.readUInt32LE(off + 4), arg1: buf.readUInt32LE(off + 8), payload });
  }

  /** After a bad header the stream cannot be resynchronised: drop what is held. */
  #fail(message: string): PacketError {
    this.#packet = null;
    this.#filled = 0;
    this.#pieceLeft = 0;
    return new PacketError(message);
  }

  /** Bytes held waiting for the rest of a packet. */
  get buffered(): number {
    return this.#filled;
  }
}
