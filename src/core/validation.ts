// SPEC's request rules as data and pure functions: the patterns the API's schemas use (and the
// words for a broken one), and the rules JSON Schema expresses poorly (request ids, ADB
// addresses, query integers), here so the CLI and tests can share them.
import { isIPv6 } from 'node:net';
import { LIMITS, type IntRange } from './limits.js';

/** Letters, digits, space and `_ . / : -`: no shell metacharacter can chain or redirect. */
export const COMMAND_CHARS = '^[A-Za-z0-9 _./:-]*$';
/** Spaces and nothing else (an empty command is minLength's to report). */
export const ONLY_SPACES = '^ +$';
export const INSTANCE_ID_PATTERN = `^[A-Za-z0-9_-]{1,${LIMITS.instanceIdChars}}$`;

/** x-request-id: 1-128 printable ASCII characters (0x20-0x7E). */
const REQUEST_ID = new RegExp(`^[\\x20-\\x7e]{1,${LIMITS.requestIdChars}}$`);

export function isValidRequestId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= LIMITS.requestIdChars && REQUEST_ID.test(value);
}

/** Human messages for a broken rule, keyed by field (the last path segment, without index). */
const INSTANCE_ID_RULE = `must be 1-${LIMITS.instanceIdChars} characters from A-Z a-z 0-9 _ -`;
export const PATTERN_MESSAGES: Readonly<Record<string, string>> = {
  command: 'only letters, digits, space and _ . / : - are allowed',
  instance_ids: INSTANCE_ID_RULE,
  instance_id: INSTANCE_ID_RULE,
  // Device operations (SPEC §10): KooPhone's install names its list instance_id_list.
  instance_id_list: INSTANCE_ID_RULE,
  package_name: 'must be an Android package name: two or more parts joined by dots, each a letter then letters, digits or _',
  mode: 'must be permission bits: 3 or 4 octal digits in a string ("0644") or an integer from 0 to 4095 (420 is 0644)',
};

/** A query parameter that must be an integer in [min, max]; undefined gives the default.
 * Returns an error message (naming nothing; the caller prefixes the field) or the value. */
export function parseQueryInt(
  raw: unknown,
  { min, max, default: fallback }: IntRange,
): { ok: true; value: number } | { ok: false; message: string } {
  if (raw === undefined) return { ok: true, value: fallback };
  const message = `must be an integer from ${min} to ${max}`;
  if (typeof raw !== 'string' || !/^[0-9]{1,16}$/.test(raw)) return { ok: false, message };
  const value = Number(raw);
  if (value < min || value > max) return { ok: false, message };
  return { ok: true, value };
}

/** An ISO 8601 date (midnight UTC) or date-time with its zone (Z or +hh:mm); seconds and a fraction optional. */
const ISO_TIME = /^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]{1,9})?)?(?:Z|[+-]([0-9]{2}):([0-9]{2})))?$/;

/** A query parameter that must be an ISO 8601 time (absent: undefined), as epoch milliseconds.
 * A time without a zone is refused rather than read in the server's own zone. */
export function parseQueryTime(raw: unknown): { ok: true; value: number | undefined } | { ok: false; message: string } {
  if (raw === undefined) return { ok: true, value: undefined };
  const message = 'must be an ISO 8601 date or date-time with a zone, e.g. 2026-11-29 or 2026-11-29T10:00:00Z';
  const m = typeof raw === 'string' ? ISO_TIME.exec(raw) : null;
  if (m === null) return { ok: false, message };
  const [year, month, day, hour = 0, minute = 0, second = 0, zoneHour = 0, zoneMinute = 0] = m.slice(1).map((v) => (v === undefined ? undefined : Number(v)));
  // Date.parse rolls 2026-02-30 over into March: a day or an hour out of range is refused instead.
  const date = new Date(Date.UTC(year!, month! - 1, day!));
  if (date.getUTCMonth() !== month! - 1 || date.getUTCDate() !== day) return { ok: false, message };
  if (hour > 23 || minute > 59 || second > 59 || zoneHour > 23 || zoneMinute > 59) return { ok: false, message };
  const value = Date.parse(raw as string);
  return Number.isNaN(value) ? { ok: false, message } : { ok: true, value };
}

const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const DOTTED_NUMBERS = /^[0-9.]+$/;

/** What adb_address may be, in the words errors use. */
export const ADB_ADDRESS_FORMS = 'host:port or adb-server://host:port/serial';
const ADB_SERVER_SCHEME = 'adb-server://';
/** The serial of an adb-server:// address (src/adb/address.ts parses the same form). */
const SERIAL = /^[A-Za-z0-9._:@[\]-]{1,128}$/;

/** adb_address: `host:port` (hostname, IPv4 or [IPv6], port 1-65535), or
 * `adb-server://host:port/serial`. */
export function isValidAdbAddress(value: string): boolean {
  return adbAddressProblem(value) === null;
}

/** What is wrong with an adb_address, as the rule it breaks ("must be ..."), or null when valid. */
export function adbAddressProblem(value: string): string | null {
  if (!value.startsWith(ADB_SERVER_SCHEME)) {
    return isValidHostPort(value) ? null : `must be ${ADB_ADDRESS_FORMS} (host: hostname, IPv4 or [IPv6]; port 1-65535)`;
  }
  const rest = value.slice(ADB_SERVER_SCHEME.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return 'adb-server:// must be followed by host:port/serial';
  if (!isValidHostPort(rest.slice(0, slash))) return 'the adb server must be host:port (host: hostname, IPv4 or [IPv6]; port 1-65535)';
  if (!SERIAL.test(rest.slice(slash + 1))) return 'the serial must be 1-128 characters from A-Z a-z 0-9 . _ : @ [ ] -';
  return null;
}

/** host:port with host a hostname, IPv4 or [IPv6], and port 1-65535. */
function isValidHostPort(value: string): boolean {
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
