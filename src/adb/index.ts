// Public face of the host side of ADB: the pool the worker uses (FleetPool: direct connections
// and adb servers), single connections, keys, typed errors, and the wire format (wire/, which the
// simulator imports on its own).

export { FleetPool, type FleetPoolOptions } from './fleet-pool.js';
export { AdbPool, type AdbPoolOptions, type AdbPoolStats } from './pool.js';
export { AdbServerPool, type AdbServerPoolOptions, type AdbServerPoolStats } from './server-pool.js';
export { SmartSocket, encodeRequest, serverFailure, type ReplyHandler } from './server-protocol.js';
export { AdbConnection, MAX_UNANSWERED_OPENS, type ConnectionOptions, type Transport } from './connection.js';
export { connectAdb, startConnection, type ConnectOptions } from './socket.js';
export {
  AdbError,
  ADB_ERROR_CODES,
  isAdbError,
  isTransferError,
  TRANSFER_ERROR_CODES,
  TransferError,
  type AdbErrorCode,
  type PartialOutput,
  type TransferErrorCode,
} from './errors.js';
export type { RawExecOptions, RawExecResult } from './exec-raw.js';
export type { SyncOptions } from './sync-call.js';
export type { SyncEntry } from './sync-ops.js';
export type { PullOptions } from './sync-pull.js';
export type { PushOptions, TransferResult } from './sync-push.js';
export { type CancelSignal, type ExecOptions, type ExecResult } from './exec.js';
export { generateKey, loadOrCreateKey, publicKeyOf, type AdbKey, type LoadKeyOptions } from './key.js';
export {
  ADB_SERVER_SCHEME,
  isAdbServerAddress,
  parseAdbServerAddress,
  parseAddress,
  type AdbServerTarget,
  type HostPort,
} from './address.js';
export type { StreamHandle, StreamHandler } from './stream.js';
export * from './wire/index.js';
