// What `pm install` and the service read from an APK: the package name and version in its AndroidManifest.xml.
// An APK is a zip (APPNOTE.TXT: end of central directory, central directory, local header; stored
// or deflated entries), and the manifest inside is Android's binary XML (AXML; AOSP
// libs/androidfw ResourceTypes.h: a string pool, a resource id map, then element chunks).
//
// The zip is read through positional reads the parser asks for (ApkReads: a generator yielding
// {offset, length} and given the bytes back), so one parser serves a Buffer (the simulator's
// `pm install`, readApk) and a file read piece by piece (the service's uploads and fetched
// packages, artifacts/apk-file.ts) without loading a 2 GiB file. Everything it is handed may be
// hostile: a malformed archive or manifest is an ApkError, never a RangeError or a huge allocation.
import { inflateRawSync } from 'node:zlib';
import { PACKAGE_NAME } from './operations.js';

export interface ApkInfo {
  packageName: string;
  versionCode: number | null;
  versionName: string | null;
}

export class ApkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApkError';
  }
}

/** A read the parser asks for: `length` bytes at `offset` (the driver gives fewer only at the end of the file). */
export interface ApkRead {
  offset: number;
  length: number;
}
/** The parser's side of a read-driven parse: yields reads, is given their bytes, returns T. */
export type ApkReads<T> = Generator<ApkRead, T, Buffer>;

/** Android's public ids of the manifest attributes (frameworks/base core/res/res/values/public.xml). */
const ATTR_VERSION_CODE = 0x0101021b;
const ATTR_VERSION_NAME = 0x0101021c;

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_BYTES = 22;
const CENTRAL_BYTES = 46;
const LOCAL_BYTES = 30;
/** The longest zip comment, which sits after the end record. */
const MAX_COMMENT = 0xffff;
/** A central directory this large is no APK's (100,000 entries take about 8 MiB). */
const MAX_CENTRAL_DIRECTORY = 64 * 1024 * 1024;
/** Real manifests are kilobytes; a larger entry (compressed or not) is refused, not inflated. */
export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;

export const MANIFEST_ENTRY = 'AndroidManifest.xml';

/** The manifest of an APK of `size` bytes, through the reads it yields. */
export function* apkReads(size: number): ApkReads<ApkInfo> {
  try {
    return parseManifest(yield* zipEntryReads(size, MANIFEST_ENTRY));
  } catch (err) {
    throw asApkError(err);
  }
}

/** Runs a read-driven parse over bytes in memory. */
export function readFromBuffer<T>(reads: ApkReads<T>, bytes: Buffer): T {
  let step = reads.next();
  while (step.done !== true) step = reads.next(bytes.subarray(step.value.offset, step.value.offset + step.value.length));
  return step.value;
}

export function readApk(apk: Buffer): ApkInfo {
  return readFromBuffer(apkReads(apk.length), apk);
}

/** One entry's bytes, found through the central directory (local headers may lack sizes). */
export function zipEntry(zip: Buffer, name: string): Buffer {
  try {
    return readFromBuffer(zipEntryReads(zip.length, name), zip);
  } catch (err) {
    throw asApkError(err);
  }
}

/** A Buffer read past its end (a length or offset the archive lied about) is a corrupt APK. */
function asApkError(err: unknown): unknown {
  if (err instanceof RangeError) return new ApkError(`corrupt APK: a length or offset points past its data (${err.message})`);
  return err;
}

/** One entry of a zip of `size` bytes: the end record (searched for in the last 64 KiB), the
 * central directory, the entry's local header, its data, inflated. */
