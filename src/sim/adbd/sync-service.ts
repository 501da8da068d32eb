// The device side of `sync:` (SYNC.TXT; adbd's file_sync_service.cpp): STAT (v1), LIST, SEND,
// RECV, QUIT over the instance's files (storage.ts). A Proc like a shell command: the host's
// requests come in as stdin, the answers go out through read() as fast as the host acknowledges
// them, so a pulled file is sliced out of its pieces on demand, never copied whole.
// As adbd does, a failed SEND or RECV answers FAIL and ends the session (the host's DATA still on
// its way is read and dropped up to DONE first); an unknown request too.
import {
  SYNC_DATA_MAX,
  SYNC_HEADER_SIZE,
  SYNC_LIST_DONE,
  SYNC_PATH_MAX,
  SyncId,
  SyncProtocolError,
  SyncReader,
  encodeSyncDent,
  encodeSyncStat,
  syncHeader,
  syncRequest,
  type SyncShape,
} from '../../adb/wire/index.js';
import { STRERROR, type DeviceFiles, type Errno, type FileWriter } from '../storage.js';
import { EOF, WAIT, type Proc, type ReadResult } from '../shell/proc.js';
import { fileBytes } from '../vfs.js';
import { Journal } from '../journal.js';
import type { Fault, JournalEntry } from '../types.js';

const PATH_SHAPE: SyncShape = { headerSize: SYNC_HEADER_SIZE, lengthAt: 4, streamed: false, maxLength: SYNC_PATH_MAX };
const DATA_SHAPE: SyncShape = { headerSize: SYNC_HEADER_SIZE, lengthAt: 4, streamed: true, maxLength: SYNC_DATA_MAX };
const BARE: SyncShape = { headerSize: SYNC_HEADER_SIZE, lengthAt: null, streamed: false, maxLength: 0 };
const ZERO_STAT = encodeSyncStat({ mode: 0, size: 0, mtime: 0 });

/** What the session needs from its instance and connection. */
export interface SyncDevice {
  readonly files: DeviceFiles;
  readonly props: ReadonlyMap<string, string>;
  readonly fault: Fault | null;
  /** a transfer-drop fault: the connection goes away now */
  drop(): void;
  /** Journals a file transfer as it starts (`SEND path` or `RECV path`), as a command is: a test
   * proves from the journal that a push ran once. */
  journal(what: string): JournalEntry;
}

interface Recv {
  pieces: Buffer[];
  index: number;
  offset: number;
  /** bytes of the current DATA frame still to go out */
  frameLeft: number;
  /** bytes of the file still to go out */
  left: number;
}

export class SyncProc implements Proc {
  readonly exitCode = 0;
  readonly exits = false;
  wake = (): void => {};
  readonly #dev: SyncDevice;
  readonly #reader: SyncReader;
  /** answers waiting to go out, before any RECV data */
  #out: Buffer[] = [];
  #recv: Recv | null = null;
  /** the file a SEND is writing; null between requests */
  #writer: FileWriter | null = null;
  /** a SEND failed: its DATA is dropped up to DONE, then the session ends */
  #discarding = false;
  /** the session ends once #out is sent */
  #ending = false;
  /** file bytes moved either way, for the transfer faults */
  #moved = 0;
  /** the transfer under way, journaled: ends 'exit' 0 when done, 1 when refused, 'closed' when cut */
  #entry: JournalEntry | null = null;

