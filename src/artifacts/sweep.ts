// The artifact directory's sweep (run by the retention leader): a file no artifact row names any
// more (its upload purged, its task gone) is removed once it has not been written for an hour,
// and a temporary file left by a process that died mid-write once it is a day old. The hour
// covers the moment between a file's placing and its row's commit (an upload, a pull): a file is
// never judged by its rows before they could exist. A file placed again (the same bytes uploaded
// anew) has its time touched by BlobStore.place, and is looked at again just before it goes.
import type { Dirent } from 'node:fs';
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore } from './blob-store.js';

export interface SweepOptions {
  /** Of these sha256s, the ones a row still names (the store's referencedBlobs). */
  referenced(sha256s: readonly string[]): Promise<Set<string>>;
  /** default Date.now() */
  now?: number;
  /** a file no row names is kept this long after its last write; default one hour */
  unreferencedAgeMs?: number;
  /** a temporary file is kept this long after its last write; default one day */
  tempAgeMs?: number;
  /** sha256s per referenced() call; default 500 */
  batchSize?: number;
  /** asked between batches: the sweep stops early when it says so (the purger is stopping) */
  stopped?: () => boolean;
}

export interface Swept {
  /** files no row named, removed */
  files: number;
  /** temporary files removed */
  tempFiles: number;
}

export const UNREFERENCED_AGE_MS = 3_600_000;
export const TEMP_AGE_MS = 24 * 3_600_000;
const SHARD = /^[0-9a-f]{2}$/;
const SHA256 = /^[0-9a-f]{64}$/;

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** When the file was last written, or null when it is gone. */
async function modifiedAt(path: string): Promise<number | null> {
  try {
    return (await stat(path)).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function removeIfOlder(path: string, cutoff: number): Promise<boolean> {
  const at = await modifiedAt(path);
  if (at === null || at >= cutoff) return false;
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export async function sweepBlobs(blobs: BlobStore, opts: SweepOptions): Promise<Swept> {
  const now = opts.now ?? Date.now();
  const unreferencedCutoff = now - (opts.unreferencedAgeMs ?? UNREFERENCED_AGE_MS);
  const tempCutoff = now - (opts.tempAgeMs ?? TEMP_AGE_MS);
  const batchSize = opts.batchSize ?? 500;
  const stopped = opts.stopped ?? (() => false);
  const swept: Swept = { files: 0, tempFiles: 0 };

  for (const e of await entries(blobs.tempDir)) {
    if (stopped()) return swept;
    if (e.isFile() && (await removeIfOlder(join(blobs.tempDir, e.name), tempCutoff))) swept.tempFiles++;
  }

  const sweepBatch = async (batch: string[]): Promise<void> => {
    const named = await opts.referenced(batch);
    for (const sha256 of batch) {
      if (!named.has(sha256) && (await removeIfOlder(blobs.pathOf(sha256), unreferencedCutoff))) swept.files++;
    }
  };
  let batch: string[] = [];
  for (const shard of await entries(blobs.dir)) {
    if (!shard.isDirectory() || !SHARD.test(shard.name)) continue;
    for (const e of await entries(join(blobs.dir, shard.name))) {
      if (!e.isFile() || !SHA256.test(e.name) || !e.name.startsWith(shard.name)) continue;
      const at = await modifiedAt(join(blobs.dir, shard.name, e.name));
      if (at === null || at >= unreferencedCutoff) continue;
      batch.push(e.name);
      if (batch.length >= batchSize) {
        if (stopped()) return swept;
        await sweepBatch(batch);
        batch = [];
      }
    }
  }
  if (batch.length > 0 && !stopped()) await sweepBatch(batch);
  return swept;
}
