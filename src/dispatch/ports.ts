import type { Writable } from 'node:stream';
import {
  isAdbError,
  type AdbErrorCode,
  type ExecOptions as AdbExecOptions,
  type ExecResult,
  type PullOptions,
  type PushOptions,
  type RawExecOptions,
  type RawExecResult,
  type SyncOptions,
  type SyncStat,
  type TransferResult,
} from '../adb/index.js';
import type { JobResult, QueuedJob } from '../store/index.js';

// What the worker needs from its neighbours, as structural types: the real AdbPool (src/adb) and a
// pino logger satisfy them, and the scheduling code does not depend on how either is built.

/** The slice of the pool the health monitor and the worker's connection logic use. */
export interface ConnectionPool {
  /** Ensures a live, authenticated connection (no I/O when one is already up). */
  connect(address: string): Promise<unknown>;
  /** Connects if needed and checks that adbd answers (no command runs). */
  ping(address: string, timeoutMs: number): Promise<unknown>;
  isConnected(address: string): boolean;
  /** When the live connection last received bytes from the device, epoch ms (0: not connected). */
  lastReceivedAt(address: string): number;
  /** When the address may next be tried, in epoch ms (the pool owns the reconnect policy). */
  nextAttemptAt(address: string): number;
  exec(address: string, command: string, options: ExecOptions): Promise<ExecResult>;
  reboot(address: string): Promise<unknown>;
  /** The listener gets the address whose connection went away; may return an unsubscribe function. */
  onDisconnect(listener: (address: string) => void): unknown;
}

/** What the worker uses: connections and commands, and the calls device operations (SPEC §10) need. */
export interface WorkerPool extends ConnectionPool {
  /** `exec:CMD` byte for byte into sink (a screenshot); the sink is ended on success only. */
  execRaw(address: string, command: string, sink: Writable, options: RawExecOptions): Promise<RawExecResult>;
  /** Streams a local file to the device; a device FAIL rejects with TransferError SYNC_FAILED. */
  push(address: string, localPath: string, remotePath: string, options: PushOptions): Promise<TransferResult>;
  /** Streams a device file into a local one, which is removed when the call fails. */
  pull(address: string, remotePath: string, localPath: string, options: PullOptions): Promise<TransferResult>;
  /** mode, size (32 bits: STAT v1) and mtime of a device path; null when there is none. */
  stat(address: string, remotePath: string, options: SyncOptions): Promise<SyncStat | null>;
}

/** What the worker always passes: a deadline, the output cap and a way to cancel. */
export type ExecOptions = Required<AdbExecOptions>;
export type { ExecResult };

/** The code of an AdbError, or null for anything else (a bug, or an error from elsewhere). */
export function adbErrorCode(err: unknown): AdbErrorCode | null {
  return isAdbError(err) ? err.code : null;
}

/**
 * Told what happens to the jobs the worker runs, for metrics. Called on the hot path (once or
 * twice per job): it must be cheap and must not throw. Times are epoch ms.
 */
export interface WorkerObserver {
  /** markRunning committed the job, at startedAt: its command is sent next. */
  started(job: QueuedJob, startedAt: number): void;
  /** The job's result, before the store has it; startedAt is null for a job that never ran
   * (unreachable, key refused). Jobs the store cancels while queued are not told here. */
  finished(job: QueuedJob, result: JobResult, startedAt: number | null): void;
  /** At start: jobs a previous worker left running, now failed 1006. */
  interrupted(jobs: number): void;
}

const noop = (): void => {};
export const NO_OBSERVER: WorkerObserver = Object.freeze({ started: noop, finished: noop, interrupted: noop });

/** A pino-compatible logger (pino's Logger satisfies it). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const SILENT_LOGGER: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

/** Calls an unsubscribe function if the subscription returned one. */
export function unsubscribe(handle: unknown): void {
  if (typeof handle === 'function') (handle as () => void)();
}
