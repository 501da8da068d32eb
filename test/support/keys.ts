// The ADB key the tests' hosts sign with and the simulated fleets trust.
import type { KeyObject } from 'node:crypto';
import { generateKey, publicKeyOf, type AdbKey } from '../../src/adb/index.js';

let shared: AdbKey | null = null;
let sharedPublic: KeyObject | null = null;

/** One 2048-bit key per test process: RSA generation is slow on a loaded machine. */
export function testKey(): AdbKey {
  shared ??= generateKey('adbfleet-test@host');
  return shared;
}

/** testKey()'s public half, for a fleet's trustedKeys. */
export function testPublicKey(): KeyObject {
  sharedPublic ??= publicKeyOf(testKey().privateKey);
  return sharedPublic;
}
