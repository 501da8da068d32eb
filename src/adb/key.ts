// The host's ADB identity: one 2048-bit RSA key, made once and kept in the data dir, or an
// existing key (adb's own ~/.android/adbkey) named by the keyPath option. The caller decides
// which: this layer reads no environment.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { androidPublicKey } from './wire/index.js';

export interface AdbKey {
  privateKey: KeyObject;
  /** the public key in Android's format, as sent in AUTH RSAPUBLICKEY (base64, " name", NUL) */
  androidPublicKey: Buffer;
  /** where the key was read from or written to */
  path: string;
}

export interface LoadKeyOptions {
  /** an existing PEM key to use instead of <dataDir>/adbkey (it must exist) */
  keyPath?: string | null;
  /** the "user@host" label the device shows when asking to trust the key */
  name?: string;
}

/** Accepts a private key object or PEM (PKCS#1 or PKCS#8) and returns its public half. */
export function publicKeyOf(key: KeyObject | string | Buffer): KeyObject {
  const priv = typeof key === 'string' || Buffer.isBuffer(key) ? createPrivateKey(key) : key;
  return createPublicKey(priv);
}

function keyFromPem(pem: string | Buffer, path = '(memory)', name = defaultName()): AdbKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (e) {
    throw new Error(`${path}: not a PEM private key (${(e as Error).message})`, { cause: e });
  }
  if (privateKey.asymmetricKeyType !== 'rsa' || privateKey.asymmetricKeyDetails?.modulusLength !== 2048) {
    throw new Error(`${path}: ADB keys must be 2048-bit RSA`);
  }
  return { privateKey, androidPublicKey: androidPublicKey(createPublicKey(privateKey), name), path };
}

export function generateKey(name = defaultName()): AdbKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
  return { privateKey, androidPublicKey: androidPublicKey(createPublicKey(privateKey), name), path: '(memory)' };
}

/**
 * Reads the key at opts.keyPath (which must exist), else <dataDir>/adbkey, generating that one
 * (PKCS#8 PEM, mode 0600) on first use. Synchronous: it runs once at start-up, before anything
 * else needs the event loop.
 */
export function loadOrCreateKey(dataDir: string, opts: LoadKeyOptions = {}): AdbKey {
  const name = opts.name ?? defaultName();
  const explicit = opts.keyPath ?? null;
  if (explicit !== null) {
    let pem: Buffer;
    try {
      pem = readFileSync(explicit);
    } catch (e) {
      throw new Error(`cannot read ${explicit}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
    return keyFromPem(pem, explicit, name);
  }
  const path = join(dataDir, 'adbkey');
  try {
    return keyFromPem(readFileSync(path), path, name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  mkdirSync(dataDir, { recursive: true });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  try {
    // 'wx': if another process created it meanwhile, theirs wins and we read it back.
    writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return keyFromPem(readFileSync(path), path, name);
  }
  return keyFromPem(pem, path, name);
}

function defaultName(): string {
  return `adbfleet@${hostname()}`;
}
