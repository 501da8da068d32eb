// Turns how an exec ended (a result or an AdbError) into the job's final state and code (SPEC §4).
import { JOB_CODES, JobCode, jobMessage, LIMITS } from '../core/index.js';
import type { JobArtifact, JobResult } from '../store/index.js';
import { isAdbError, type PartialOutput } from '../adb/index.js';
import { adbErrorCode, type ExecResult } from './ports.js';

/** The first `max` bytes of `buf`, cut back so no UTF-8 character is split. */
export function utf8Prefix(buf: Buffer, max: number): Buffer {
  if (buf.length <= max) return buf;
  let end = max;
  // Walk back over continuation bytes (10xxxxxx) to the lead byte of the character at the cut.
  let lead = end - 1;
  while (lead > 0 && end - lead < 4 && (buf[lead]! & 0xc0) === 0x80) lead--;
  const b = buf[lead]!;
  const width = b < 0x80 ? 1 : (b & 0xe0) === 0xc0 ? 2 : (b & 0xf0) === 0xe0 ? 3 : (b & 0xf8) === 0xf0 ? 4 : 1;
  if (lead + width > end) end = lead;
  return buf.subarray(0, end);
}

/** execute_msg: the first 1024 bytes of the combined output at a character boundary, decoded
 * (bytes that are not UTF-8 become U+FFFD). */
export function executeMsg(combined: Buffer): string {
  const text = utf8Prefix(combined, LIMITS.executeMsgBytes).toString('utf8');
  // Each invalid byte became U+FFFD, 3 bytes in UTF-8: cut again so the message stays within
  // 1024 bytes as SPEC promises.
  if (Buffer.byteLength(text) <= LIMITS.executeMsgBytes) return text;
  return utf8Prefix(Buffer.from(text, 'utf8'), LIMITS.executeMsgBytes).toString('utf8');
}

function result(jobKey: number, code: JobCode, exitCode: number | null, finishedAt: number): JobResult {
  return {
    jobKey,
    state: JOB_CODES[code].state,
    errorCode: code,
    errorMsg: jobMessage(code, exitCode),
    exitCode,
    executeMsg: '',
    outputBytes: 0,
    outputTruncated: false,
    finishedAt,
    output: null,
  };
}

/** A job that ended without a result: it never ran, or its exec failed (with the output the
 * command printed before that, when there was any). `detail` follows the code's message. */
export function failedResult(jobKey: number, code: JobCode, finishedAt: number, partial?: PartialOutput | null, detail?: string | null): JobResult {
  const r = result(jobKey, code, null, finishedAt);
  if (detail != null) r.errorMsg = `${r.errorMsg}: ${detail}`;
  if (partial === undefined || partial === null) return r;
  return {
    ...r,
    executeMsg: executeMsg(partial.combined),
    outputBytes: partial.outputBytes,
    outputTruncated: partial.truncated,
    output: { stdout: partial.stdout, stderr: partial.stderr, combined: partial.combined },
  };
}

/** The output an AdbError carries from a command that was cut short. */
export function partialOutput(err: unknown): PartialOutput | null {
  return isAdbError(err) ? err.partial : null;
}

/** A command that ran to completion. A shell v1 device reports no exit status (exitCode null):
 * the command did run to its end, so it counts as succeeded, with exit_code null. */
export function completedResult(jobKey: number, r: ExecResult, finishedAt: number): JobResult {
  const code = r.exitCode === null || r.exitCode === 0 ? JobCode.Ok : JobCode.NonZeroExit;
  return {
    ...result(jobKey, code, r.exitCode, finishedAt),
    executeMsg: executeMsg(r.combined),
    outputBytes: r.outputBytes,
    outputTruncated: r.truncated,
    output: { stdout: r.stdout, stderr: r.stderr, combined: r.combined },
  };
}

/** A device operation that succeeded without a command's output (push, pull, screenshot): no exit
 * status, execute_msg says what was done, and the file it produced, if any. */
export function operationResult(jobKey: number, summary: string, finishedAt: number, artifact: JobArtifact | null): JobResult {
  return { ...result(jobKey, JobCode.Ok, null, finishedAt), executeMsg: executeMsg(Buffer.from(summary, 'utf8')), artifact };
}

/** The job code for an exec that rejected; null means "not an ADB error" (logged, 9999). */
export function execErrorCode(err: unknown): JobCode | null {
  switch (adbErrorCode(err)) {
    case 'TIMEOUT':
      return JobCode.TimedOut;
    case 'CANCELLED':
      return JobCode.Cancelled;
    case 'CONNECTION_LOST':
    case 'PROTOCOL_ERROR':
      return JobCode.ConnectionLost;
    case 'CONNECT_FAILED':
    case 'OPEN_UNANSWERED': // the device never took the command: it did not run, as with no connection
      return JobCode.Unreachable;
    case 'AUTH_REJECTED':
      return JobCode.AuthRejected;
    case null:
      return null;
  }
}

/**
 * What a job's error_msg adds to its code's message: how the device broke the protocol (it chose
 * to, and the tenant's command met it). Nothing for other failures, whose details name hosts
 * and ports that are the operator's business.
 */
export function execErrorDetail(err: unknown): string | null {
  return isAdbError(err) && err.code === 'PROTOCOL_ERROR' ? `the device broke the ADB protocol: ${err.detail ?? 'unknown violation'}` : null;
}
