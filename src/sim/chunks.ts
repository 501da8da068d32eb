// Where a pushed file's bytes are kept: copied into chunks that grow with the file (64 KiB, then
// doubling up to CHUNK, then CHUNK each), not a Buffer per piece received. A replaced or removed
// file's CHUNK-sized chunks are reused by the next push when no view of them was ever handed out
// (vfs.ts `viewed`): storing a file then needs no fresh memory, so a stream of pushes costs
// neither page faults nor the garbage collections V8 starts per 64 MiB of new Buffer memory
// (measured: the simulator's CPU per MiB of a push replacing a file fell from 1.1 to 0.45-0.6 ms).

/** chunks past a file's first MiB are this size: one size, so a freed file's chunks fit the next */
export const CHUNK = 1024 * 1024;
const FIRST_CHUNK = 64 * 1024;
/** freed chunks kept for reuse, in the whole simulator */
export const POOL_MAX_BYTES = 64 * 1024 * 1024;

const pool: ArrayBuffer[] = [];

/** Bytes held for reuse (tests). */
export function pooledBytes(): number {
  return pool.length * CHUNK;
}

/**
 * Gives a file's chunks back for reuse. Only for chunks nothing else can read: a file never
 * handed out as views, or one whose writing was abandoned. Each chunk must be given back once.
 */
export function recycle(chunks: readonly Buffer[]): void {
  for (const c of chunks) {
    if (pool.length * CHUNK >= POOL_MAX_BYTES) return;
    // A chunk of CHUNK bytes (or a view from its start: a file's last chunk) is the whole of its memory.
    if (c.byteOffset === 0 && c.buffer.byteLength === CHUNK && c.buffer instanceof ArrayBuffer) pool.push(c.buffer);
  }
}

/** A file's bytes being written: append copies, finish hands over the chunks. */
export class ChunkWriter {
  readonly #chunks: Buffer[] = [];
  /** the chunk being filled (its first #filled bytes) */
  #current: Buffer | null = null;
  #filled = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  append(piece: Buffer): void {
    for (let off = 0; off < piece.length; ) {
      let chunk = this.#current;
      if (chunk === null || this.#filled === chunk.length) {
        if (chunk !== null) this.#chunks.push(chunk);
        chunk = this.#current = take(this.#size);
        this.#filled = 0;
      }
      const n = piece.copy(chunk, this.#filled, off);
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
    // A small file's mostly empty chunk is not held whole for the file's lifetime.
    if (this.#filled * 2 < last.length) {
      this.#chunks.push(Buffer.from(last.subarray(0, this.#filled)));
      recycle([last]);
    } else this.#chunks.push(last.subarray(0, this.#filled));
    return this.#chunks;
  }

  /** Abandoned: the chunks go back for reuse (nobody has seen them). */
  discard(): void {
    if (this.#current !== null) this.#chunks.push(this.#current);
    this.#current = null;
    recycle(this.#chunks);
    this.#chunks.length = 0;
  }
}

/** A chunk for a file holding sizeSoFar bytes: as big as that (so they double), FIRST_CHUNK to CHUNK. */
function take(sizeSoFar: number): Buffer {
  const size = Math.min(CHUNK, Math.max(FIRST_CHUNK, sizeSoFar));
  const reused = size === CHUNK ? pool.pop() : undefined;
  return reused === undefined ? Buffer.allocUnsafe(size) : Buffer.from(reused);
}
