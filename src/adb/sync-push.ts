// Push: SEND `path,mode`, the file as DATA pieces, DONE with its mtime, then the device's OKAY or
// FAIL (SYNC.TXT). The file is streamed from disk: each WRTE payload (up to the device's max, 1 MiB)
// is filled by one readv straight into its DATA pieces' places, in place or through the thread pool
// (local-io.ts). Payloads travel while the device's window and the buffers a push may have let
// them (one without delayed_ack, several with it, one more read into behind them); a payload's
// buffer is read into again once the device acknowledged it: memory stays at a few payload
// buffers, reused, whatever the file's size.

import { readvSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { SyncCall, BARE_SHAPE, type SyncOptions, type SyncTarget } from './sync-call.js';
import { keepBuffer, takeBuffer } from './buffers.js';
import { TransferError } from './errors.js';
import { inPlace, timedCall } from './local-io.js';
import { MAX_PAYLOAD, S_IFREG, SYNC_DATA_MAX, SYNC_HEADER_SIZE, SyncId, syncHeader, syncRequest, type SyncShape } from './wire/index.js';

/**
 * Payload buffers (1 MiB each with today's adbd) a push may have in flight or waiting. Every push
 * has one of its own. More keep a long link busy (in flight at once, with delayed_ack, or one read
 * into while the last travels): those come from SHARED_EXTRA, which all the process's pushes
 * share. One push alone gets 1 + SHARED_EXTRA; a hundred at once hold one each and SHARED_EXTRA
 * besides, so memory stays bounded whatever their number (ten 200 MiB pushes at once, the service
 * under 150 MiB: test/e2e/big-push.test.ts).
 */
const OWN_BUFFERS = 1;
const SHARED_EXTRA = 4;
let extraInUse = 0;
export interface PushOptions extends SyncOptions {
  /** permission bits on the device (default: the local file's) */
  mode?: number;
  /** modification time on the device, epoch seconds (default: the local file's) */
  mtime?: number;
}

export interface TransferResult {
  /** file bytes transferred */
  bytes: number;
  /** hex sha256 of those bytes, from a pull asked for it (PullOptions.sha256) */
  sha256?: string;
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
   * The payload buffers, made as needed (OWN_BUFFERS, then shared ones) and reused: a buffer is free once the
   * device acknowledged the bytes up to its payload's end (#ends[i], in #written's count; 0 for
   * one never sent). No allocation per MiB, and after a push that completed, none at all (buffers.ts).
   */
  readonly #buffers: Buffer[] = [];
  readonly #ends: number[] = [];
  /** bytes written to the stream: the request, the payloads, DONE */
  #written = 0;
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
  }

  protected shape(id: number): SyncShape | null {
    return id === SyncId.OKAY ? BARE_SHAPE : null;
  }

  protected begin(): void {
    this.#write(syncRequest(SyncId.SEND, this.#sendArg));
    this.#next();
  }

  onDrain(): void {
    this.#next();
  }

  protected onFrame(id: number): void {
    // adbd answers a SEND once, after DONE; an OKAY before it is not adbd's.
    if (!this.#sent) return this.unexpected(id);
    // The device has every payload (it answered DONE), so no buffer is still on its way out.
    for (const b of this.#buffers) keepBuffer(b);
    this.#closeFile();
    this.succeed({ bytes: this.#position });
  }

  protected override cleanup(): void {
    this.#closeFile();
  }

  #write(data: Buffer): void {
    this.#written += data.length;
    this.stream?.write(data);
  }

  /** A buffer whose last payload the device has acknowledged (or a new one); -1 if none may be had. */
  #freeBuffer(unacknowledged: number): number {
    const acknowledged = this.#written - unacknowledged;
    for (let i = 0; i < this.#buffers.length; i++) if (this.#ends[i]! <= acknowledged) return i;
    if (this.#buffers.length >= OWN_BUFFERS) {
      if (extraInUse >= SHARED_EXTRA) return -1;
      extraInUse++;
    }
    this.#buffers.push(takeBuffer(this.#payloadSize));
    this.#ends.push(0);
    return this.#buffers.length - 1;
  }

  /** Reads the next payload when nothing of ours waits for the device's window and a buffer is free. */
  #next(): void {
    if (this.done || this.#reading || this.#sent || this.stream === null || this.stream.queued > 0) return;
    const index = this.#freeBuffer(this.stream.unacknowledged);
    if (index < 0) return; // the device's next OKAY (onDrain) frees one
    this.#reading = true;
    const payload = this.#buffers[index]!;
    const views: Buffer[] = [];
    for (let at = 0; this.#payloadSize - at > SYNC_HEADER_SIZE; ) {
      const length = Math.min(SYNC_DATA_MAX, this.#payloadSize - at - SYNC_HEADER_SIZE);
      views.push(payload.subarray(at + SYNC_HEADER_SIZE, at + SYNC_HEADER_SIZE + length));
      at += SYNC_HEADER_SIZE + length;
    }
    if (inPlace()) {
      let bytesRead: number;
      try {
        bytesRead = timedCall(() => readvSync(this.#fh.fd, views, this.#position));
      } catch (e) {
        this.#reading = false;
        return this.localFailed(e, this.#localPath);
      }
      return this.#send(index, views, bytesRead);
    }
    this.#fh.readv(views, this.#position).then(
      ({ bytesRead }) => this.#send(index, views, bytesRead),
      (e: unknown) => {
        this.#reading = false;
        if (this.done) return this.#closeFile();
        this.localFailed(e, this.#localPath);
      },
    );
  }

  #send(index: number, views: Buffer[], bytesRead: number): void {
    this.#reading = false;
    const payload = this.#buffers[index]!;
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
    if (end > 0) {
      this.#write(payload.subarray(0, end));
      this.#ends[index] = this.#written;
    }
    if (!last) return this.#next();
    this.#sent = true;
    this.#write(syncHeader(SyncId.DONE, this.#mtime));
  }

  #closeFile(): void {
    // A read in flight closes the file when it lands: closing under it would race it.
    if (this.#fileClosed || this.#reading) return;
    this.#fileClosed = true;
    // The call is over (answered, failed or cancelled) and no read uses a buffer: the shared ones go back.
    extraInUse -= Math.max(0, this.#buffers.length - OWN_BUFFERS);
    this.#buffers.length = 0;
    this.#ends.length = 0;
    this.#fh.close().catch(() => {});
  }
}
