// The data directory, made ready before anything is written to it. Node's and SQLite's own errors
// ("EEXIST: file already exists, mkdir", "unable to open database file") name neither the setting
// nor the fix, so each failure here says which path, which setting, and what to do.
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';

const SETTING = '--data / ADBFLEET_DATA';

export function prepareDataDir(dir: string): void {
  let isDir: boolean | null = null;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unusable(dir, err, 'cannot be read');
  }
  if (isDir === false) {
    throw new Error(`the data directory ${dir} (${SETTING}) is a file, not a directory: move the file away, or point ${SETTING} at a directory`);
  }
  if (isDir === null) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw unusable(dir, err, 'cannot be created');
    }
  }
  try {
    // access() and not the mode bits: it also answers for root, a read-only mount (EROFS) and ACLs.
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (err) {
    throw unusable(dir, err, 'is not writable');
  }
}

function unusable(dir: string, err: unknown, what: string): Error {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  return new Error(
    `the data directory ${dir} (${SETTING}) ${what} (${code}): adbfleet keeps its database, admin token and ADB key there; ` +
      `make it a directory this user can write (a read-write mount), or point ${SETTING} at one`,
    { cause: err },
  );
}
