// What `pm install` and the service read from an APK: the package name and version in its AndroidManifest.xml.
// An APK is a zip (APPNOTE.TXT: end of central directory, central directory, local header; stored
// or deflated entries), and the manifest inside is Android's binary XML (AXML; AOSP
// libs/androidfw ResourceTypes.h: a string pool, a resource id map, then element chunks).
import { inflateRawSync } from 'node:zlib';

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

/** Android's public ids of the manifest attributes (frameworks/base core/res/res/values/public.xml). */
const ATTR_VERSION_CODE = 0x0101021b;
const ATTR_VERSION_NAME = 0x0101021c;

export function readApk(apk: Buffer): ApkInfo {
  return parseManifest(zipEntry(apk, 'AndroidManifest.xml'));
}

/** One entry's bytes, found through the central directory (local headers may lack sizes). */
export function zipEntry(zip: Buffer, name: string): Buffer {
  const EOCD = 0x06054b50;
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ApkError('not a zip file (no end of central directory)');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== 0x02014b50) throw new ApkError('corrupt zip central directory');
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    if (zip.toString('utf8', at + 46, at + 46 + nameLength) === name) {
      if (local + 30 > zip.length || zip.readUInt32LE(local) !== 0x04034b50) throw new ApkError(`corrupt zip local header for ${name}`);
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + compressed);
      if (data.length !== compressed) throw new ApkError(`truncated zip entry ${name}`);
      if (method === 0) return data;
      if (method === 8) return inflateRawSync(data);
      throw new ApkError(`zip entry ${name} uses compression method ${method}`);
    }
    at += 46 + nameLength + extra + comment;
  }
  throw new ApkError(`no ${name} in the archive`);
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
      info.versionCode = dataType === TYPE_INT_DEC || dataType === TYPE_INT_HEX ? data : text === null ? null : Number.parseInt(text, 10);
    } else if (id === ATTR_VERSION_NAME || (id === undefined && name === 'versionName')) info.versionName = text;
    else if (name === 'package' && id === undefined) info.packageName = text ?? '';
  }
  if (!/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$/.test(info.packageName)) throw new ApkError(`invalid package name '${info.packageName}'`);
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
