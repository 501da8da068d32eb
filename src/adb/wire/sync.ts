// The file sync protocol inside a `sync:` stream (AOSP SYNC.TXT, adb file_sync_protocol.h): 8-byte
// requests `[4-char id][u32 LE length]`, most followed by `length` bytes; the device's answers
// have per-id fixed shapes (a STAT reply is 16 bytes, a DENT 20 plus its name). Like shell v2, the
// frames are independent of WRTE boundaries, so the reader carries state across payloads.
// Both ends use this file: the host sends requests and reads answers, the simulated adbd the reverse.

/** Ids as they read little-endian off the wire: the ASCII of each is in its comment. */
export const SyncId = {
  STAT: 0x54415453, // 'STAT': lstat v1 (request: path; reply: mode, size, mtime)
  LIST: 0x5453494c, // 'LIST'
  SEND: 0x444e4553, // 'SEND': path,mode
  RECV: 0x56434552, // 'RECV'
  DENT: 0x544e4544, // 'DENT': one directory entry of a LIST
  DONE: 0x454e4f44, // 'DONE': end of a SEND (length = mtime), a RECV or a LIST
  DATA: 0x41544144, // 'DATA': a piece of a file, at most SYNC_DATA_MAX bytes
  OKAY: 0x59414b4f, // 'OKAY': a SEND is complete
  FAIL: 0x4c494146, // 'FAIL': the request failed; length bytes of message follow
  QUIT: 0x54495551, // 'QUIT': ends the sync session
} as const;
export type SyncId = (typeof SyncId)[keyof typeof SyncId];

export const SYNC_HEADER_SIZE = 8;
/** DATA pieces are at most 64 KiB, both ways (adbd refuses larger ones: "oversize data message"). */
export const SYNC_DATA_MAX = 64 * 1024;
/** adbd refuses a longer path in a request ("path too long"). */
export const SYNC_PATH_MAX = 1024;
/** `STAT` reply: id, mode, size, mtime. */
export const SYNC_STAT_SIZE = 16;
/** `DENT` (and the `DONE` that ends a LIST, shaped alike): id, mode, size, mtime, name length. */
export const SYNC_DENT_SIZE = 20;

/** POSIX file type bits, as `mode` carries them. */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;

export function syncIdName(id: number): string {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(id >>> 0, 0);
  return /^[A-Z0-9]{4}$/.test(b.toString('latin1')) ? b.toString('latin1') : `0x${(id >>> 0).toString(16).padStart(8, '0')}`;
}

export function syncHeader(id: SyncId, length: number): Buffer {
  const b = Buffer.allocUnsafe(SYNC_HEADER_SIZE);
  b.writeUInt32LE(id, 0);
  b.writeUInt32LE(length >>> 0, 4);
  return b;
}

/** A request naming a path (STAT, LIST, RECV; SEND's is `path,mode`), or a FAIL with its message. */
export function syncRequest(id: SyncId, text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  return Buffer.concat([syncHeader(id, body.length), body]);
}

export interface SyncStat {
  /** type and permission bits (S_IFREG | 0o644, ...); 0 when there is no such file (v1 STAT) */
  mode: number;
  size: number;
  /** seconds since the epoch */
  mtime: number;
}

export function encodeSyncStat(s: SyncStat): Buffer {
  const b = Buffer.allocUnsafe(SYNC_STAT_SIZE);
  b.writeUInt32LE(SyncId.STAT, 0);
  b.writeUInt32LE(s.mode >>> 0, 4);
  b.writeUInt32LE(s.size >>> 0, 8);
  b.writeUInt32LE(s.mtime >>> 0, 12);
  return b;
}

export function encodeSyncDent(s: SyncStat & { name: string }): Buffer {
  const name = Buffer.from(s.name, 'utf8');
  const b = Buffer.allocUnsafe(SYNC_DENT_SIZE + name.length);
  b.writeUInt32LE(SyncId.DENT, 0);
  b.writeUInt32LE(s.mode >>> 0, 4);
  b.writeUInt32LE(s.size >>> 0, 8);
  b.writeUInt32LE(s.mtime >>> 0, 12);
  b.writeUInt32LE(name.length, 16);
  name.copy(b, SYNC_DENT_SIZE);
  return b;
}

/** The DONE that ends a LIST: adbd sends it as a whole dent-sized record of zeros. */
export const SYNC_LIST_DONE: Buffer = (() => {
  const b = Buffer.alloc(SYNC_DENT_SIZE);
  b.writeUInt32LE(SyncId.DONE, 0);
  return b;
})();

/**
 * How a frame is laid out, decided from its id by the reader's user (the shapes depend on the
 * direction and, for the host, on the request it awaits an answer to): the fixed header's size,
 * and where in it the length of the variable part is (null: no variable part).
 */