export function* zipEntryReads(size: number, name: string): ApkReads<Buffer> {
  if (size < EOCD_BYTES) throw new ApkError('not a zip file (too short for an end of central directory)');
  const tailStart = Math.max(0, size - EOCD_BYTES - MAX_COMMENT);
  const tail = yield { offset: tailStart, length: size - tailStart };
  let eocd = -1;
  for (let i = tail.length - EOCD_BYTES; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ApkError('not a zip file (no end of central directory)');
  const count = tail.readUInt16LE(eocd + 10);
  const cdBytes = tail.readUInt32LE(eocd + 12);
  const cdOffset = tail.readUInt32LE(eocd + 16);
  if (cdOffset === 0xffffffff || cdBytes === 0xffffffff) throw new ApkError('zip64 archives are not supported');
  if (cdBytes > MAX_CENTRAL_DIRECTORY) throw new ApkError(`the zip central directory is larger than ${MAX_CENTRAL_DIRECTORY} bytes`);
  if (cdOffset + cdBytes > tailStart + eocd) throw new ApkError('corrupt zip: the central directory overlaps its end record or lies past it');
  const cd = yield { offset: cdOffset, length: cdBytes };
  if (cd.length !== cdBytes) throw new ApkError('corrupt zip: the central directory is truncated');
  const wanted = Buffer.from(name, 'utf8');
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + CENTRAL_BYTES > cd.length || cd.readUInt32LE(at) !== CENTRAL_SIGNATURE) throw new ApkError('corrupt zip central directory');
    const nameLength = cd.readUInt16LE(at + 28);
    const next = at + CENTRAL_BYTES + nameLength + cd.readUInt16LE(at + 30) + cd.readUInt16LE(at + 32);
    if (at + CENTRAL_BYTES + nameLength > cd.length) throw new ApkError('corrupt zip central directory');
    if (cd.subarray(at + CENTRAL_BYTES, at + CENTRAL_BYTES + nameLength).equals(wanted)) {
      return yield* entryData(size, name, {
        method: cd.readUInt16LE(at + 10),
        compressed: cd.readUInt32LE(at + 20),
        local: cd.readUInt32LE(at + 42),
      });
    }
    at = next;
  }
  throw new ApkError(`no ${name} in the archive`);
}

function* entryData(size: number, name: string, e: { method: number; compressed: number; local: number }): ApkReads<Buffer> {
  const header = yield { offset: e.local, length: LOCAL_BYTES };
  if (header.length < LOCAL_BYTES || header.readUInt32LE(0) !== LOCAL_SIGNATURE) throw new ApkError(`corrupt zip local header for ${name}`);
  if (e.compressed > MAX_MANIFEST_BYTES) throw new ApkError(`zip entry ${name} is larger than ${MAX_MANIFEST_BYTES} bytes`);
  if (e.method !== 0 && e.method !== 8) throw new ApkError(`zip entry ${name} uses compression method ${e.method}`);
  const start = e.local + LOCAL_BYTES + header.readUInt16LE(26) + header.readUInt16LE(28);
  if (start + e.compressed > size) throw new ApkError(`truncated zip entry ${name}`);
  const data = yield { offset: start, length: e.compressed };
  if (data.length !== e.compressed) throw new ApkError(`truncated zip entry ${name}`);
  if (e.method === 0) return data;
  try {
    // Bounded: a small entry may inflate to gigabytes (a zip bomb).
    return inflateRawSync(data, { maxOutputLength: MAX_MANIFEST_BYTES });
  } catch (err) {
    const tooLarge = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    throw new ApkError(tooLarge ? `zip entry ${name} inflates to more than ${MAX_MANIFEST_BYTES} bytes` : `zip entry ${name} is not valid deflate data`);
  }
}

const RES_XML_TYPE = 0x0003;
const RES_STRING_POOL_TYPE = 0x0001;
const RES_XML_RESOURCE_MAP_TYPE = 0x0180;
const RES_XML_START_ELEMENT_TYPE = 0x0102;
const UTF8_FLAG = 0x100;
const TYPE_STRING = 0x03;
const TYPE_INT_DEC = 0x10;
const TYPE_INT_HEX = 0x11;

/** The `<manifest>` element's package, versionCode and versionName. */
export function parseManifest(xml: Buffer): ApkInfo {
  try {
    return manifestOf(xml);
  } catch (err) {
    throw asApkError(err);
  }
}

