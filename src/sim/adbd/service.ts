// OPEN payloads the simulated adbd understands (AOSP SERVICES.TXT, adbd services.cpp):
// `shell[,v2][,raw|,pty][,TERM=x]:CMD`, `exec:CMD`, `reboot:[target]`, `sync:`.

type ServiceRequest =
  | { kind: 'shell'; name: string; v2: boolean; command: string }
  | { kind: 'exec'; name: string; command: string }
  | { kind: 'reboot'; name: string; target: string }
  | { kind: 'sync'; name: string }
  | { kind: 'unknown'; name: string };

export function parseService(payload: Buffer): ServiceRequest {
  // Hosts send the name with or without a trailing NUL (Debian's adb adds one, Tango does not).
  let end = payload.length;
  while (end > 0 && payload[end - 1] === 0) end--;
  const text = payload.toString('utf8', 0, end);
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  const arg = colon < 0 ? '' : text.slice(colon + 1);
  if (colon < 0) return { kind: 'unknown', name };
  if (name === 'exec') return { kind: 'exec', name, command: arg };
  if (name === 'reboot') return { kind: 'reboot', name, target: arg };
  if (name === 'sync') return { kind: 'sync', name };
  const parts = name.split(',');
  if (parts[0] !== 'shell') return { kind: 'unknown', name };
  let v2 = false;
  for (const p of parts.slice(1)) {
    if (p === 'v2') v2 = true;
    else if (p !== 'raw' && p !== 'pty' && !p.startsWith('TERM=')) return { kind: 'unknown', name };
  }
  return { kind: 'shell', name, v2, command: arg };
}