export interface SyncShape {
  headerSize: number;
  lengthAt: number | null;
  /** the variable part is handed over in pieces as it arrives (DATA) rather than whole */
  streamed: boolean;
  /** the most the variable part may announce; more is a violation the reader throws on */
  maxLength: number;
}

export class SyncProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SyncProtocolError';
  }
}

export interface SyncFrameHandler {
  /** a whole frame: its header (a copy when it was split, else a view) and its variable part (empty if none or streamed) */
  frame(id: number, header: Buffer, body: Buffer): void;
  /** a piece of a streamed frame's variable part (a view into the input: copy to keep) */
  data(piece: Buffer): void;
}

const EMPTY = Buffer.alloc(0);

/**
 * Incremental reader of sync frames, in any chunking. For a streamed frame, `frame` comes first
 * (the header) and then `data` for each piece; a small variable part (a path, a name, a FAIL's
 * message) is gathered and comes with `frame`. `shape` returning null means an id the reader's
 * user does not accept: push throws SyncProtocolError naming it.
 */
export class SyncReader {
  readonly #shape: (id: number) => SyncShape | null;
  readonly #on: SyncFrameHandler;
  /** the header being gathered (only when split across chunks) */
  #header = Buffer.alloc(SYNC_DENT_SIZE);
  #headerFilled = 0;
  #want = 4;
  #current: SyncShape | null = null;
  #currentId = 0;
  #currentHeader: Buffer = EMPTY;
  /** bytes of the variable part still to come */
  #remaining = 0;
  #body: Buffer | null = null;
  #bodyFilled = 0;

  constructor(shape: (id: number) => SyncShape | null, on: SyncFrameHandler) {
    this.#shape = shape;
    this.#on = on;
  }

  /** Between frames (nothing partly read). */
  get idle(): boolean {
    return this.#headerFilled === 0 && this.#remaining === 0 && this.#current === null;
  }

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.#remaining > 0) {
        const n = Math.min(this.#remaining, chunk.length - off);
        const piece = chunk.subarray(off, off + n);
        off += n;
        this.#remaining -= n;
        if (this.#current!.streamed) {
          if (this.#remaining === 0) this.#current = null;
          this.#on.data(piece);
        } else {
          piece.copy(this.#body!, this.#bodyFilled);
          this.#bodyFilled += n;
          if (this.#remaining === 0) this.#emitGathered();
        }
        continue;
      }
      // A header whole in this chunk is read in place; a split one is gathered first.
      if (this.#headerFilled === 0 && chunk.length - off >= 4) {
        const shape = this.#shapeOf(chunk.readUInt32LE(off));
        if (chunk.length - off >= shape.headerSize) {
          this.#start(shape, chunk.subarray(off, off + shape.headerSize));
          off += shape.headerSize;
          continue;
        }
      }
      const n = Math.min(this.#want - this.#headerFilled, chunk.length - off);
      chunk.copy(this.#header, this.#headerFilled, off, off + n);
      this.#headerFilled += n;
      off += n;
      if (this.#headerFilled < this.#want) continue;
      if (this.#want === 4) {
        this.#want = this.#shapeOf(this.#header.readUInt32LE(0)).headerSize;
        if (this.#want > 4) continue;
      }
      const header = Buffer.from(this.#header.subarray(0, this.#want));
      this.#headerFilled = 0;
      this.#want = 4;
      this.#start(this.#shapeOf(header.readUInt32LE(0)), header);
    }
  }

  #shapeOf(id: number): SyncShape {
    const shape = this.#shape(id);
    if (shape === null) throw new SyncProtocolError(`unexpected sync id ${syncIdName(id)}`);
    return shape;
  }

  #start(shape: SyncShape, header: Buffer): void {
    const id = header.readUInt32LE(0);
    const length = shape.lengthAt === null ? 0 : header.readUInt32LE(shape.lengthAt);
    if (length > shape.maxLength) throw new SyncProtocolError(`${syncIdName(id)} of ${length} bytes announced (at most ${shape.maxLength})`);
    if (length === 0 || shape.streamed) {
      this.#on.frame(id, header, EMPTY);
      if (length > 0) {
        this.#current = shape;
        this.#remaining = length;
      }
      return;
    }
    this.#current = shape;
    this.#currentId = id;
    this.#currentHeader = Buffer.from(header);
    this.#remaining = length;
    this.#body = Buffer.allocUnsafe(length);
    this.#bodyFilled = 0;
  }

  #emitGathered(): void {
    const body = this.#body!;
    this.#body = null;
    this.#current = null;
    this.#on.frame(this.#currentId, this.#currentHeader, body);
  }
}
