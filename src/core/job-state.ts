// A job's life, as one constant and one transition table (pg-boss / River style).
// The store enforces the same rules with guarded UPDATEs and a CHECK constraint.

export const JobState = {
  Queued: 'queued',
  Running: 'running',
  Succeeded: 'succeeded',
  Failed: 'failed',
  TimedOut: 'timed_out',
  Cancelled: 'cancelled',
} as const;
export type JobState = (typeof JobState)[keyof typeof JobState];

export const JOB_STATES: readonly JobState[] = Object.values(JobState);
const FINAL_STATES: ReadonlySet<JobState> = new Set([
  JobState.Succeeded,
  JobState.Failed,
  JobState.TimedOut,
  JobState.Cancelled,
]);

export function isFinal(state: JobState): boolean {
  return FINAL_STATES.has(state);
}

/** Allowed transitions. A queued job may fail without running (unreachable, auth refused). */
const TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  queued: ['running', 'cancelled', 'failed'],
  running: ['succeeded', 'failed', 'timed_out', 'cancelled'],
  succeeded: [],
  failed: [],
  timed_out: [],
  cancelled: [],
};

export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** KooPhone's numeric status: 1 running (includes queued), 2 succeeded, -1 failed. */
export function kooPhoneStatus(state: JobState): 1 | 2 | -1 {
  if (state === 'succeeded') return 2;
  if (state === 'queued' || state === 'running') return 1;
  return -1;
}

/** Job-level result codes (SPEC §4). */
export const JobCode = {
  Ok: '0',
  NonZeroExit: 'KOOPHONE.JOB.1001',
  Unreachable: 'KOOPHONE.JOB.1002',
  TimedOut: 'KOOPHONE.JOB.1003',
  Cancelled: 'KOOPHONE.JOB.1004',
  ConnectionLost: 'KOOPHONE.JOB.1005',
  Interrupted: 'KOOPHONE.JOB.1006',
  AuthRejected: 'KOOPHONE.JOB.1007',
  /** a device operation (SPEC §10) that failed on its own terms: the device refused a push (full disk, no such directory), a pulled file or screenshot was past the artifact limit or not what it should be */
  DeviceRefused: 'KOOPHONE.JOB.1008',
  Internal: 'KOOPHONE.JOB.9999',
} as const;
export type JobCode = (typeof JobCode)[keyof typeof JobCode];

/** The state each code ends a job in, and its fixed message (1001's message carries the status). */
export const JOB_CODES: Readonly<Record<JobCode, { state: JobState; message: string }>> = {
  '0': { state: 'succeeded', message: 'ok' },
  'KOOPHONE.JOB.1001': { state: 'failed', message: 'exit status N' },
  'KOOPHONE.JOB.1002': { state: 'failed', message: 'instance unreachable: no ADB connection within the retry window' },
  'KOOPHONE.JOB.1003': { state: 'timed_out', message: 'command ran past timeout_seconds; the remote process was ended' },
  'KOOPHONE.JOB.1004': { state: 'cancelled', message: 'cancelled' },
  'KOOPHONE.JOB.1005': { state: 'failed', message: 'the ADB connection broke while the command ran' },
  'KOOPHONE.JOB.1006': { state: 'failed', message: 'interrupted: the worker running it stopped; it is not run again' },
  'KOOPHONE.JOB.1007': { state: 'failed', message: 'the instance refused ADB authentication' },
  'KOOPHONE.JOB.1008': { state: 'failed', message: 'the file operation failed' },
  'KOOPHONE.JOB.9999': { state: 'failed', message: 'internal error' },
};

export function jobMessage(code: JobCode, exitCode: number | null): string {
  if (code === JobCode.NonZeroExit) return `exit status ${exitCode ?? 'unknown'}`;
  return JOB_CODES[code].message;
}
