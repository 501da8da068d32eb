// Where a pushed file's bytes are kept: in chunks that grow with the file (64 KiB, then doubling
// up to CHUNK, then CHUNK each), not a Buffer per piece received. Every file's chunk i covers the
// same offsets, which is what lets identical bytes be stored once:
// - The chunk last completed at each index, by any push to any instance, is that index's
//   candidate. A push compares the bytes it receives with the candidate at the same index as
//   they arrive (memcmp, far cheaper than a copy into fresh memory) and, while they are equal,
//   takes the candidate as its own chunk. At the first difference it copies the matched start
//   into a chunk of its own and goes on copying; the next index is compared afresh. One file
//   pushed to N instances, or pushed again, is held once (each instance still counts its full
//   size against its own limit: storage.ts). Two pushes of one file side by side each copy a
//   chunk both are filling, and the second to complete it keeps the first's instead.
// - Chunks are never written once complete. Each chunk's memory counts its holders (files,
//   candidates, pushes under way); one nobody holds goes to a pool the next push takes from,
//   unless views of it were handed out (a pull, cat: they may be read later, e.g. queued on a
//   socket). So a stream of pushes needs no fresh memory: no page faults, and none of the
//   garbage collections V8 starts per 64 MiB of new Buffer memory.

/** chunks past a file's first MiB are this size: one size, so a freed file's chunks fit the next */
export const CHUNK = 1024 * 1024;
const FIRST_CHUNK = 64 * 1024;
/** freed chunks kept for reuse, in the whole simulator */
export const POOL_MAX_BYTES = 64 * 1024 * 1024;

const pool: ArrayBuffer[] = [];
/** how many files, candidates and pushes under way hold each chunk's memory */
const holders = new WeakMap<ArrayBufferLike, number>();
/** memory that views were handed out of: never reused */
const handedOut = new WeakSet<ArrayBufferLike>();
/**
 * The candidate per chunk index. They hold at most one chunk per index of the largest file
 * pushed (so no more than the largest instance limit), on top of what files hold.
 */
const candidates: (Buffer | undefined)[] = [];
let heldSum = 0;

/** Bytes held for reuse (tests). */
export function pooledBytes(): number {
  return pool.length * CHUNK;
}

/** Bytes of chunk memory held by files, candidates and pushes under way, each chunk once however many share it (tests). */
export function heldBytes(): number {
  return heldSum;
}

/** A file's chunks leave it (removed, replaced, or its push abandoned). Once per chunk per file. */
export function release(chunks: readonly Buffer[]): void {
  for (const c of chunks) letGo(c);
}

/** Views of these chunks were handed out: their memory is never reused (the views may be read at any time). */
export function markHandedOut(chunks: readonly Buffer[]): void {
  for (const c of chunks) handedOut.add(c.buffer);
}

function hold(c: Buffer): void {
  const n = holders.get(c.buffer) ?? 0;
  if (n === 0) heldSum += c.buffer.byteLength;
  holders.set(c.buffer, n + 1);
}

function letGo(c: Buffer): void {
  const n = holders.get(c.buffer) ?? 0;
  if (n > 1) return void holders.set(c.buffer, n - 1);
  if (n === 0) throw new Error('a chunk was let go more often than it was held');
  holders.delete(c.buffer);
  heldSum -= c.buffer.byteLength;
  // Only a whole CHUNK-sized allocation is reusable as the next file's chunk.
  if (c.buffer.byteLength === CHUNK && c.buffer instanceof ArrayBuffer && !handedOut.has(c.buffer) && pool.length * CHUNK < POOL_MAX_BYTES) pool.push(c.buffer);
}

/** The size of the chunk that starts at a file offset: as big as the file so far (so they double), FIRST_CHUNK to CHUNK. */
function chunkSize(start: number): number {
  return Math.min(CHUNK, Math.max(FIRST_CHUNK, start));
}

