// Android's RSA key formats for ADB authentication (AOSP libcrypto_utils android_pubkey.cpp):
// the public key as the device stores it in adb_keys, and the token signature.
import { createPublicKey, privateEncrypt, publicDecrypt, constants, type KeyObject } from 'node:crypto';

const WORDS = 64; // 2048-bit modulus, the only size adbd accepts
const MODULUS_BYTES = WORDS * 4;
const STRUCT_BYTES = 4 + 4 + MODULUS_BYTES + MODULUS_BYTES + 4;

/** DER prefix of a SHA-1 DigestInfo: adbd hands the 20-byte token to RSA_verify(NID_sha1) as the digest. */
const SHA1_DIGEST_INFO = Buffer.from('3021300906052b0e03021a05000414', 'hex');

function toBigInt(b64url: string): bigint {
  return BigInt(`0x${Buffer.from(b64url, 'base64url').toString('hex') || '0'}`);
}

function fromBigInt(n: bigint, bytes: number): Buffer {
  const hex = n.toString(16).padStart(bytes * 2, '0');
  return Buffer.from(hex, 'hex');
}

function writeLeWords(buf: Buffer, offset: number, n: bigint): void {
  for (let i = 0; i < WORDS; i++) {
    buf.writeUInt32LE(Number((n >> BigInt(32 * i)) & 0xffffffffn), offset + i * 4);
  }
}

function readLeWords(buf: Buffer, offset: number): bigint {
  let n = 0n;
  for (let i = WORDS - 1; i >= 0; i--) n = (n << 32n) | BigInt(buf.readUInt32LE(offset + i * 4));
  return n;
}

/** Encodes a 2048-bit RSA public key in Android's format, base64, with " name" and a NUL appended. */
export function androidPublicKey(key: KeyObject, name = 'adbfleet@adbfleet'): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.n === undefined || jwk.e === undefined) throw new Error('not an RSA key');
  const n = toBigInt(jwk.n);
  const e = toBigInt(jwk.e);
  if (n >> BigInt(MODULUS_BYTES * 8 - 1) !== 1n) throw new Error('ADB keys must be 2048-bit RSA');
  const out = Buffer.alloc(STRUCT_BYTES);
  out.writeUInt32LE(WORDS, 0);
  const r32 = 1n << 32n;
  const n0 = n % r32;
  // n0inv = -1 / n[0] mod 2^32, by Newton's iteration on odd n0.
  let inv = 1n;
  for (let i = 0; i < 5; i++) inv = (inv * (2n - n0 * inv)) % r32;
  out.writeUInt32LE(Number((r32 - inv) % r32), 4);
  writeLeWords(out, 8, n);
  const rr = (1n << BigInt(MODULUS_BYTES * 8 * 2)) % n;
  writeLeWords(out, 8 + MODULUS_BYTES, rr);
  out.writeUInt32LE(Number(e), 8 + 2 * MODULUS_BYTES);
  return Buffer.from(`${out.toString('base64')} ${name}\0`, 'utf8');
}

/** Parses Android's public key format (as sent in AUTH RSAPUBLICKEY or stored in adb_keys). */
export function parseAndroidPublicKey(data: Buffer | string): KeyObject {
  const text = (typeof data === 'string' ? data : data.toString('utf8')).replace(/\0+$/, '').trim();
  const b64 = text.split(/\s+/, 1)[0] ?? '';
  const raw = Buffer.from(b64, 'base64');
  if (raw.length !== STRUCT_BYTES || raw.readUInt32LE(0) !== WORDS) throw new Error('not an Android RSA public key');
  const n = readLeWords(raw, 8);
  const e = BigInt(raw.readUInt32LE(8 + 2 * MODULUS_BYTES));
  return createPublicKey({
    key: { kty: 'RSA', n: fromBigInt(n, MODULUS_BYTES).toString('base64url'), e: fromBigInt(e, 3).toString('base64url') },
    format: 'jwk',
  });
}

/** Signs an AUTH token as adbd expects (PKCS#1 v1.5 over a SHA-1 DigestInfo holding the token). */
export function signToken(privateKey: KeyObject, token: Buffer): Buffer {
  return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA1_DIGEST_INFO, token]));
}

/** Device side: does the signature match the token under this public key? */
export function verifyTokenSignature(publicKey: KeyObject, token: Buffer, signature: Buffer): boolean {
  try {
    const plain = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
    return plain.equals(Buffer.concat([SHA1_DIGEST_INFO, token]));
  } catch {
    return false;
  }
}
