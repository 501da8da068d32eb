// An APK's manifest read from a file (an upload, a fetched package) by positional reads: the zip's
// end record, its central directory and the manifest entry, never the whole file. The parser is
// core's, the one `pm install` in the simulator reads Buffers with.
import { open, type FileHandle } from 'node:fs/promises';
import { apkReads, type ApkInfo, type ApkReads } from '../core/index.js';

/** The package name and version of the APK at `path`. Throws ApkError for a file that is not an
 * APK (the message says why, in words a tenant can act on), and I/O errors as they are. */
export async function readApkFile(path: string): Promise<ApkInfo> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    return await readFromFile(apkReads(size), file);
  } finally {
    await file.close();
  }
}

async function readFromFile<T>(reads: ApkReads<T>, file: FileHandle): Promise<T> {
  let step = reads.next();
  while (step.done !== true) {
    const { offset, length } = step.value;
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    // A read may return fewer bytes than asked; 0 is the end of the file.
    while (got < length) {
      const { bytesRead } = await file.read(buf, got, length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    step = reads.next(buf.subarray(0, got));
  }
  return step.value;
}
