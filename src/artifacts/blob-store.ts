// The artifact directory: files named by their SHA-256 (<dir>/ab/abcdef...), written once through
// a temporary file in <dir>/tmp and a rename, so a reader never sees half a file and the same
// bytes are kept once whoever sent them. The store (database) says which tenant may use which
// file; this only keeps bytes. Every API and worker process of a deployment must see the same
// directory: the API writes uploads and fetched packages, the worker reads them for a push and
// writes what it pulls.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { BlobRef } from '../core/index.js';
import { Scavenger } from './scavenge.js';

const SHA256 = /^[0-9a-f]{64}$/;

/** A write passed its byte limit: the temporary file is gone. */
export class BlobTooLargeError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`larger than ${limit} bytes`);
    this.name = 'BlobTooLargeError';
    this.limit = limit;
  }
}

export class BlobStore {
  readonly dir: string;
  readonly #tmp: string;

  constructor(dir: string) {
    this.dir = dir;
    this.#tmp = join(dir, 'tmp');
  }

  /** where files being written live until they are complete (tmp/) */
  get tempDir(): string {
    return this.#tmp;
  }

  /** Creates the directory (and its tmp/) if missing. */
  async init(): Promise<void> {
    await mkdir(this.#tmp, { recursive: true, mode: 0o700 });
  }

  /** Where the file of this hash lives (whether or not it is there). Throws for a string that is
   * not a SHA-256 in hex: no caller's value becomes a path otherwise. */
  pathOf(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error(`not a sha256: ${sha256.slice(0, 80)}`);
    return join(this.dir, sha256.slice(0, 2), sha256);
  }

  /** The size of the stored file of this hash, or null when it is not there. */
  async sizeOf(sha256: string): Promise<number | null> {
    try {
      return (await stat(this.pathOf(sha256))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** A fresh path in tmp/ for a file written elsewhere (a pull), to place() once complete. */
  tempPath(): string {
    return join(this.#tmp, `${Date.now()}-${randomBytes(8).toString('hex')}`);
  }

  /** A sink that hashes and stores what is written to it, at most maxBytes (then it fails with
   * BlobTooLargeError). After it finished, `result()` gives the stored file; on failure call
   * `discard()`. */
  createWriter(maxBytes: number): BlobWriter {
    return new BlobWriter(this, this.tempPath(), maxBytes);
  }

  /** Streams `source` into the store (an upload, a download); the temporary file is removed on
   * any failure, and a source past maxBytes fails with BlobTooLargeError. */
  async write(source: AsyncIterable<Buffer | Uint8Array>, maxBytes: number): Promise<BlobRef> {
    const writer = this.createWriter(maxBytes);
    // The writer fails by an 'error' event on a later tick, which may come while no write waits
    // for it (a chunk past the limit, written when the buffer had room): without a listener of
    // its own the event would be an uncaught exception. `errored` says it at once.
    writer.on('error', () => {});
    try {
      const scavenger = new Scavenger();
      for await (const chunk of source) {
        scavenger.passed(chunk.length);
        if (!writer.write(chunk) && writer.errored === null) await drained(writer);
        if (writer.errored !== null) throw writer.errored;
      }
      await new Promise<void>((resolve, reject) => writer.end((err?: Error | null) => (err ? reject(err) : resolve())));
      return await writer.result();
    } catch (err) {
      const failure = writer.errored ?? err;
      await writer.discard();
      throw failure;
    }
  }

  /** Removes the file of this hash (the caller checked nothing names it). */
  async remove(sha256: string): Promise<void> {
    await unlink(this.pathOf(sha256)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** Moves a complete temporary file whose hash and size are known into place, or keeps the copy
   * already there (the writers' last step). */
  async place(tempPath: string, ref: BlobRef): Promise<BlobRef> {
    const final = this.pathOf(ref.sha256);
    await mkdir(join(this.dir, ref.sha256.slice(0, 2)), { recursive: true, mode: 0o700 });
    if ((await this.sizeOf(ref.sha256)) === ref.size) {
      // Kept once: touch the copy there so a sweep of unreferenced files counts from now.
      const now = new Date();
      await utimes(final, now, now);
      await unlink(tempPath).catch(() => {});
    } else {
      await rename(tempPath, final);
    }
    return ref;
  }
}

/** Resolves when the writer can take more, or failed, or closed (the caller then finds out which). */
function drained(writer: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      writer.off('drain', done);
      writer.off('error', done);
      writer.off('close', done);
      resolve();
    };
    writer.on('drain', done);
    writer.on('error', done);
    writer.on('close', done);
  });
}

/** A Writable into the blob store: hashing as it writes a temporary file. */
export class BlobWriter extends Writable {
  readonly tempPath: string;
  readonly #store: BlobStore;
  readonly #maxBytes: number;
  readonly #hash = createHash('sha256');
  readonly #file: WriteStream;
  #size = 0;
  #done: Promise<void>;

  constructor(store: BlobStore, tempPath: string, maxBytes: number) {
    super({ highWaterMark: 1024 * 1024 });
    this.#store = store;
    this.tempPath = tempPath;
    this.#maxBytes = maxBytes;
    this.#file = createWriteStream(tempPath, { mode: 0o600, highWaterMark: 1024 * 1024 });
    this.#done = new Promise((resolve, reject) => {
      this.#file.once('close', resolve);
      this.#file.once('error', reject);
    });
    // Nobody may be listening yet: the failure surfaces through write/end callbacks instead.
    this.#done.catch(() => {});
  }

  /** bytes written so far */
  get size(): number {
    return this.#size;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#size += chunk.length;
    if (this.#size > this.#maxBytes) {
      cb(new BlobTooLargeError(this.#maxBytes));
      return;
    }
    this.#hash.update(chunk);
    if (this.#file.write(chunk)) cb();
    else this.#file.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#file.end();
    this.#done.then(() => cb(), cb);
  }

  /** Once ended: moves the file into place and returns what it holds. */
  async result(): Promise<BlobRef> {
    await this.#done;
    return this.#store.place(this.tempPath, { sha256: this.#hash.digest('hex'), size: this.#size });
  }

  /** Drops the temporary file (after a failure, or a result nobody wants). */
  async discard(): Promise<void> {
    if (!this.destroyed) this.destroy();
    this.#file.destroy();
    await this.#done.catch(() => {});
    await unlink(this.tempPath).catch(() => {});
  }
}
