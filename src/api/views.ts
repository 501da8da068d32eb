// Store rows -> SPEC's JSON shapes, typed by the response schemas. Times are epoch ms in the
// store, ISO 8601 UTC here.
import type { Static } from '@sinclair/typebox';
import { kooPhoneStatus } from '../core/index.js';
import type { AuditRecord, CreatedTask, Instance, JobOutput, JobView, TaskSummary as TaskSummaryRow } from '../store/index.js';
import type {
  AdminInstance,
  AuditEntryJson,
  CommandResultJson,
  SubmittedTaskJson,
  JobJson,
  JobOutput as JobOutputSchema,
  TaskSummary,
  TenantInstance,
} from './schemas/index.js';

export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** A submitted task as async-command and the device operations answer it: its jobs in request order. */
export function createdTaskJson(created: CreatedTask): SubmittedTaskJson {
  return { task_id: created.taskId, cmd_jobs: created.jobs.map((j) => ({ instance_id: j.instanceId, job_id: j.jobId })) };
}

export function jobJson(j: JobView): JobJson {
  return {
    job_id: j.jobId,
    status: kooPhoneStatus(j.state),
    error_code: j.errorCode,
    error_msg: j.errorMsg,
    execute_msg: j.executeMsg,
    instance_id: j.instanceId,
    state: j.state,
    exit_code: j.exitCode,
    created_at: iso(j.createdAt),
    started_at: iso(j.startedAt),
    finished_at: iso(j.finishedAt),
    output_bytes: j.outputBytes,
    output_truncated: j.outputTruncated,
  };
}

/** sync-command's per-instance result: "per-instance fields as in §4" (SPEC §5), instance_id first. */
export function cmdResultJson(j: JobView): CommandResultJson {
  const { instance_id, ...rest } = jobJson(j);
  return { instance_id, ...rest };
}

export function taskSummaryJson(t: TaskSummaryRow): Static<typeof TaskSummary> {
  return {
    task_id: t.taskId,
    command: t.command,
    created_at: iso(t.createdAt),
    counts: {
      queued: t.counts.queued,
      running: t.counts.running,
      succeeded: t.counts.succeeded,
      failed: t.counts.failed,
      timed_out: t.counts.timed_out,
      cancelled: t.counts.cancelled,
    },
  };
}

export function outputJson(o: JobOutput): Static<typeof JobOutputSchema> {
  // Buffer#toString replaces invalid UTF-8 sequences with U+FFFD.
  return {
    stdout: o.stdout.toString('utf8'),
    stderr: o.stderr.toString('utf8'),
    combined: o.combined.toString('utf8'),
    exit_code: o.exitCode,
    output_bytes: o.outputBytes,
    output_truncated: o.outputTruncated,
  };
}

export function tenantInstanceJson(i: Instance, runningStatus: number): Static<typeof TenantInstance> {
  return {
    instance_id: i.instanceId,
    instance_name: i.instanceName,
    running_status: runningStatus,
    zone: i.zone,
    created_at: iso(i.createdAt),
  };
}

export function adminInstanceJson(i: Instance, status: number): Static<typeof AdminInstance> {
  return {
    instance_id: i.instanceId,
    adb_address: i.adbAddress,
    instance_name: i.instanceName,
    zone: i.zone,
    tenant_id: i.tenantId,
    status,
    created_at: iso(i.createdAt),
  };
}

type Envelope = { error_code: string; error_msg: string };
export function ok(): Envelope;
export function ok<T>(data: T): Envelope & { data: T };
export function ok(data?: unknown): Envelope & { data?: unknown } {
  return data === undefined ? { error_code: '0', error_msg: 'ok' } : { error_code: '0', error_msg: 'ok', data };
}

/** An audit entry as GET /admin/v1/audit shows it: targets' fields only when the request named them. */
export function auditEntryJson(e: AuditRecord): Static<typeof AuditEntryJson> {
  const t = e.targets;
  return {
    id: e.id,
    at: iso(e.at),
    actor: e.actor,
    token_prefix: e.tokenPrefix,
    source: e.source,
    request_id: e.requestId,
    action: e.action,
    targets: {
      ...(t.instanceIds === undefined ? {} : { instance_ids: t.instanceIds }),
      ...(t.instanceCount === undefined ? {} : { instance_count: t.instanceCount }),
      ...(t.instanceId === undefined ? {} : { instance_id: t.instanceId }),
      ...(t.taskId === undefined ? {} : { task_id: t.taskId }),
      ...(t.tenantId === undefined ? {} : { tenant_id: t.tenantId }),
      ...(t.tokenPrefix === undefined ? {} : { token_prefix: t.tokenPrefix }),
    },
    outcome: { status: e.outcome.status, error_code: e.outcome.errorCode, task_id: e.outcome.taskId, replayed: e.outcome.replayed },
  };
}
