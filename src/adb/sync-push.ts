// Push: SEND `path,mode`, the file as DATA pieces, DONE with its mtime, then the device's OKAY or
// FAIL (SYNC.TXT). The file is streamed from disk: each WRTE payload (up to the device's max, 1 MiB)
// is filled by one readv straight into its DATA pieces' places, one payload travels while the
// next waits behind it, and the next read starts only when the device acknowledged one
// (onDrain): memory stays at two payload buffers, reused, whatever the file's size.

import { open, type FileHandle } from 'node:fs/promises';
import { SyncCall, BARE_SHAPE, type SyncOptions, type SyncTarget } from './sync-call.js';
import { TransferError } from './errors.js';
import { MAX_PAYLOAD, S_IFREG, SYNC_DATA_MAX, SYNC_HEADER_SIZE, SyncId, syncHeader, syncRequest, type SyncShape } from './wire/index.js';

export interface PushOptions extends SyncOptions {
  /** permission bits on the device (default: the local file's) */
  mode?: number;
  /** modification time on the device, epoch seconds (default: the local file's) */
  mtime?: number;
}

export interface TransferResult {
  /** file bytes transferred */
  bytes: number;
}

export async function pushOn(target: SyncTarget, localPath: string, remotePath: string, opts: PushOptions): Promise<TransferResult> {
  const what = `push to ${remotePath}`;
  let fh: FileHandle;
  let mode: number;
  let mtime: number;
  try {
    fh = await open(localPath, 'r');
  } catch (e) {
    throw localError(target.address, what, localPath, e);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
    mode = opts.mode ?? st.mode & 0o7777;
    mtime = opts.mtime ?? Math.floor(st.mtimeMs / 1000);
  } catch (e) {
    await fh.close();
    throw localError(target.address, what, localPath, e);
  }
  return new PushCall(target, what, fh, localPath, `${remotePath},${S_IFREG | (mode & 0o7777)}`, mtime, opts).run();
}

function localError(address: string, what: string, path: string, e: unknown): TransferError {
  const err = e as NodeJS.ErrnoException;
  return new TransferError('LOCAL_IO', address, `${what}: ${path}: ${err.code ?? err.message}`, { cause: e });
}

class PushCall extends SyncCall<TransferResult> {
  readonly #fh: FileHandle;
  readonly #localPath: string;
  readonly #sendArg: string;
  readonly #mtime: number;
  readonly #payloadSize: number;
  #position = 0;
  /**
   * The two payload buffers, used in turn. Payload i is read only once nothing waits behind the
   * WRTE in flight (#next): payload i-1 was sent, which the stream does only after the device's
   * OKAY of payload i-2, so i-2's buffer is free again. No allocation per MiB, no garbage.
   */
  readonly #buffers: [Buffer, Buffer];
  #count = 0;
  #reading = false;
  /** DONE is written: now only the device's answer is awaited */
  #sent = false;
  #fileClosed = false;

  constructor(target: SyncTarget, what: string, fh: FileHandle, localPath: string, sendArg: string, mtime: number, opts: SyncOptions) {
    super(target, what, opts);
    this.#fh = fh;
    this.#localPath = localPath;
    this.#sendArg = sendArg;
    this.#mtime = mtime;
    this.#payloadSize = Math.min(Math.max(target.maxPayload, SYNC_HEADER_SIZE * 2), MAX_PAYLOAD);
    this.#buffers = [Buffer.allocUnsafe(this.#payloadSize), Buffer.allocUnsafe(this.#payloadSize)];
  }

  protected shape(id: number): SyncShape | null {
    return id === SyncId.OKAY ? BARE_SHAPE : null;
  }

  protected begin(): void {
    this.stream?.write(syncRequest(SyncId.SEND, this.#sendArg));
    this.#next();
  }

  onDrain(): void {
    this.#next();
  }

  protected onFrame(id: number): void {
    // adbd answers a SEND once, after DONE; an OKAY before it is not adbd's.
    if (!this.#sent) return this.unexpected(id);
    this.#closeFile();
    this.succeed({ bytes: this.#position });
  }

  protected override cleanup(): void {
    this.#closeFile();
  }

  /** Reads the next payload when nothing of ours waits behind the WRTE in flight. */
  #next(): void {
    if (this.done || this.#reading || this.#sent || this.stream === null || this.stream.queued > 0) return;
    this.#reading = true;
    const payload = this.#buffers[this.#count++ % 2]!;
    const views: Buffer[] = [];
    for (let at = 0; this.#payloadSize - at > SYNC_HEADER_SIZE; ) {
      const length = Math.min(SYNC_DATA_MAX, this.#payloadSize - at - SYNC_HEADER_SIZE);
      views.push(payload.subarray(at + SYNC_HEADER_SIZE, at + SYNC_HEADER_SIZE + length));
      at += SYNC_HEADER_SIZE + length;
    }
    this.#fh.readv(views, this.#position).then(
      ({ bytesRead }) => this.#send(payload, views, bytesRead),
      (e: unknown) => {
        this.#reading = false;
        if (this.done) return this.#closeFile();
        this.localFailed(e, this.#localPath);
      },
    );
  }

  #send(payload: Buffer, views: Buffer[], bytesRead: number): void {
    this.#reading = false;
    if (this.done) return this.#closeFile();
    let left = bytesRead;
    let end = 0;
    let requested = 0;
    for (const v of views) {
      requested += v.length;
      if (left === 0) continue;
      const length = Math.min(v.length, left);
      payload.writeUInt32LE(SyncId.DATA, end);
      payload.writeUInt32LE(length, end + 4);
      end += SYNC_HEADER_SIZE + length;
      left -= length;
    }
    this.#position += bytesRead;
    const last = bytesRead < requested;
    if (end > 0) this.stream?.write(payload.subarray(0, end));
    if (!last) return this.#next();
    this.#sent = true;
    this.stream?.write(syncHeader(SyncId.DONE, this.#mtime));
  }

  #closeFile(): void {
    // A read in flight closes the file when it lands: closing under it would race it.
    if (this.#fileClosed || this.#reading) return;
    this.#fileClosed = true;
    this.#fh.close().catch(() => {});
  }
}
