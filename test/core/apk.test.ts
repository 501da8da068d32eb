// The APK reader (core/apk.ts) on real packages built by aapt and on hostile bytes: whatever it is
// given, it answers an ApkInfo or throws ApkError, never a RangeError or a zlib error, and a zip
// bomb is refused rather than inflated.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { ApkError, MAX_MANIFEST_BYTES, readApk, zipEntry, type ApkInfo } from '../../src/core/index.js';
import { aaptSkip, buildApk } from '../support/index.js';
import { buildZip } from '../support/zip.js';

let apk: Buffer = Buffer.alloc(0);
let manifest: Buffer = Buffer.alloc(0);
let dir = '';

before(async () => {
  if (aaptSkip !== false) return;
  const path = await buildApk({ packageName: 'org.adbfleet.reader', versionCode: 42, versionName: '4.2-beta' });
  dir = dirname(dirname(path));
  apk = await readFile(path);
  manifest = zipEntry(apk, 'AndroidManifest.xml');
});
after(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** readApk's answer, or the ApkError's message; any other error fails the test. */
function outcome(bytes: Buffer): ApkInfo | string {
  try {
    return readApk(bytes);
  } catch (err) {
    if (err instanceof ApkError) return err.message;
    throw new Error(`not an ApkError: ${(err as Error).name}: ${(err as Error).message}`, { cause: err });
  }
}

test('an aapt-built APK: its package name and version', { skip: aaptSkip }, () => {
  assert.deepEqual(readApk(apk), { packageName: 'org.adbfleet.reader', versionCode: 42, versionName: '4.2-beta' });
});

test('the manifest stored rather than deflated, among other entries, reads the same', { skip: aaptSkip }, () => {
  const zip = buildZip([
    { name: 'classes.dex', data: Buffer.alloc(1000, 7) },
    { name: 'AndroidManifest.xml', data: manifest, method: 0 },
    { name: 'res/a.xml', data: Buffer.from('x') },
  ]);
  assert.deepEqual(readApk(zip), { packageName: 'org.adbfleet.reader', versionCode: 42, versionName: '4.2-beta' });
});

test('what is not an APK is named', () => {
  assert.equal(outcome(Buffer.alloc(0)), 'not a zip file (too short for an end of central directory)');
  assert.equal(outcome(Buffer.from('PK not really a zip, just text that is long enough')), 'not a zip file (no end of central directory)');
  assert.equal(outcome(buildZip([{ name: 'classes.dex', data: Buffer.from('dex') }])), 'no AndroidManifest.xml in the archive');
  assert.equal(outcome(buildZip([{ name: 'AndroidManifest.xml', data: Buffer.from('<manifest/>') }])), 'AndroidManifest.xml is not binary XML');
  const deflate = buildZip([{ name: 'AndroidManifest.xml', data: Buffer.from('abc'), method: 0 }]);
  deflate.writeUInt16LE(8, 8); // the local header says deflated
  deflate.writeUInt16LE(8, deflate.indexOf('PK\x01\x02', 0, 'latin1') + 10); // and so does the central one
  assert.equal(outcome(deflate), 'zip entry AndroidManifest.xml is not valid deflate data');
});

test('a manifest that inflates past the limit is refused without inflating it whole', () => {
  const bomb = Buffer.alloc(MAX_MANIFEST_BYTES + 1);
  const zip = buildZip([{ name: 'AndroidManifest.xml', data: bomb }]);
  assert.ok(zip.length < 64 * 1024, `${zip.length} bytes`);
  assert.equal(outcome(zip), `zip entry AndroidManifest.xml inflates to more than ${MAX_MANIFEST_BYTES} bytes`);
  const stored = buildZip([{ name: 'AndroidManifest.xml', data: Buffer.alloc(16) }]);
  const central = stored.indexOf('PK\x01\x02', 0, 'latin1');
  stored.writeUInt32LE(MAX_MANIFEST_BYTES + 1, central + 20); // a compressed size no manifest has
  assert.equal(outcome(stored), `zip entry AndroidManifest.xml is larger than ${MAX_MANIFEST_BYTES} bytes`);
});

test('fuzz: random bytes, and zips around random manifests, are an ApkInfo or an ApkError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      outcome(Buffer.from(bytes));
      outcome(buildZip([{ name: 'AndroidManifest.xml', data: Buffer.from(bytes), method: 0 }]));
    }),
    { numRuns: 500 },
  );
});

/** `base` with bytes overwritten at random places (and sometimes cut short). */
const mutated = (base: () => Buffer) =>
  fc
    .record({
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
      interesting: fc.constantFrom(0, 0xff, 0x7f, 0x80),
    })
    .map(({ edits, cut, interesting }) => {
      const b = Buffer.from(base());
      for (const [at, value] of edits) b[at % b.length] = edits.length > 4 ? interesting : value;
      return cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
    });

test('fuzz: a real APK with bytes changed anywhere is an ApkInfo or an ApkError', { skip: aaptSkip }, () => {
  fc.assert(fc.property(mutated(() => apk), (bytes) => void outcome(bytes)), { numRuns: 1500 });
});

test('fuzz: a real binary manifest with bytes changed (stored, so the XML parser sees every change)', { skip: aaptSkip }, () => {
  const stored = (): Buffer => manifest;
  fc.assert(
    fc.property(mutated(stored), (xml) => void outcome(buildZip([{ name: 'AndroidManifest.xml', data: xml, method: 0 }]))),
    { numRuns: 3000 },
  );
});

test('fuzz: a deflated manifest with its compressed bytes changed', { skip: aaptSkip }, () => {
  const deflated = deflateRawSync(manifest);
  fc.assert(
    fc.property(mutated(() => deflated), (body) => {
      const zip = buildZip([{ name: 'AndroidManifest.xml', data: body, method: 0 }]);
      // Declared deflated, its data the mutated deflate stream.
      zip.writeUInt16LE(8, 8);
      zip.writeUInt16LE(8, zip.indexOf('PK\x01\x02', 0, 'latin1') + 10);
      outcome(zip);
    }),
    { numRuns: 500 },
  );
});
