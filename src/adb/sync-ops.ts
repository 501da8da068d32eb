// The sync service's questions: STAT (v1, an lstat) and LIST. Each is one request on its own
// `sync:` stream (sync-call.ts); transfers are sync-push.ts and sync-pull.ts.

import { SyncCall, type SyncOptions, type SyncTarget } from './sync-call.js';
import { SYNC_DENT_SIZE, SYNC_PATH_MAX, SYNC_STAT_SIZE, SyncId, syncRequest, type SyncShape, type SyncStat } from './wire/index.js';

export interface SyncEntry extends SyncStat {
  name: string;
}

const STAT_SHAPE: SyncShape = { headerSize: SYNC_STAT_SIZE, lengthAt: null, streamed: false, maxLength: 0 };
const DENT_SHAPE: SyncShape = { headerSize: SYNC_DENT_SIZE, lengthAt: 16, streamed: false, maxLength: SYNC_PATH_MAX };
const LIST_DONE_SHAPE: SyncShape = { headerSize: SYNC_DENT_SIZE, lengthAt: null, streamed: false, maxLength: 0 };

/** mode, size and mtime of a path; null when the device says there is none (v1 STAT answers zeros). */
export function statOn(target: SyncTarget, path: string, opts: SyncOptions): Promise<SyncStat | null> {
  return new StatCall(target, path, opts).run();
}

/** A directory's entries, without `.` and `..` (an empty list also for a path that is not a readable directory). */
export function listOn(target: SyncTarget, path: string, opts: SyncOptions): Promise<SyncEntry[]> {
  return new ListCall(target, path, opts).run();
}

class StatCall extends SyncCall<SyncStat | null> {
  readonly #path: string;

  constructor(target: SyncTarget, path: string, opts: SyncOptions) {
    super(target, `stat ${path}`, opts);
    this.#path = path;
  }

  protected shape(id: number): SyncShape | null {
    return id === SyncId.STAT ? STAT_SHAPE : null;
  }

  protected begin(): void {
    this.stream?.write(syncRequest(SyncId.STAT, this.#path));
  }

  protected onFrame(_id: number, h: Buffer): void {
    const stat = { mode: h.readUInt32LE(4), size: h.readUInt32LE(8), mtime: h.readUInt32LE(12) };
    this.succeed(stat.mode === 0 ? null : stat);
  }
}

class ListCall extends SyncCall<SyncEntry[]> {
  readonly #path: string;
  readonly #entries: SyncEntry[] = [];

  constructor(target: SyncTarget, path: string, opts: SyncOptions) {
    super(target, `list ${path}`, opts);
    this.#path = path;
  }

  protected shape(id: number): SyncShape | null {
    return id === SyncId.DENT ? DENT_SHAPE : id === SyncId.DONE ? LIST_DONE_SHAPE : null;
  }

  protected begin(): void {
    this.stream?.write(syncRequest(SyncId.LIST, this.#path));
  }

  protected onFrame(id: number, h: Buffer, name: Buffer): void {
    if (id === SyncId.DONE) return this.succeed(this.#entries);
    const n = name.toString('utf8');
    if (n === '.' || n === '..') return;
    this.#entries.push({ name: n, mode: h.readUInt32LE(4), size: h.readUInt32LE(8), mtime: h.readUInt32LE(12) });
  }
}
