// The ADB layer's error registry: every failure a caller can see has one of these stable codes,
// and every message names the device address so a log line alone says which phone failed.

export const ADB_ERROR_CODES = {
  /** TCP connect failed or timed out, or the device broke the CNXN handshake */
  CONNECT_FAILED: 'could not connect to the device',
  /** the device never accepted our key within the auth timeout */
  AUTH_REJECTED: 'the device refused ADB authentication',
  /** an established connection closed while a call needed it */
  CONNECTION_LOST: 'the ADB connection was lost',
  /** the device did not answer the OPEN of an exec in time: the command was not started */
  OPEN_UNANSWERED: 'the device did not answer OPEN',
  /** the call's own deadline passed (its stream was closed) */
  TIMEOUT: 'the call timed out',
  /** the caller aborted the call, or the pool was closed */
  CANCELLED: 'the call was cancelled',
  /** the device sent bytes that are not ADB (the connection was closed) or broke shell v2 in one stream (that stream was) */
  PROTOCOL_ERROR: 'the device broke the ADB protocol',
} as const;
export type AdbErrorCode = keyof typeof ADB_ERROR_CODES;

/** What a command printed before its exec failed (timeout, cancel, lost connection). */
export interface PartialOutput {
  stdout: Buffer;
  stderr: Buffer;
  combined: Buffer;
  outputBytes: number;
  truncated: boolean;
}

export class AdbError extends Error {
  readonly code: AdbErrorCode;
  /** host:port of the device */
  readonly address: string;
  /** what went wrong, without the address and the code's message (null: nothing more to say) */
  readonly detail: string | null;
  /** exec's failures carry the output the command printed up to the failure (see withPartial) */
  partial: PartialOutput | null = null;

  constructor(code: AdbErrorCode, address: string, detail?: string, options?: { cause?: unknown }) {
    super(`${address}: ${ADB_ERROR_CODES[code]}${detail === undefined ? '' : `: ${detail}`}`, options);
    this.name = 'AdbError';
    this.code = code;
    this.address = address;
    this.detail = detail ?? null;
  }

  /** A copy carrying one command's output: a lost connection's error is shared by all its streams. */
  withPartial(partial: PartialOutput): AdbError {
    const e = new AdbError(this.code, this.address, this.detail ?? undefined, this.cause === undefined ? undefined : { cause: this.cause });
    e.message = this.message;
    if (this.stack !== undefined) e.stack = this.stack;
    e.partial = partial;
    return e;
  }
}

export function isAdbError(e: unknown): e is AdbError {
  return e instanceof AdbError;
}

/**
 * Failures only file transfers and raw execs have, on top of AdbError's (which they also reject
 * with: TIMEOUT, CONNECTION_LOST, ...). A registry of their own: the worker maps AdbError's codes
 * exhaustively to job codes, and these reach it only once it runs transfers.
 */
export const TRANSFER_ERROR_CODES = {
  /** the device answered a file sync request with FAIL: its message is the detail */
  SYNC_FAILED: 'the device refused the file operation',
  /** a local file (a push's source, a pull's destination) or an output sink failed: not the device's fault */
  LOCAL_IO: 'a local file could not be read or written',
  /** a raw exec's output passed its byte limit (its stream was closed) */
  OUTPUT_LIMIT: 'the command printed more than allowed',
} as const;
export type TransferErrorCode = keyof typeof TRANSFER_ERROR_CODES;

export class TransferError extends Error {
  readonly code: TransferErrorCode;
  /** host:port of the device */
  readonly address: string;
  /** what went wrong: the operation and path, and the device's or the OS's words */
  readonly detail: string;

  constructor(code: TransferErrorCode, address: string, detail: string, options?: { cause?: unknown }) {
    super(`${address}: ${TRANSFER_ERROR_CODES[code]}: ${detail}`, options);
    this.name = 'TransferError';
    this.code = code;
    this.address = address;
    this.detail = detail;
  }
}

export function isTransferError(e: unknown): e is TransferError {
  return e instanceof TransferError;
}