/** A fresh chunk for the offset, held by the caller. */
function take(start: number): Buffer {
  const size = chunkSize(start);
  const reused = size === CHUNK ? pool.pop() : undefined;
  const chunk = reused === undefined ? Buffer.allocUnsafe(size) : Buffer.from(reused);
  hold(chunk);
  return chunk;
}

/**
 * A push completed a chunk of its own at index: it becomes the candidate there. When another push
 * has just completed the same bytes there, that chunk is kept instead and this one goes back.
 * Returns the chunk the file keeps (held for it).
 */
function settle(index: number, chunk: Buffer): Buffer {
  const old = candidates[index];
  if (old !== undefined && old.equals(chunk)) {
    hold(old);
    letGo(chunk);
    return old;
  }
  hold(chunk);
  candidates[index] = chunk;
  if (old !== undefined) letGo(old);
  return chunk;
}

/** A file's bytes being written: append stores them (shared or copied), finish hands over the chunks. */
export class ChunkWriter {
  /** complete chunks, each held for this file */
  readonly #chunks: Buffer[] = [];
  /** the chunk at index #chunks.length: its first #filled bytes are the file's */
  #current: Buffer | null = null;
  #filled = 0;
  /** #current is that index's candidate, compared with the bytes arriving, never written */
  #shared = false;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  append(piece: Buffer): void {
    for (let off = 0; off < piece.length; ) {
      let chunk = this.#current;
      if (chunk === null || this.#filled === chunk.length) chunk = this.#next();
      const n = Math.min(piece.length - off, chunk.length - this.#filled);
      if (this.#shared && !piece.subarray(off, off + n).equals(chunk.subarray(this.#filled, this.#filled + n))) chunk = this.#unshare();
      if (!this.#shared) piece.copy(chunk, this.#filled, off, off + n);
      this.#filled += n;
      this.#size += n;
      off += n;
    }
  }

  /** The file's chunks, the last cut to what it holds. */
  finish(): Buffer[] {
    const last = this.#current;
    this.#current = null;
    if (last === null) return this.#chunks;
    let tail: Buffer;
    if (this.#filled === last.length) tail = last;
    else if (this.#filled * 2 >= last.length) tail = last.subarray(0, this.#filled);
    else {
      // A small file's mostly empty chunk is not held whole for the file's lifetime.
      tail = Buffer.allocUnsafeSlow(this.#filled);
      last.copy(tail, 0, 0, this.#filled);
      hold(tail);
      letGo(last);
    }
    // A tail the candidate starts with leaves the candidate as it is: it holds more.
    this.#chunks.push(this.#shared ? tail : settle(this.#chunks.length, tail));
    return this.#chunks;
  }

  /** Abandoned: what it held is let go (its completed chunks stay candidates). */
  discard(): void {
    if (this.#current !== null) this.#chunks.push(this.#current);
    this.#current = null;
    release(this.#chunks);
    this.#chunks.length = 0;
  }

  /** #current is complete (or there is none): the next index's chunk, its candidate if there is one. */
  #next(): Buffer {
    const done = this.#current;
    if (done !== null) {
      // A candidate that was a shorter file's last chunk, and this file goes on: its own copy.
      if (this.#shared && done.length < chunkSize(this.#size - this.#filled)) return this.#unshare();
      this.#chunks.push(this.#shared ? done : settle(this.#chunks.length, done));
    }
    const candidate = candidates[this.#chunks.length];
    this.#filled = 0;
    this.#shared = candidate !== undefined;
    if (candidate !== undefined) hold(candidate);
    this.#current = candidate ?? take(this.#size);
    return this.#current;
  }

  /** The bytes differ from the candidate: a chunk of the file's own from here, the matched start copied in. */
  #unshare(): Buffer {
    const candidate = this.#current!;
    const own = take(this.#size - this.#filled);
    candidate.copy(own, 0, 0, this.#filled);
    letGo(candidate);
    this.#current = own;
    this.#shared = false;
    return own;
  }
}
