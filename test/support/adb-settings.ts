// The ADB layer keeps no defaults of its own: tests and benchmarks pass the service's, from the
// settings table, unless they need other values.
import { DEFAULT_CONFIG } from '../../src/core/index.js';

/** connect and auth timeouts for an AdbPool or connectAdb */
export const ADB_TIMEOUTS = Object.freeze({
  connectTimeoutMs: DEFAULT_CONFIG.adbConnectTimeoutMs,
  authTimeoutMs: DEFAULT_CONFIG.adbAuthTimeoutMs,
  openTimeoutMs: DEFAULT_CONFIG.adbOpenTimeoutMs,
});

/** output an exec keeps, as the worker passes it */
export const MAX_OUTPUT_BYTES = DEFAULT_CONFIG.maxOutputBytes;
