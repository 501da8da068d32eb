// Instance addresses as they are registered (SPEC §8, §11): `host:port` of an adbd (hostname,
// IPv4, or bracketed IPv6), or `adb-server://HOST:PORT/SERIAL`, a device that the adb server at
// HOST:PORT lists under SERIAL (USB phones, or anything `adb connect` added to it). The admin
// API's stricter check of the same forms is src/core/validation.ts (the layers may not share
// code); test/adb/address.test.ts holds the two to the same answers.

export interface HostPort {
  host: string;
  port: number;
}

export interface AdbServerTarget extends HostPort {
  /** the device's serial on that server, as `adb devices` lists it */
  serial: string;
}

export const ADB_SERVER_SCHEME = 'adb-server://';

/**
 * A serial: what USB serials, `adb connect` targets (`127.0.0.1:5555`, `[::1]:5555`), emulators
 * (`emulator-5554`) and mDNS names (`adb-XYZ._adb-tls-connect._tcp`) are made of. It goes into
 * the server's requests as text, so nothing that could end or split one (`;`, NUL, space) passes.
 */
export const SERIAL_PATTERN = /^[A-Za-z0-9._:@[\]-]{1,128}$/;

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s/]+)):(\d{1,5})$/;

export function parseAddress(address: string): HostPort | null {
  const m = HOST_PORT.exec(address);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2] ?? '', port };
}

export function isAdbServerAddress(address: string): boolean {
  return address.startsWith(ADB_SERVER_SCHEME);
}

/**
 * `adb-server://HOST:PORT/SERIAL` into its parts, or a message naming the part at fault (for an
 * error's detail: the worker refuses such an address with CONNECT_FAILED).
 */
export function parseAdbServerAddress(address: string): AdbServerTarget | { problem: string } {
  if (!isAdbServerAddress(address)) return { problem: `does not start with ${ADB_SERVER_SCHEME}` };
  const rest = address.slice(ADB_SERVER_SCHEME.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return { problem: 'no /SERIAL after the adb server\'s HOST:PORT' };
  const server = parseAddress(rest.slice(0, slash));
  if (server === null) return { problem: 'the adb server must be HOST:PORT with a port 1-65535' };
  const serial = rest.slice(slash + 1);
  if (!SERIAL_PATTERN.test(serial)) return { problem: 'the serial must be 1-128 characters from A-Z a-z 0-9 . _ : @ [ ] -' };
  return { ...server, serial };
}
