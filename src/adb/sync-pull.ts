// Pull: RECV path, then the device's DATA pieces until DONE, or a FAIL (SYNC.TXT). The file is
// opened before the request goes out, and each piece is written as it comes, in place
// (local-io.ts). When file I/O goes through the thread pool instead (a slow disk), the request
// goes out at once while the file opens, and the pieces are copied into write buffers of
// WRITE_BUFFER bytes (they are views into a read buffer the next read reuses), which go to disk
// gathered into one writev per turn of the disk: while one write is on its way the next pieces
// fill buffers, and the next write takes them all; written buffers are filled again. Past its
// mark queued the stream is paused (its OKAYs withheld), so the device sends nothing more until
// the disk has caught up: a pull alone may queue HIGH_WATER_MARK, but while the process's pulls
// queue more than SHARED_QUEUE together, each may queue only OWN_QUEUE; written buffers are kept
// for the next transfers (buffers.ts). Memory stays bounded by that and a window per pull, not by
// the number of pulls. Whatever is queued when file I/O is quick again is written in place, and
// the pieces after it too.
// A failed pull removes its partial file.

import { createHash, type Hash } from 'node:crypto';
import { close, lstatSync, open, openSync, unlinkSync, writeSync, writev, writevSync } from 'node:fs';
import { lstat, unlink } from 'node:fs/promises';
import { SyncCall, BARE_SHAPE, type SyncOptions, type SyncTarget } from './sync-call.js';
import { TransferError, type AdbError } from './errors.js';
import { TRANSFER_BUFFER, keepBuffer, takeBuffer } from './buffers.js';
import { inPlace, timedCall } from './local-io.js';
import type { TransferResult } from './sync-push.js';
import { SYNC_DATA_MAX, SYNC_HEADER_SIZE, SyncId, syncRequest, type SyncShape } from './wire/index.js';

const DATA_SHAPE: SyncShape = { headerSize: SYNC_HEADER_SIZE, lengthAt: 4, streamed: true, maxLength: SYNC_DATA_MAX };
/** what may wait for the disk before the device is paused, when the process's pulls queue little */
const HIGH_WATER_MARK = 8 * 1024 * 1024;
/** what every pull may queue however much the others do: one write buffer's worth */
const OWN_QUEUE = 1024 * 1024;
/** past this queued by the process's pulls together, each may queue only OWN_QUEUE */
const SHARED_QUEUE = 16 * 1024 * 1024;
let queuedTotal = 0;
/** writev takes at most IOV_MAX (1024 on Linux) buffers a call */
const MAX_IOV = 1024;
/** what the pieces are copied into; written ones are kept for the next (buffers.ts) */
const WRITE_BUFFER = TRANSFER_BUFFER;

export interface PullOptions extends SyncOptions {
  /** more bytes than this from the device fail the pull with OUTPUT_LIMIT (its partial file removed) */
  maxBytes?: number;
  /** hash the bytes as they come (TransferResult.sha256), sparing the caller a second read of the file */
  sha256?: boolean;
}

export function pullOn(target: SyncTarget, remotePath: string, localPath: string, opts: PullOptions): Promise<TransferResult> {
  return new PullCall(target, remotePath, localPath, opts).run();
}

class PullCall extends SyncCall<TransferResult> {
  readonly #remotePath: string;
  readonly #localPath: string;
  readonly #maxBytes: number;
  /** each call its own: a pull tried again after a lost connection starts a fresh hash */
  readonly #hash: Hash | null;
  #fd: number | null = null;
  #opening: Promise<void> | null = null;
  /** filled write buffers (views of their filled part) waiting for the disk */
  #queue: Buffer[] = [];
  #queued = 0;
  /** the write buffer pieces are copied into, its first #filled bytes used */
  #current: Buffer | null = null;
  #filled = 0;
  /** a write is due once the pieces of this read are all copied */
  #writeDue = false;
  /** bytes written to the file: a count, not an offset (writes go to the file's own offset) */
  #onDisk = 0;
  #writing = false;
  #paused = false;
  /** DONE arrived: the file is complete once the queue is on disk */
  #received = false;
  /** the call failed: the file is closed and removed once no write is on its way */
  #abandoned: (() => void) | null = null;

