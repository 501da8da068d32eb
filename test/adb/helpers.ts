// Shared by the ADB tests: a key the simulated fleets trust, and polling without timing asserts.
import { generateKey, publicKeyOf, type AdbError, type AdbKey } from '../../src/adb/index.js';

export const hostKey: AdbKey = generateKey('adbfleet-test@host');
export const hostPublicKey = publicKeyOf(hostKey.privateKey);

/** Polls until check() is true; fails after a generous deadline (a loaded 2-core box is slow). */
export async function eventually(check: () => boolean, what: string, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function codeOf(e: unknown): string {
  return (e as AdbError).code ?? `not an AdbError: ${String(e)}`;
}

/** The expected output of `seq 1 n`. */
export function seqText(n: number): string {
  let s = '';
  for (let i = 1; i <= n; i++) s += `${i}\n`;
  return s;
}
