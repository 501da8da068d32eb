// What tests and benchmarks share. Harnesses, by what they start:
// - startApiHarness: the API alone (app.inject) on a real SQLite store and the task service; no
//   worker runs (the store's notices to it are recorded) and the monitor is an in-test stand-in.
// - startLiveApi: the same API on the real worker (dispatcher, health monitor, ADB pool) and a
//   simulated fleet, all in this process.
// - startServiceHarness: the whole service as `serve` wires it (real HTTP socket) and a fleet.
// - startServeProcess / startWorkerProcess / startSimProcess: `adbfleet serve` (with its API, or
//   --role worker) / `adbfleet sim` as child processes; runCli / spawnCli: any other CLI command,
//   run to its end with its output collected.
// - startAdbServer: Debian's adb server, private (own port and HOME), as a child process.
// - buildApk: a real APK built with Debian's aapt (aaptSkip when it is missing).
// parseExposition reads a /metrics answer strictly (Prometheus's text format).
// tango.ts (Tango as an independent ADB host) is imported by path: it loads @yume-chan/adb, which
// only its two users should pay for.
export { ADMIN_TOKEN, FeedRecorder, SettableMonitor, envelope, overrideStore, rid, startApiHarness, type ApiHarness } from './api-harness.js';
export { ADB_TIMEOUTS, MAX_OUTPUT_BYTES } from './adb-settings.js';
export { AAPT, aaptSkip, buildApk, type ApkSpec } from './apk.js';
export { DEBIAN_ADB, debianAdbSkip, freePort, startAdbServer, type AdbRun, type AdbServer } from './debian-adb.js';
export { request, type ApiResponse, type JobJson } from './http.js';
export { testKey, testPublicKey } from './keys.js';
export { startLiveApi, type LiveApi } from './live-api.js';
export { until } from './poll.js';
export {
  COMPILED_ENTRY,
  compiledCliProblem,
  runCli,
  SOURCE_ENTRY,
  spawnCli,
  startChild,
  startServeProcess,
  startSimProcess,
  startWorkerProcess,
  type Child,
  type CliResult,
  type CliRun,
} from './processes.js';
export { startServiceHarness, type ServiceHarness } from './service-harness.js';
export { parseExposition, type Exposition, type Sample } from './prometheus.js';
export { smallDisk, type SmallDisk } from './small-disk.js';
export { collectSse, followSse, openSse, type SseEvent } from './sse.js';
export { tenantKeyOf, tenantKeyOfToken } from './tenants.js';
