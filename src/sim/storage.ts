// One instance's writable view of the filesystem. The system image's tree is shared by every
// instance (device-state.ts); a write copies only the directories on its path (copy on write),
// so an instance that never had a file pushed costs nothing. Pushed files' bytes are held in
// memory, counted against the instance's storage limit: past it a write fails with ENOSPC, as a
// full /data does, and "disk full" can be tested. Identical bytes are held once in the whole
// simulator (chunks.ts), but each instance counts a file's full size, as a device's disk would.
import { S_IFDIR, S_IFREG, type SyncStat } from '../adb/wire/index.js';
import { ChunkWriter, release } from './chunks.js';
import { allowed, dir, fileSize, lookup, normalize, type VNode } from './vfs.js';

export type Errno = 'ENOENT' | 'EACCES' | 'ENOTDIR' | 'EISDIR' | 'ENOSPC';

/** strerror as bionic words it: the sync service's FAIL messages quote it. */
export const STRERROR: Record<Errno, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  ENOSPC: 'No space left on device',
};

/**
 * A file being written: bytes go in piece by piece, the file appears complete on commit. A file
 * that was at the path left the tree when the writer was made (as adbd unlinks it first).
 */
export interface FileWriter {
  /**
   * Stores the piece in the file's chunks (chunks.ts: shared with an earlier file holding the same
   * bytes, else copied; pieces are views into a read buffer the next read reuses). ENOSPC past
   * the storage limit.
   */
  write(piece: Buffer): Errno | null;
  commit(mtimeMs: number): void;
  /** drops what was written (a failed or cut transfer leaves no file, as adbd unlinks it) */
  abort(): void;
}

export class DeviceFiles {
  readonly limit: number;
  #used = 0;
  #root: VNode;
  /** directories this instance owns (copied from the shared tree, or made here) */
  readonly #owned = new WeakSet<VNode>();
  readonly #props: () => ReadonlyMap<string, string>;

  constructor(shared: VNode, limit: number, props: () => ReadonlyMap<string, string>) {
    this.#root = shared;
    this.limit = limit;
    this.#props = props;
  }

  get root(): VNode {
    return this.#root;
  }

  /** Bytes of pushed files held. */
  get used(): number {
    return this.#used;
  }

  /** lstat as STAT v1 answers it: null when the path cannot be reached. */
  stat(path: string): SyncStat | null {
    const r = lookup(this.#root, path);
    if ('error' in r) return null;
    return statOf(r.node, this.#props());
  }

  /** A directory's entries with `.` and `..` (what readdir gives adbd); an errno for anything else. */
  list(path: string): { name: string; stat: SyncStat }[] | Errno {
    const r = lookup(this.#root, path);
    if ('error' in r) return r.error;
    if (!r.node.dir) return 'ENOTDIR';
    if (!allowed(r.node, 4)) return 'EACCES';
    const props = this.#props();
    const self = statOf(r.node, props);
    return [{ name: '.', stat: self }, { name: '..', stat: self }, ...[...r.node.children!.values()].map((c) => ({ name: c.name, stat: statOf(c, props) }))];
  }

  /** A readable regular file, or why not. */
  file(path: string): VNode | Errno {
    const r = lookup(this.#root, path);
    if ('error' in r) return r.error;
    if (r.node.dir) return 'EISDIR';
    if (!allowed(r.node, 4)) return 'EACCES';
    return r.node;
  }

  /**
   * Starts writing a file, making missing parent directories as adbd's SEND does (secure_mkdirs).
   * Permission follows the shell user, as for adbd. A file already there is unlinked now, as
   * adbd's send_impl does before it receives anything: its bytes are freed (their chunks free
   * for this push to reuse), and a push that then fails leaves no file at the path.
   */
  create(path: string, mode: number): FileWriter | Errno {
    const parts = normalize(path).split('/').filter((p) => p !== '');
    const name = parts.pop();
    if (name === undefined) return 'EISDIR';
    let parent = this.#own(this.#root, null, '');
    for (const part of parts) {
      if (!allowed(parent, 0o1)) return 'EACCES';
      const next = parent.children!.get(part);
      if (next === undefined) {
        if (!allowed(parent, 0o2)) return 'EACCES';
        const made = dir(part, [], 0o771, 'shell', 'shell');
        made.mtime = Date.now();
        this.#owned.add(made);
        parent.children!.set(part, made);
        parent = made;
      } else if (!next.dir) return 'ENOTDIR';
      else parent = this.#own(next, parent, part);
    }
    const existing = parent.children!.get(name);
    if (existing?.dir === true) return 'EISDIR';
    if (!allowed(parent, 0o2) || (existing !== undefined && !allowed(existing, 0o2))) return 'EACCES';
    if (existing !== undefined) this.#unlink(parent, name, existing);
    return this.#writer(parent, name, mode);
  }

  /** Unlinks a file (rm), if its directory is writable; a pushed file's bytes are freed. */
  remove(path: string): Errno | null {
    const found = lookup(this.#root, path);
    if ('error' in found) return found.error;
    if (found.node.dir) return 'EISDIR';
    const parts = normalize(path).split('/').filter((p) => p !== '');
    const name = parts.pop()!;
    let parent = this.#own(this.#root, null, '');
    for (const part of parts) parent = this.#own(parent.children!.get(part)!, parent, part);
    if (!allowed(parent, 0o2)) return 'EACCES';
    this.#unlink(parent, name, parent.children!.get(name)!);
    return null;
  }

  /** A file leaves its (owned) directory; a pushed file's bytes are freed. */
  #unlink(parent: VNode, name: string, node: VNode): void {
    parent.children!.delete(name);
    parent.mtime = Date.now();
    if (node.blob !== undefined) this.#free(node);
  }

  #writer(parent: VNode, name: string, mode: number): FileWriter {
    const bytes = new ChunkWriter();
    let open = true;
    return {
      write: (piece) => {
        if (!open) return null;
        if (this.#used + piece.length > this.limit) return 'ENOSPC';
        bytes.append(piece);
        this.#used += piece.length;
        return null;
      },
      commit: (mtimeMs) => {
        if (!open) return;
        open = false;
        // Another push to the path may have committed meanwhile: the last to commit wins.
        const old = parent.children!.get(name);
        if (old?.blob !== undefined) this.#free(old);
        parent.children!.set(name, { name, dir: false, mode: mode & 0o7777, owner: 'shell', group: 'shell', mtime: mtimeMs, links: 1, blob: bytes.finish(), size: bytes.size });
        parent.mtime = Date.now();
      },
      abort: () => {
        if (!open) return;
        open = false;
        this.#used -= bytes.size;
        bytes.discard();
      },
    };
  }

  /** A pushed file leaves the tree: its bytes no longer count, and its chunks are let go (chunks.ts). */
  #free(node: VNode): void {
    this.#used -= node.size ?? 0;
    if (node.blob !== undefined) release(node.blob);
  }

  /** The instance's own copy of a shared directory, put in place of it (parent already owned). */
  #own(node: VNode, parent: VNode | null, name: string): VNode {
    if (this.#owned.has(node)) return node;
    const copy: VNode = { ...node, children: new Map(node.children) };
    this.#owned.add(copy);
    if (parent === null) this.#root = copy;
    else parent.children!.set(name, copy);
    return copy;
  }
}

function statOf(node: VNode, props: ReadonlyMap<string, string>): SyncStat {
  return { mode: (node.dir ? S_IFDIR : S_IFREG) | node.mode, size: fileSize(node, props), mtime: Math.floor(node.mtime / 1000) };
}
