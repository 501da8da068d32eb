// SPEC §3 and §5: the command requests, and the job as every task answer shows it (§4).
import { Type, type Static } from '@sinclair/typebox';
import { COMMAND_CHARS, INSTANCE_ID_PATTERN, LIMITS, ONLY_SPACES, type IntRange } from '../../core/index.js';
import { ERROR_REPLIES, NullableInteger, NullableString, Ok } from './common.js';

export const InstanceIds = Type.Array(Type.String({ pattern: INSTANCE_ID_PATTERN }), {
  minItems: 1,
  maxItems: LIMITS.instancesPerRequest,
  uniqueItems: true,
});

function commandBody(timeout: IntRange) {
  const body = Type.Object({
    command: Type.String({
      minLength: 1,
      // The character set is ASCII only, so characters and bytes agree.
      maxLength: LIMITS.commandBytes,
      pattern: COMMAND_CHARS,
      // `type` inside `not`: Ajv checks `not` before `type`, and a number must be told it is
      // not a string rather than that it is "only spaces".
      not: { type: 'string', pattern: ONLY_SPACES },
    }),
    instance_ids: InstanceIds,
    timeout_seconds: Type.Integer({ minimum: timeout.min, maximum: timeout.max, default: timeout.default }),
  });
  // Ajv fills timeout_seconds's default (useDefaults) before the handler runs: optional on the
  // wire, always present in the type.
  return Object.assign(body, { required: ['command', 'instance_ids'] });
}

export const AsyncCommandBody = commandBody(LIMITS.asyncTimeoutSeconds);
export const SyncCommandBody = commandBody(LIMITS.syncTimeoutSeconds);
/** The part of a command request that decides "same request" for idempotency. */
export type CommandRequest = Static<typeof AsyncCommandBody>;

/** A job as GET task shows it (SPEC §4), fields in this order. */
export const Job = Type.Object(
  {
    job_id: Type.String(),
    status: Type.Integer(),
    error_code: Type.String(),
    error_msg: Type.String(),
    execute_msg: Type.String(),
    instance_id: Type.String(),
    state: Type.String(),
    exit_code: NullableInteger(),
    created_at: Type.String(),
    started_at: NullableString(),
    finished_at: NullableString(),
    output_bytes: Type.Integer(),
    output_truncated: Type.Boolean(),
  },
  // Titles name the schemas in the OpenAPI document (openapi.ts); validation and serialization ignore them.
  { title: 'Job' },
);
export type JobJson = Static<typeof Job>;

/** sync-command's per-instance result: a job with instance_id first (SPEC §5). */
export const CommandResult = Type.Object(
  { instance_id: Type.String(), ...Type.Omit(Job, ['instance_id']).properties },
  { title: 'CommandResult' },
);
export type CommandResultJson = Static<typeof CommandResult>;

/** A submitted task as async-command answers it (and every device operation): its id and its jobs. */
export const SubmittedTask = Type.Object({
  task_id: Type.String(),
  cmd_jobs: Type.Array(Type.Object({ instance_id: Type.String(), job_id: Type.String() })),
});
export type SubmittedTaskJson = Static<typeof SubmittedTask>;
export const AsyncCommandReply = Ok(SubmittedTask);
export const SyncCommandReply = Ok(Type.Object({ cmd_results: Type.Array(CommandResult) }));

export const ASYNC_COMMAND = {
  body: AsyncCommandBody,
  response: { 200: AsyncCommandReply, ...ERROR_REPLIES },
} as const;
export const SYNC_COMMAND = {
  body: SyncCommandBody,
  response: { 200: SyncCommandReply, ...ERROR_REPLIES },
} as const;
