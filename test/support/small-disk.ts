// A real full disk for the tests of what a refused write does: a 16 MiB tmpfs that a filler file
// fills to the last byte (ENOSPC) and frees again. Mounting needs root; without it the test skips.
import type { TestContext } from 'node:test';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  dir: string;
  /** writes a file until the disk is full */
  fill(): void;
  free(): void;
  /** unmounts and removes the directory (close what is open on it first) */
  close(): Promise<void>;
}

/** A 16 MiB tmpfs; null (the test skipped) when mounting is not allowed. */
export async function smallDisk(t: TestContext): Promise<SmallDisk | null> {
  const dir = await mkdtemp(join(tmpdir(), 'adbfleet-smalldisk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    await rm(dir, { recursive: true, force: true });
    t.skip('mounting a tmpfs is not permitted here');
    return null;
  }
  const filler = join(dir, 'filler');
  return {
    dir,
    fill() {
      const fd = openSync(filler, 'w');
      try {
        // Large chunks first, then smaller ones: the last free bytes are taken too.
        for (const size of [1 << 20, 64 << 10, 4 << 10, 512]) {
          const chunk = Buffer.alloc(size, 1);
          try {
            for (;;) writeSync(fd, chunk);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free: () => rmSync(filler, { force: true }),
    async close() {
      execFileSync('umount', [dir], { stdio: 'ignore' });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
