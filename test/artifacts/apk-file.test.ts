// readApkFile: the manifest read from a file by positional reads, the same answers as the Buffer
// reader, and a file larger than Node could read whole (a sparse 3 GiB zip) read all the same.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { readApkFile } from '../../src/artifacts/index.js';
import { ApkError, readApk, zipEntry } from '../../src/core/index.js';
import { aaptSkip, buildApk } from '../support/index.js';
import { buildZip } from '../support/zip.js';

let dir = '';
let apkPath = '';
let apk = Buffer.alloc(0);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adbfleet-apk-file-'));
  if (aaptSkip !== false) return;
  apkPath = await buildApk({ packageName: 'org.adbfleet.file', versionCode: 3, versionName: '3.0' }, dir);
  apk = await readFile(apkPath);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileOutcome(bytes: Buffer): Promise<unknown> {
  const path = join(dir, 'fuzz.apk');
  await writeFile(path, bytes);
  try {
    return await readApkFile(path);
  } catch (err) {
    if (err instanceof ApkError) return err.message;
    throw err;
  }
}

function bufferOutcome(bytes: Buffer): unknown {
  try {
    return readApk(bytes);
  } catch (err) {
    if (err instanceof ApkError) return err.message;
    throw err;
  }
}

test('an aapt-built APK read from its file', { skip: aaptSkip }, async () => {
  assert.deepEqual(await readApkFile(apkPath), { packageName: 'org.adbfleet.file', versionCode: 3, versionName: '3.0' });
});

test('a 3 GiB APK (sparse: a 3 GiB stored entry before the manifest) is read without reading it whole', { skip: aaptSkip }, async () => {
  const manifest = zipEntry(apk, 'AndroidManifest.xml');
  const padBytes = 3 * 1024 * 1024 * 1024;
  // The zip's bytes with a small stand-in for the padding entry, then the padding's size patched in
  // and everything after it moved past the hole.
  const small = buildZip([
    { name: 'assets/pad.bin', data: Buffer.alloc(0), method: 0 },
    { name: 'AndroidManifest.xml', data: manifest, method: 0 },
  ]);
  const padHeader = 30 + 'assets/pad.bin'.length;
  const rest = Buffer.from(small.subarray(padHeader));
  const head = Buffer.from(small.subarray(0, padHeader));
  head.writeUInt32LE(padBytes, 18);
  head.writeUInt32LE(padBytes, 22);
  // Central directory offsets past the hole: the second entry's local header and the directory itself.
  const central = rest.indexOf('PK\x01\x02', 0, 'latin1');
  rest.writeUInt32LE(padBytes, central + 20);
  rest.writeUInt32LE(padBytes, central + 24);
  const second = rest.indexOf('PK\x01\x02', central + 4, 'latin1');
  rest.writeUInt32LE(rest.readUInt32LE(second + 42) + padBytes, second + 42);
  const end = rest.length - 22;
  rest.writeUInt32LE(rest.readUInt32LE(end + 16) + padBytes, end + 16);
  const path = join(dir, 'big.apk');
  const file = await open(path, 'w');
  try {
    await file.write(head, 0, head.length, 0);
    await file.write(rest, 0, rest.length, padHeader + padBytes);
  } finally {
    await file.close();
  }
  await assert.rejects(readFile(path), /ERR_FS_FILE_TOO_LARGE|larger than/i);
  assert.deepEqual(await readApkFile(path), { packageName: 'org.adbfleet.file', versionCode: 3, versionName: '3.0' });
});

test('a missing file is an I/O error, not an ApkError', async () => {
  await assert.rejects(readApkFile(join(dir, 'nothing-here.apk')), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
});

test('not an APK: the same ApkError as the Buffer reader', async () => {
  for (const bytes of [Buffer.alloc(0), Buffer.from('hello'), buildZip([{ name: 'a.txt', data: Buffer.from('a') }])]) {
    assert.equal(await fileOutcome(bytes), bufferOutcome(bytes));
  }
});

test('fuzz: a real APK with bytes changed reads from a file exactly as from a Buffer', { skip: aaptSkip }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.option(fc.nat(), { nil: undefined }),
      async (edits, cut) => {
        const b = Buffer.from(apk);
        for (const [at, value] of edits) b[at % b.length] = value;
        const bytes = cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
        assert.deepEqual(await fileOutcome(bytes), bufferOutcome(bytes));
      },
    ),
    { numRuns: 300 },
  );
});
