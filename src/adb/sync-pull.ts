// Pull: RECV path, then the device's DATA pieces until DONE, or a FAIL (SYNC.TXT). The pieces go
// to disk as they come; when the file's write buffer is full the stream is paused (its OKAYs
// withheld), so the device sends nothing more until the disk has caught up: memory stays at the
// write stream's high-water mark plus one WRTE payload. A failed pull removes its partial file.

import { createWriteStream, type WriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { SyncCall, BARE_SHAPE, type SyncOptions, type SyncTarget } from './sync-call.js';
import type { TransferResult } from './sync-push.js';
import { SYNC_DATA_MAX, SYNC_HEADER_SIZE, SyncId, syncRequest, type SyncShape } from './wire/index.js';

const DATA_SHAPE: SyncShape = { headerSize: SYNC_HEADER_SIZE, lengthAt: 4, streamed: true, maxLength: SYNC_DATA_MAX };
/** what the file's write stream may hold before the device is paused */
const HIGH_WATER_MARK = 4 * 1024 * 1024;

export function pullOn(target: SyncTarget, remotePath: string, localPath: string, opts: SyncOptions): Promise<TransferResult> {
  return new PullCall(target, remotePath, localPath, opts).run();
}

class PullCall extends SyncCall<TransferResult> {
  readonly #remotePath: string;
  readonly #localPath: string;
  #file: WriteStream | null = null;
  #bytes = 0;
  #received = false;

  constructor(target: SyncTarget, remotePath: string, localPath: string, opts: SyncOptions) {
    super(target, `pull of ${remotePath}`, opts);
    this.#remotePath = remotePath;
    this.#localPath = localPath;
  }

  protected shape(id: number): SyncShape | null {
    return id === SyncId.DATA ? DATA_SHAPE : id === SyncId.DONE ? BARE_SHAPE : null;
  }

  protected begin(): void {
    const file = createWriteStream(this.#localPath, { highWaterMark: HIGH_WATER_MARK });
    this.#file = file;
    file.on('error', (e) => this.localFailed(e, this.#localPath));
    file.on('drain', () => this.stream?.resume());
    this.stream?.write(syncRequest(SyncId.RECV, this.#remotePath));
  }

  protected onFrame(id: number): void {
    if (id !== SyncId.DONE) return;
    this.#received = true;
    const file = this.#file!;
    // Resolved once the bytes are on disk (the file closed), not when the last piece arrived.
    file.end(() => {
      if (!this.done) this.succeed({ bytes: this.#bytes });
    });
  }

  override onClose(err: Parameters<SyncCall<TransferResult>['onClose']>[0]): void {
    // After DONE the file is complete: the stream ending while it is flushed to disk changes nothing.
    if (this.#received) {
      this.stream = null;
      return;
    }
    super.onClose(err);
  }

  protected override onPiece(piece: Buffer): void {
    if (this.#received) return;
    this.#bytes += piece.length;
    // Kept without a copy: the packet decoder never reuses a payload's memory (socket chunks and
    // reassembled packets are fresh Buffers), so the view stays valid while the file holds it.
    if (!this.#file!.write(piece)) this.stream?.pause();
  }

  /** The device failed (or went away) mid-file: a partial file must not pass for the real one. */
  protected override cleanup(): Promise<void> | void {
    const file = this.#file;
    if (file === null) return;
    this.#file = null;
    return new Promise<void>((resolve) => {
      file.once('close', () => {
        unlink(this.#localPath).then(resolve, () => resolve());
      });
      file.destroy();
    });
  }
}
