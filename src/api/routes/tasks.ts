// SPEC §4 and §7: a task's jobs, the task list, one job's full output, cancel.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ApiError, HEX_ID, INSTALL_TASK_PREFIX, LIMITS, parseQueryInt, TASK_ID } from '../../core/index.js';
import { principalOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { CANCEL, JOB_OUTPUT, TASK, TASK_LIST } from '../schemas/index.js';
import { jobJson, ok, outputJson, taskSummaryJson } from '../views.js';
import { queryCursor } from './cursor.js';

export async function taskRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { store, tasks } = deps;
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get<{ Querystring: Record<string, unknown> }>('/v1/instances/tasks', { schema: TASK_LIST }, async (request) => {
    const { tenantKey } = principalOf(request);
    const limit = parseQueryInt(request.query['limit'], LIMITS.taskListLimit);
    if (!limit.ok) throw new ApiError('INVALID_FIELD', { field: 'limit', rule: limit.message });
    const page = await store.listTasks(tenantKey, limit.value, queryCursor(request.query['cursor']));
    return ok({ tasks: page.tasks.map(taskSummaryJson), next_cursor: page.nextCursor });
  });

  api.get('/v1/instances/tasks/:task_id', { schema: TASK }, async (request) => {
    const { tenantKey } = principalOf(request);
    const taskId = request.params.task_id;
    const task = TASK_ID.test(taskId) ? await store.getTask(tenantKey, taskId) : null;
    if (task === null) {
      // KooPhone's GetTask answers an unknown install task (its ids are ZGCA...) with 1323, a 404.
      if (TASK_ID.test(taskId) && taskId.startsWith(INSTALL_TASK_PREFIX)) throw new ApiError('NO_SUCH_INSTALL_TASK', { taskId });
      throw new ApiError('NO_SUCH_TASK', { taskId });
    }
    return ok({ jobs: task.jobs.map(jobJson) });
  });

  api.get(
    '/v1/instances/tasks/:task_id/jobs/:job_id/output',
    { schema: JOB_OUTPUT },
    async (request) => {
      const { tenantKey } = principalOf(request);
      const { task_id: taskId, job_id: jobId } = request.params;
      if (!TASK_ID.test(taskId)) throw new ApiError('NO_SUCH_TASK', { taskId });
      const out = HEX_ID.test(jobId) ? await store.getJobOutput(tenantKey, taskId, jobId) : null;
      if (out === null) {
        // Tell a missing task from a missing job only within the caller's own tasks.
        if ((await store.getTask(tenantKey, taskId)) === null) throw new ApiError('NO_SUCH_TASK', { taskId });
        throw new ApiError('NO_SUCH_JOB', { jobId });
      }
      return ok(outputJson(out));
    },
  );

  api.post('/v1/instances/tasks/:task_id/cancel', { schema: CANCEL, config: { audit: 'task.cancel' } }, async (request) => {
    const { tenantKey } = principalOf(request);
    // No body, or a JSON object (its fields ignored): anything else is refused before anything is cancelled.
    const body: unknown = request.body;
    if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) throw new ApiError('BODY_EMPTY');
    const taskId = request.params.task_id;
    const task = TASK_ID.test(taskId) ? await tasks.cancel(tenantKey, taskId) : null;
    if (task === null) throw new ApiError('NO_SUCH_TASK', { taskId });
    return ok({ jobs: task.jobs.map(jobJson) });
  });
}
