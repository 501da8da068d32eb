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
