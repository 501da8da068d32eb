// SPEC §4 and §7: a task's jobs, the task list, one job's output, cancel, events.
import { Type } from '@sinclair/typebox';
import { ERROR_REPLIES, NullableInteger, NullableString, Ok } from './common.js';
import { Job } from './commands.js';

// Any string reaches the route ("task_id ... does not exist" for a malformed one, SPEC §4).
export const TaskParams = Type.Object({ task_id: Type.String() });
export const JobParams = Type.Object({ task_id: Type.String(), job_id: Type.String() });

export const TaskSummary = Type.Object(
  {
    task_id: Type.String(),
    command: Type.String(),
    created_at: Type.String(),
    counts: Type.Object({
      queued: Type.Integer(),
      running: Type.Integer(),
      succeeded: Type.Integer(),
      failed: Type.Integer(),
      timed_out: Type.Integer(),
      cancelled: Type.Integer(),
    }),
  },
  { title: 'TaskSummary' },
);

export const JobOutput = Type.Object(
  {
    stdout: Type.String(),
    stderr: Type.String(),
    combined: Type.String(),
    exit_code: NullableInteger(),
    output_bytes: Type.Integer(),
    output_truncated: Type.Boolean(),
  },
  { title: 'JobOutput' },
);

export const TaskReply = Ok(Type.Object({ jobs: Type.Array(Job) }));

export const TASK_LIST = {
  // Query parameters are parsed by hand (core/validation's parseQueryInt): "1.5" and a repeated
  // parameter must be told apart from a number out of range, in SPEC's words.
  response: { 200: Ok(Type.Object({ tasks: Type.Array(TaskSummary), next_cursor: NullableString() })), ...ERROR_REPLIES },
} as const;
export const TASK = { params: TaskParams, response: { 200: TaskReply, ...ERROR_REPLIES } } as const;
export const JOB_OUTPUT = { params: JobParams, response: { 200: Ok(JobOutput), ...ERROR_REPLIES } } as const;
export const CANCEL = { params: TaskParams, response: { 200: TaskReply, ...ERROR_REPLIES } } as const;
/** The 200 is a text/event-stream written by the route itself; only errors are serialized. */
export const EVENTS = { params: TaskParams, response: { ...ERROR_REPLIES } } as const;
