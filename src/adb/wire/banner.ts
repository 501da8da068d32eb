// The connect banner a device sends in its CNXN payload, e.g.
// `device::ro.product.name=X;ro.product.model=Y;ro.product.device=Z;features=shell_v2,cmd`
// (AOSP adb.cpp get_connection_string). Older devices send `device::` and nothing else.
// The host parses it, the simulated adbd formats it: both from here.

export interface DeviceBanner {
  /** connection state word before `::` ("device", "recovery", "sideload", ...) */
  state: string;
  product: string | null;
  model: string | null;
  device: string | null;
  features: readonly string[];
  /** the payload as received, without the trailing NUL */
  raw: string;
}

export function parseDeviceBanner(payload: Buffer | string): DeviceBanner {
  const raw = (typeof payload === 'string' ? payload : payload.toString('utf8')).replace(/\0+$/, '');
  const sep = raw.indexOf('::');
  const state = sep < 0 ? raw.split(':', 1)[0] ?? '' : raw.slice(0, sep);
  const props = sep < 0 ? '' : raw.slice(sep + 2);
  const banner: DeviceBanner = { state, product: null, model: null, device: null, features: [], raw };
  for (const item of props.split(';')) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (key === 'ro.product.name') banner.product = value;
    else if (key === 'ro.product.model') banner.model = value;
    else if (key === 'ro.product.device') banner.device = value;
    else if (key === 'features') banner.features = value.split(',').filter((f) => f.length > 0);
  }
  return banner;
}

/** The banner adbd sends for an online device (the simulator's). */
export function formatDeviceBanner(b: { product: string; model: string; device: string; features: readonly string[] }): string {
  return `device::ro.product.name=${b.product};ro.product.model=${b.model};ro.product.device=${b.device};features=${b.features.join(',')}`;
}

/**
 * What we announce: shell v2 (exit codes, separate stderr), cmd, and delayed_ack (several WRTEs
 * per stream in flight; used only with a device that lists it too).
 */
const HOST_FEATURES = ['shell_v2', 'cmd', 'delayed_ack'] as const;
export const HOST_BANNER = `host::features=${HOST_FEATURES.join(',')}`;
