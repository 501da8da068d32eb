// Option values parsed where commander reads them, so a bad one is a usage error (exit 2) that
// names the option, before any request is made.
import { InvalidArgumentError } from 'commander';
import type { IntRange } from '../../core/index.js';

/** "a, b,c" -> ["a", "b", "c"]; empty items are a usage error, not silently dropped. */
export function parseIds(raw: string): string[] {
  const ids = raw.split(',').map((s) => s.trim());
  if (ids.some((id) => id === '')) throw new InvalidArgumentError('must be a comma-separated list of instance ids, none empty');
  return ids;
}

/** --instances given again adds to the list (commander passes the list so far). */
export function appendIds(raw: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...parseIds(raw)];
}

/** The API refuses a repeated id only within one request of 100: the whole list is checked here,
 * so a repeat in another hundred is not run twice. Positions count from 0, as the API's do. */
export function duplicateOf(ids: readonly string[]): string | null {
  const first = new Map<string, number>();
  for (const [i, id] of ids.entries()) {
    const at = first.get(id);
    if (at !== undefined) return `--instances[${i}]: duplicate of --instances[${at}] (${id})`;
    first.set(id, i);
  }
  return null;
}

export function parseIntIn(range: Pick<IntRange, 'min' | 'max'>): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < range.min || n > range.max) throw new InvalidArgumentError(`must be an integer from ${range.min} to ${range.max}`);
    return n;
  };
}