  constructor(target: SyncTarget, remotePath: string, localPath: string, opts: PullOptions) {
    super(target, `pull of ${remotePath}`, opts);
    this.#remotePath = remotePath;
    this.#localPath = localPath;
    this.#maxBytes = opts.maxBytes ?? Infinity;
    this.#hash = opts.sha256 === true ? createHash('sha256') : null;
  }

  protected shape(id: number): SyncShape | null {
    return id === SyncId.DATA ? DATA_SHAPE : id === SyncId.DONE ? BARE_SHAPE : null;
  }

  protected begin(): void {
    if (inPlace()) {
      let fd: number | null;
      try {
        fd = timedCall(() => replaceFileNow(this.#localPath));
      } catch (e) {
        return this.localFailed(e, this.#localPath);
      }
      if (fd !== null) {
        this.#fd = fd;
        this.stream?.write(syncRequest(SyncId.RECV, this.#remotePath));
        return;
      }
    }
    // The request goes out at once; pieces arriving before the file is open wait in the queue.
    this.stream?.write(syncRequest(SyncId.RECV, this.#remotePath));
    this.#opening = replaceFile(this.#localPath).then(
      (fd) => {
        this.#fd = fd;
        this.#opening = null;
        if (this.#abandoned !== null) return this.#abandoned();
        this.#write();
      },
      (e: unknown) => {
        this.#opening = null;
        this.#abandoned?.();
        this.localFailed(e, this.#localPath);
      },
    );
  }

  protected onFrame(id: number): void {
    if (id !== SyncId.DONE) return;
    this.#received = true;
    this.#write();
  }

  override onClose(err: AdbError | null): void {
    // After DONE the file is complete: the stream ending while it is written changes nothing.
    if (this.#received) {
      this.stream = null;
      return;
    }
    super.onClose(err);
  }

  protected override onPiece(piece: Buffer): void {
    if (this.#received || this.done) return;
    // What arrived so far is what is written plus what waits for the disk.
    if (this.#onDisk + this.#queued + piece.length > this.#maxBytes) {
      return this.fail(new TransferError('OUTPUT_LIMIT', this.target.address, `pull of ${this.#remotePath}: more than ${this.#maxBytes} bytes`));
    }
    // Pieces come in file order, whichever way they are written.
    this.#hash?.update(piece);
    // In place (local-io.ts) once the file is open and nothing waits for the disk before this piece.
    if (this.#fd !== null && this.#queued === 0 && !this.#writing && inPlace()) return this.#writeInPlace(this.#fd, piece);
    for (let off = 0; off < piece.length; ) {
      let buf = this.#current;
      if (buf === null || this.#filled === buf.length) {
        if (buf !== null) this.#queue.push(buf);
        buf = this.#current = takeBuffer(WRITE_BUFFER);
        this.#filled = 0;
      }
      const n = piece.copy(buf, this.#filled, off);
      this.#filled += n;
      off += n;
    }
    this.#queued += piece.length;
    queuedTotal += piece.length;
    if (!this.#paused && this.#queued > (queuedTotal > SHARED_QUEUE ? OWN_QUEUE : HIGH_WATER_MARK)) {
      this.#paused = true;
      this.stream?.pause();
    }
    // One write for all the pieces of this read (they come in one go, a microtask is after them).
    if (!this.#writeDue && !this.#writing) {
      this.#writeDue = true;
      queueMicrotask(() => {
        this.#writeDue = false;
        this.#write();
      });
    }
  }

  /** Writes the piece from the read buffer itself (it is valid only during this call). */
  #writeInPlace(fd: number, piece: Buffer): void {
    try {
      for (let off = 0; off < piece.length; ) {
        const n = timedCall(() => writeSync(fd, piece, off, piece.length - off));
        if (n === 0) throw Object.assign(new Error('no space written'), { code: 'ENOSPC' });
        off += n;
        this.#onDisk += n;
      }
    } catch (e) {
      this.localFailed(e, this.#localPath);
    }
  }

  /** Writes what is queued unless a write is on its way; finishes after DONE once all is written. */
  #write(): void {
    const fd = this.#fd;
    if (fd === null || this.#writing || this.done) return;
    // The buffer being filled goes too: the disk is idle now.
    if (this.#current !== null && this.#filled > 0) {
      this.#queue.push(this.#current.subarray(0, this.#filled));
      this.#current = null;
    }
    if (this.#queue.length === 0) {
      if (this.#received) this.#complete(fd);
      return;
    }
    const batch = this.#queue.length <= MAX_IOV ? this.#queue : this.#queue.slice(0, MAX_IOV);
    this.#queue = this.#queue.length <= MAX_IOV ? [] : this.#queue.slice(MAX_IOV);
    let bytes = 0;
    for (const b of batch) bytes += b.length;
    // At the file's own offset (no position given): a FIFO or pipe (adb pull x /dev/stdout) has none (ESPIPE).
    if (inPlace()) {
      let written: number;
      try {
        written = timedCall(() => writevSync(fd, batch));
      } catch (e) {
        return this.localFailed(e, this.#localPath);
      }
      return this.#written(batch, bytes, written);
    }
    this.#writing = true;
    writev(fd, batch, (e, written) => {
      this.#writing = false;
      if (this.#abandoned !== null) return this.#abandoned();
      if (e !== null) return this.localFailed(e, this.#localPath);
      this.#written(batch, bytes, written);
    });
  }

  /** A write of the batch (bytes in all) wrote `written`: the next one follows. */
  #written(batch: Buffer[], bytes: number, written: number): void {
    // A short write (a full disk) puts the rest back in front (those buffers are not reused).
    if (written < bytes) this.#queue.unshift(...rest(batch, written));
    else for (const b of batch) keepBuffer(b);
    this.#onDisk += written;
    this.#queued -= written;
    queuedTotal -= written;
    if (written === 0) return this.localFailed(Object.assign(new Error('no space written'), { code: 'ENOSPC' }), this.#localPath);
    // Its own queue written down, or the process's pulls queue little again.
    if (this.#paused && (this.#queued <= OWN_QUEUE / 2 || (this.#queued <= HIGH_WATER_MARK / 2 && queuedTotal <= SHARED_QUEUE))) {
      this.#paused = false;
      this.stream?.resume();
    }
    this.#write();
  }

  #complete(fd: number): void {
    this.#fd = null;
    const bytes = this.#onDisk;
    // Resolved once the bytes are on disk (the file closed), not when the last piece arrived.
    const result = this.#hash === null ? { bytes } : { bytes, sha256: this.#hash.digest('hex') };
    close(fd, (e) => (e === null ? this.succeed(result) : this.localFailed(e, this.#localPath)));
  }

  /** The device failed (or went away) mid-file: a partial file must not pass for the real one. */
  protected override cleanup(): Promise<void> {
    this.#queue = [];
    this.#current = null;
    // What it queued is dropped: it no longer counts against the other pulls.
    queuedTotal -= this.#queued;
    this.#queued = 0;
    return new Promise<void>((resolve) => {
      const remove = (): void => {
        this.#abandoned = () => {};
        const fd = this.#fd;
        this.#fd = null;
        void new Promise<void>((closed) => (fd === null ? closed() : close(fd, () => closed())))
          .then(() => unlink(this.#localPath))
          .catch(() => {})
          .then(resolve);
      };
      // Closing under a write or an open in flight would race it: they call remove when they land.
      if (this.#writing || this.#opening !== null) this.#abandoned = remove;
      else remove();
    });
  }
}

/**
 * Opens path to be written from its start. A regular file already there is unlinked first, as
 * adb's client does (sync_recv), rather than truncated: ext4 flushes a file truncated and written
 * again when it is closed (auto_da_alloc), which made a pull over an earlier one 30-40% slower.
 * Anything else (a device such as /dev/null, a link, a FIFO) is opened as it is.
 */
async function replaceFile(path: string): Promise<number> {
  const st = await lstat(path).catch(() => null);
  // Whatever stops the unlink, the open then reports.
  if (st?.isFile() === true) await unlink(path).catch(() => {});
  // A plain fd (not a FileHandle, which would close it when collected).
  return new Promise((resolve, reject) => open(path, 'w', (e, fd) => (e === null ? resolve(fd) : reject(e))));
}

/**
 * replaceFile in place, for a path that is a regular file or nothing; null for anything else,
 * which replaceFile opens in the thread pool (opening a FIFO waits for its reader).
 */
function replaceFileNow(path: string): number | null {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st !== undefined && !st.isFile()) return null;
  if (st !== undefined) {
    try {
      unlinkSync(path);
    } catch {
      // the open reports it
    }
  }
  return openSync(path, 'w');
}

/** What is left of buffers after the first n bytes of them. */
function rest(buffers: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = n;
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}
