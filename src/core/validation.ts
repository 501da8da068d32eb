// SPEC's request rules as data and pure functions. The API compiles the JSON schemas at start;
// the few rules JSON Schema expresses poorly (request ids, ADB addresses, query integers) are
// plain functions here so the CLI and tests can share them.
import { isIPv6 } from 'node:net';
import { LIMITS } from './limits.js';

/** Letters, digits, space and `_ . / : -`: no shell metacharacter can chain or redirect. */
export const COMMAND_CHARS = '^[A-Za-z0-9 _./:-]*$';
/** Spaces and nothing else (an empty command is minLength's to report). */
export const ONLY_SPACES = '^ +$';
export const INSTANCE_ID_PATTERN = '^[A-Za-z0-9_-]{1,32}$';

/** x-request-id: 1-128 printable ASCII characters (0x20-0x7E). */
const REQUEST_ID = /^[\x20-\x7e]{1,128}$/;

export function isValidRequestId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= LIMITS.requestIdChars && REQUEST_ID.test(value);
}

/** Human messages for a broken rule, keyed by field (the last path segment, without index). */
export const PATTERN_MESSAGES: Readonly<Record<string, string>> = {
  command: 'only letters, digits, space and _ . / : - are allowed',
  instance_ids: 'must be 1-32 characters from A-Z a-z 0-9 _ -',
  instance_id: 'must be 1-32 characters from A-Z a-z 0-9 _ -',
};

export function commandBodySchema(timeout: { min: number; max: number; default: number }): object {
  return {
    type: 'object',
    required: ['command', 'instance_ids'],
    properties: {
      command: {
        type: 'string',
        minLength: 1,
        // The character set is ASCII only, so characters and bytes agree.
        maxLength: LIMITS.commandBytes,
        pattern: COMMAND_CHARS,
        // `type` inside `not`: Ajv checks `not` before `type`, and a number must be told it is
        // not a string rather than that it is "only spaces".
        not: { type: 'string', pattern: ONLY_SPACES },
      },
      instance_ids: instanceIdsSchema(),
      timeout_seconds: { type: 'integer', minimum: timeout.min, maximum: timeout.max, default: timeout.default },
    },
  };
}

export function instanceIdsSchema(): object {
  return {
    type: 'array',
    minItems: 1,
    maxItems: LIMITS.instancesPerRequest,
    uniqueItems: true,
    items: { type: 'string', pattern: INSTANCE_ID_PATTERN },
  };
}

export const ASYNC_COMMAND_BODY = commandBodySchema(LIMITS.asyncTimeoutSeconds);
export const SYNC_COMMAND_BODY = commandBodySchema(LIMITS.syncTimeoutSeconds);
export const INSTANCE_IDS_BODY = {
  type: 'object',
  required: ['instance_ids'],
  properties: { instance_ids: instanceIdsSchema() },
};

/** The part of a command request that decides "same request" for idempotency. */
export interface CommandRequest {
  command: string;
  instance_ids: string[];
  timeout_seconds: number;
}

/** A query parameter that must be an integer in [min, max]; undefined gives the default.
 * Returns an error message (naming nothing; the caller prefixes the field) or the value. */
export function parseQueryInt(
  raw: unknown,
  min: number,
  max: number,
  fallback: number,
): { ok: true; value: number } | { ok: false; message: string } {
  if (raw === undefined) return { ok: true, value: fallback };
  const message = `must be an integer from ${min} to ${max}`;
  if (typeof raw !== 'string' || !/^[0-9]{1,16}$/.test(raw)) return { ok: false, message };
  const value = Number(raw);
  if (value < min || value > max) return { ok: false, message };
  return { ok: true, value };
}

const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const DOTTED_NUMBERS = /^[0-9.]+$/;

/** adb_address: hostname, IPv4 or [IPv6], then :port with port 1-65535. */
export function isValidAdbAddress(value: string): boolean {
  const colon = value.lastIndexOf(':');
  if (colon <= 0) return false;
  const host = value.slice(0, colon);
  const port = value.slice(colon + 1);
  if (!/^[0-9]{1,5}$/.test(port)) return false;
  const portNo = Number(port);
  if (portNo < 1 || portNo > 65535) return false;
  if (host.startsWith('[')) {
    return host.endsWith(']') && host.length > 2 && isIPv6(host.slice(1, -1));
  }
  if (DOTTED_NUMBERS.test(host)) return isIPv4(host);
  if (host.length > 253) return false;
  return host.split('.').every((label) => HOST_LABEL.test(label));
}

function isIPv4(host: string): boolean {
  const parts = host.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}
