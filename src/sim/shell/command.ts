// The shape every virtual command has: arguments and the device in, a result (or a Proc for
// commands that take time or produce a lot) out. Commands never touch the host system.
import type { DeviceState } from '../device-state.js';
import type { Proc } from './proc.js';

export interface CommandResult {
  out?: string;
  err?: string;
  code?: number;
}

export type CommandFn = (args: string[], dev: DeviceState) => CommandResult | Proc;

export function isProc(r: CommandResult | Proc): r is Proc {
  return typeof (r as Proc).read === 'function';
}

/** Splits leading `-xyz` flag clusters from operands (toybox style, `--` ends options). */
export function parseFlags(args: string[], known: string): { flags: Set<string>; rest: string[]; bad: string | null } {
  const flags = new Set<string>();
  const rest: string[] = [];
  let bad: string | null = null;
  let options = true;
  for (const a of args) {
    if (options && a === '--') options = false;
    else if (options && a.length > 1 && a.startsWith('-')) {
      for (const f of a.slice(1)) {
        if (!known.includes(f)) bad ??= f;
        flags.add(f);
      }
    } else rest.push(a);
  }
  return { flags, rest, bad };
}

/** Java shell commands (pm, am, wm, settings) end with -1 on a usage error: exit status 255. */
export const JAVA_USAGE_EXIT = 255;
