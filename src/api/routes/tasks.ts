// SPEC §4 and §7: a task's jobs, the task list, one job's full output, cancel.
import type { FastifyInstance } from 'fastify';
import { ApiError, HEX_ID, parseQueryInt } from '../../core/index.js';
import { principalOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { jobJson, ok, outputJson, taskSummaryJson } from '../views.js';

const CURSOR_MAX = 256;

type TaskParams = { task_id: string };

/** Same answer for malformed, missing and foreign ids: nothing leaks across tenants. */
export function noSuchTask(taskId: string): ApiError {
  return new ApiError('INVALID_REQUEST', `task_id ${taskId.slice(0, 64)} does not exist`);
}

export async function taskRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { store, tasks } = deps;

  app.get<{ Querystring: Record<string, unknown> }>('/v1/instances/tasks', async (request) => {
    const { tenantKey } = principalOf(request);
    const limit = parseQueryInt(request.query['limit'], 1, 100, 20);
    if (!limit.ok) throw new ApiError('INVALID_REQUEST', `limit: ${limit.message}`);
    const rawCursor = request.query['cursor'];
    let cursor: string | null = null;
    if (rawCursor !== undefined && rawCursor !== '') {
      // Opaque: the store tells a malformed one (StoreError INVALID_CURSOR, mapped to 400).
      if (typeof rawCursor !== 'string' || rawCursor.length > CURSOR_MAX) {
        throw new ApiError('INVALID_REQUEST', 'cursor: is not a cursor this API returned');
      }
      cursor = rawCursor;
    }
    const page = await store.listTasks(tenantKey, limit.value, cursor);
    return ok({ tasks: page.tasks.map(taskSummaryJson), next_cursor: page.nextCursor });
  });

  app.get<{ Params: TaskParams }>('/v1/instances/tasks/:task_id', async (request) => {
    const { tenantKey } = principalOf(request);
    const taskId = request.params.task_id;
    const task = HEX_ID.test(taskId) ? await store.getTask(tenantKey, taskId) : null;
    if (task === null) throw noSuchTask(taskId);
    return ok({ jobs: task.jobs.map(jobJson) });
  });

  app.get<{ Params: TaskParams & { job_id: string } }>(
    '/v1/instances/tasks/:task_id/jobs/:job_id/output',
    async (request) => {
      const { tenantKey } = principalOf(request);
      const { task_id: taskId, job_id: jobId } = request.params;
      if (!HEX_ID.test(taskId)) throw noSuchTask(taskId);
      const out = HEX_ID.test(jobId) ? await store.getJobOutput(tenantKey, taskId, jobId) : null;
      if (out === null) {
        // Tell a missing task from a missing job only within the caller's own tasks.
        if ((await store.getTask(tenantKey, taskId)) === null) throw noSuchTask(taskId);
        throw new ApiError('INVALID_REQUEST', `job_id ${jobId.slice(0, 64)} does not exist`);
      }
      return ok(outputJson(out));
    },
  );

  app.post<{ Params: TaskParams }>('/v1/instances/tasks/:task_id/cancel', async (request) => {
    const { tenantKey } = principalOf(request);
    const taskId = request.params.task_id;
    const task = HEX_ID.test(taskId) ? await tasks.cancel(tenantKey, taskId) : null;
    if (task === null) throw noSuchTask(taskId);
    return ok({ jobs: task.jobs.map(jobJson) });
  });
}