function manifestOf(xml: Buffer): ApkInfo {
  if (xml.length < 8 || xml.readUInt16LE(0) !== RES_XML_TYPE) throw new ApkError('AndroidManifest.xml is not binary XML');
  let strings: string[] = [];
  let ids: number[] = [];
  for (let at = xml.readUInt16LE(2); at + 8 <= xml.length; ) {
    const type = xml.readUInt16LE(at);
    const size = xml.readUInt32LE(at + 4);
    if (size < 8 || at + size > xml.length) throw new ApkError('corrupt binary XML chunk');
    if (type === RES_STRING_POOL_TYPE) strings = stringPool(xml.subarray(at, at + size));
    else if (type === RES_XML_RESOURCE_MAP_TYPE) {
      ids = [];
      for (let i = at + 8; i + 4 <= at + size; i += 4) ids.push(xml.readUInt32LE(i));
    } else if (type === RES_XML_START_ELEMENT_TYPE) {
      const ext = at + xml.readUInt16LE(at + 2);
      if (strings[xml.readUInt32LE(ext + 4)] !== 'manifest') throw new ApkError('the first element is not <manifest>');
      return manifestAttributes(xml, ext, strings, ids);
    }
    at += size;
  }
  throw new ApkError('no <manifest> element');
}

function manifestAttributes(xml: Buffer, ext: number, strings: string[], ids: number[]): ApkInfo {
  const start = xml.readUInt16LE(ext + 8);
  const size = xml.readUInt16LE(ext + 10);
  const count = xml.readUInt16LE(ext + 12);
  const info: ApkInfo = { packageName: '', versionCode: null, versionName: null };
  for (let i = 0; i < count; i++) {
    const a = ext + start + i * size;
    const nameIndex = xml.readUInt32LE(a + 4);
    const raw = xml.readInt32LE(a + 8);
    const dataType = xml.readUInt8(a + 15);
    const data = xml.readUInt32LE(a + 16);
    // An attribute is named by its resource id when the map has one (aapt's android: ones), else by name.
    const id = ids[nameIndex];
    const name = strings[nameIndex];
    const text = dataType === TYPE_STRING ? (strings[data] ?? null) : raw >= 0 ? (strings[raw] ?? null) : null;
    if (id === ATTR_VERSION_CODE || (id === undefined && name === 'versionCode')) {
      const code = dataType === TYPE_INT_DEC || dataType === TYPE_INT_HEX ? data : text === null ? NaN : Number.parseInt(text, 10);
      info.versionCode = Number.isSafeInteger(code) ? code : null;
    } else if (id === ATTR_VERSION_NAME || (id === undefined && name === 'versionName')) info.versionName = text;
    else if (name === 'package' && id === undefined) info.packageName = text ?? '';
  }
  if (!PACKAGE_NAME.test(info.packageName)) throw new ApkError(`invalid package name '${info.packageName.slice(0, 120)}'`);
  return info;
}

function stringPool(chunk: Buffer): string[] {
  const count = chunk.readUInt32LE(8);
  const utf8 = (chunk.readUInt32LE(16) & UTF8_FLAG) !== 0;
  const stringsStart = chunk.readUInt32LE(20);
  const headerSize = chunk.readUInt16LE(2);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let at = stringsStart + chunk.readUInt32LE(headerSize + i * 4);
    if (utf8) {
      // Two lengths, each one byte or two with the high bit set: UTF-16 units, then bytes.
      at += chunk[at]! & 0x80 ? 2 : 1;
      let n = chunk[at]!;
      if (n & 0x80) {
        n = ((n & 0x7f) << 8) | chunk[at + 1]!;
        at++;
      }
      at++;
      out.push(chunk.toString('utf8', at, at + n));
    } else {
      let n = chunk.readUInt16LE(at);
      if (n & 0x8000) {
        n = ((n & 0x7fff) << 16) | chunk.readUInt16LE(at + 2);
        at += 2;
      }
      at += 2;
      out.push(chunk.toString('utf16le', at, at + n * 2));
    }
  }
  return out;
}
