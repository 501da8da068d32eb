// The host's ADB identity: one 2048-bit RSA key, made once and kept in the data dir, or an
// existing key (adb's own ~/.android/adbkey) named by ADBFLEET_ADB_KEY or the keyPath option.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
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
  /** an existing PEM key to use instead of <dataDir>/adbkey; overrides ADBFLEET_ADB_KEY */
  keyPath?: string | null;
  /** the environment to read ADBFLEET_ADB_KEY from (default process.env) */
  env?: Readonly<Record<string, string | undefined>>;
  /** the "user@host" label the device shows when asking to trust the key */
  name?: string;
}

/** Accepts a private key object or PEM (PKCS#1 or PKCS#8) and returns its public half. */
export function publicKeyOf(key: KeyObject | string | Buffer): KeyObject {
  const priv = typeof key === 'string' || Buffer.isBuffer(key) ? createPrivateKey(key) : key;
  return createPublicKey(priv);
}

export function keyFromPem(pem: string | Buffer, path = '(memory)', name = defaultName()): AdbKey {
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
 * Reads the key named by opts.keyPath or ADBFLEET_ADB_KEY (which must exist), else
 * <dataDir>/adbkey, generating that one (PKCS#8 PEM, mode 0600) on first use. Synchronous:
 * it runs once at start-up, before anything else needs the event loop.
 */
export function loadOrCreateKey(dataDir: string, opts: LoadKeyOptions = {}): AdbKey {
  const name = opts.name ?? defaultName();
  const fromEnv = (opts.env ?? process.env)['ADBFLEET_ADB_KEY'];
  const raw = opts.keyPath ?? (fromEnv === '' ? undefined : fromEnv) ?? null;
  if (raw !== null) {
    // "~/.android/adbkey" as written in an env file, where no shell expanded it.
    const explicit = raw === '~' || raw.startsWith('~/') ? join(homedir(), raw.slice(1)) : raw;
    const source = 'ADBFLEET_ADB_KEY';
    let pem: Buffer;
    try {
      pem = readFileSync(explicit);
    } catch (e) {
      throw new Error(`${source}: cannot read ${explicit}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
    try {
      return keyFromPem(pem, explicit, name);
    } catch (e) {
      throw new Error(`${source}: ${(e as Error).message}`, { cause: e });
    }
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