  constructor(dev: SyncDevice) {
    this.#dev = dev;
    this.#reader = new SyncReader((id) => this.#shape(id), {
      frame: (id, header, body) => this.#request(id, header, body),
      data: (piece) => this.#data(piece),
    });
  }

  stdin(data: Buffer): void {
    if (this.#ending) return;
    try {
      this.#reader.push(data);
    } catch (e) {
      if (!(e instanceof SyncProtocolError)) throw e;
      this.#fatal(e.message);
    }
    this.wake();
  }

  read(max: number): ReadResult {
    const head = this.#out[0];
    if (head !== undefined) {
      if (head.length <= max) this.#out.shift();
      else this.#out[0] = head.subarray(max);
      return { fd: 1, data: head.length <= max ? head : head.subarray(0, max) };
    }
    if (this.#recv !== null) return this.#recvRead(this.#recv, max);
    return this.#ending ? EOF : WAIT;
  }

  kill(): void {
    this.#end('closed', null);
    this.#writer?.abort();
    this.#writer = null;
    this.#recv = null;
    this.#out = [];
    this.#ending = true;
  }

  #shape(id: number): SyncShape | null {
    switch (id) {
      case SyncId.STAT:
      case SyncId.LIST:
      case SyncId.SEND:
      case SyncId.RECV:
        return PATH_SHAPE;
      case SyncId.DATA:
        return DATA_SHAPE;
      case SyncId.DONE:
      case SyncId.QUIT:
        return BARE;
      default:
        return null; // adbd: "unknown command"; the reader throws, #fatal answers
    }
  }

  #request(id: number, header: Buffer, body: Buffer): void {
    if (this.#writer !== null || this.#discarding) {
      if (id === SyncId.DATA) return; // its bytes follow through #data
      if (id !== SyncId.DONE) return this.#fatal('invalid data message');
      return this.#sendDone(header.readUInt32LE(4));
    }
    const path = body.toString('utf8');
    switch (id) {
      case SyncId.STAT: {
        const st = this.#dev.files.stat(path);
        return this.#answer(st === null ? ZERO_STAT : encodeSyncStat(st));
      }
      case SyncId.LIST: {
        const entries = this.#dev.files.list(path);
        // adbd's LIST has no FAIL: an unreadable directory lists as empty.
        if (typeof entries !== 'string') for (const e of entries) this.#out.push(encodeSyncDent({ name: e.name, ...e.stat }));
        return this.#answer(SYNC_LIST_DONE);
      }
      case SyncId.RECV:
        this.#entry = this.#dev.journal(`RECV ${path}`);
        return this.#startRecv(path);
      case SyncId.SEND:
        this.#entry = this.#dev.journal(`SEND ${path.slice(0, Math.max(0, path.lastIndexOf(',')))}`);
        return this.#startSend(path);
      case SyncId.QUIT:
        this.#ending = true;
        return;
      default:
        return this.#fatal(`unexpected ${id === SyncId.DATA ? 'DATA' : 'DONE'} outside a SEND`);
    }
  }

  #startSend(arg: string): void {
    const comma = arg.lastIndexOf(',');
    if (comma < 0) return this.#failSend('missing , in ID_SEND');
    const mode = Number.parseInt(arg.slice(comma + 1), 10);
    const made = this.#dev.files.create(arg.slice(0, comma), Number.isNaN(mode) ? 0o644 : mode);
    if (typeof made === 'string') return this.#failSend(`couldn't create file: ${STRERROR[made]}`);
    this.#writer = made;
  }

  #data(piece: Buffer): void {
    const writer = this.#writer;
    if (writer === null) return;
    const fault = this.#faultAt(piece.length);
    if (fault === 'drop') return;
    const err: Errno | null = fault === 'fail' ? null : writer.write(piece);
    if (fault === 'fail') return this.#failSend('write failed: I/O error');
    if (err !== null) this.#failSend(`write failed: ${STRERROR[err]}`);
  }

  #sendDone(mtime: number): void {
    if (this.#discarding) {
      this.#discarding = false;
      this.#ending = true;
      return;
    }
    this.#writer!.commit(mtime * 1000);
    this.#writer = null;
    this.#end('exit', 0);
    this.#answer(syncHeader(SyncId.OKAY, 0));
  }

  /** FAIL now; the rest of the host's DATA is read and dropped, and DONE ends the session. */
  #failSend(message: string): void {
    this.#end('exit', 1);
    this.#writer?.abort();
    this.#writer = null;
    this.#discarding = true;
    this.#answer(syncRequest(SyncId.FAIL, message));
  }

  #startRecv(path: string): void {
    const node = this.#dev.files.file(path);
    if (typeof node === 'string') return this.#fatal(`open failed: ${STRERROR[node]}`);
    const pieces = fileBytes(node, this.#dev.props);
    const left = pieces.reduce((n, p) => n + p.length, 0);
    this.#recv = { pieces, index: 0, offset: 0, frameLeft: 0, left };
    this.wake();
  }

  #recvRead(r: Recv, max: number): ReadResult {
    if (r.frameLeft === 0) {
      if (r.left === 0) {
        this.#recv = null;
        this.#end('exit', 0);
        this.#out.push(syncHeader(SyncId.DONE, 0));
        return this.read(max);
      }
      // Faults strike between DATA frames, where adbd's own read errors surface.
      const frame = Math.min(SYNC_DATA_MAX, r.left);
      const fault = this.#faultAt(frame);
      if (fault === 'drop') return WAIT;
      if (fault === 'fail') {
        this.#recv = null;
        this.#fatal('read failed: I/O error', false);
        return this.read(max);
      }
      r.frameLeft = frame;
      this.#out.push(syncHeader(SyncId.DATA, frame));
      return this.read(max);
    }
    let piece = r.pieces[r.index]!;
    while (r.offset === piece.length) {
      r.index++;
      r.offset = 0;
      piece = r.pieces[r.index]!;
    }
    const n = Math.min(r.frameLeft, max, piece.length - r.offset);
    const data = piece.subarray(r.offset, r.offset + n);
    r.offset += n;
    r.frameLeft -= n;
    r.left -= n;
    return { fd: 1, data };
  }

  /** Counts file bytes; a transfer fault fires when they pass its afterBytes. */
  #faultAt(bytes: number): 'fail' | 'drop' | null {
    const fault = this.#dev.fault;
    this.#moved += bytes;
    if (fault === null || (fault.kind !== 'transfer-fail' && fault.kind !== 'transfer-drop') || this.#moved <= fault.afterBytes) return null;
    if (fault.kind === 'transfer-fail') return 'fail';
    this.#dev.drop();
    return 'drop';
  }

  #end(how: 'exit' | 'closed', exitCode: number | null): void {
    Journal.finish(this.#entry, how, exitCode);
    this.#entry = null;
  }

  #answer(b: Buffer): void {
    this.#out.push(b);
    this.wake();
  }

  /**
   * FAIL and the end of the session, as adbd's sync loop returns false. From inside read() there
   * is no waking: the connection's pump is the caller, and a nested pump would send out of order.
   */
  #fatal(message: string, wake = true): void {
    this.#end('exit', 1);
    this.#out.push(syncRequest(SyncId.FAIL, message));
    this.#ending = true;
    if (wake) this.wake();
  }
}
