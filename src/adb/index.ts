// Public face of the host side of ADB: the pool the worker uses, single connections, keys,
// typed errors, and the wire format (wire/, which the simulator imports on its own).

export { AdbPool, type AdbPoolOptions, type AdbPoolStats } from './pool.js';
export { AdbConnection, MAX_UNANSWERED_OPENS, type ConnectionOptions, type Transport } from './connection.js';
export { connectAdb, startConnection, type ConnectOptions } from './socket.js';
export { AdbError, ADB_ERROR_CODES, isAdbError, type AdbErrorCode, type PartialOutput } from './errors.js';
export { type CancelSignal, type ExecOptions, type ExecResult } from './exec.js';
export { generateKey, loadOrCreateKey, publicKeyOf, type AdbKey, type LoadKeyOptions } from './key.js';
export { parseAddress, type HostPort } from './address.js';
export type { StreamHandle, StreamHandler } from './stream.js';
export * from './wire/index.js';
