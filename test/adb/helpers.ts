// Shared by the ADB tests: reading an AdbError's code, and the expected output of `seq`.
import type { AdbError } from '../../src/adb/index.js';

export function codeOf(e: unknown): string {
  return (e as AdbError).code ?? `not an AdbError: ${String(e)}`;
}

/** The expected output of `seq 1 n`. */
export function seqText(n: number): string {
  let s = '';
  for (let i = 1; i <= n; i++) s += `${i}\n`;
  return s;
}
