// `host:port` as instances are registered (SPEC §8): hostname, IPv4, or bracketed IPv6.

export interface HostPort {
  host: string;
  port: number;
}

export function parseAddress(address: string): HostPort | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(address);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2] ?? '', port };
}
