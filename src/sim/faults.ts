// Checking a fault that arrives as JSON (control port, CLI) before an instance acts on it.
import type { Fault } from './types.js';

const MAX_MS = 24 * 3600 * 1000;

export class FaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultError';
  }
}

function int(o: Record<string, unknown>, field: string, max: number): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new FaultError(`fault field '${field}' must be an integer from 0 to ${max}`);
  }
  return v;
}

export function parseFault(x: unknown): Fault {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new FaultError('fault must be a JSON object');
  const o = x as Record<string, unknown>;
  switch (o['kind']) {
    case 'latency':
      return { kind: 'latency', ms: int(o, 'ms', MAX_MS) };
    case 'offline':
      return { kind: 'offline', ms: int(o, 'ms', MAX_MS) };
    case 'drop':
      return { kind: 'drop', afterBytes: int(o, 'afterBytes', Number.MAX_SAFE_INTEGER) };
    case 'bad-shell-packet':
      return { kind: 'bad-shell-packet', id: int(o, 'id', 255), length: int(o, 'length', 0xffffffff) };
    case 'transfer-fail':
    case 'transfer-drop':
      return { kind: o['kind'], afterBytes: int(o, 'afterBytes', Number.MAX_SAFE_INTEGER) };
    case 'hang':
    case 'refuse':
    case 'auth-reject':
    case 'garbage':
      return { kind: o['kind'] };
    default:
      throw new FaultError(`fault 'kind' must be one of latency, hang, drop, refuse, auth-reject, garbage, bad-shell-packet, offline, transfer-fail, transfer-drop`);
  }
}
