// SPEC §3 and §5: run one command on up to 100 instances, asynchronously or waiting for it.
import { createHash } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, LIMITS } from '../../core/index.js';
import { principalOf } from '../auth.js';
import type { CreatedTask, TaskKind } from '../../store/index.js';
import type { ApiDeps } from '../deps.js';
import { ASYNC_COMMAND, SYNC_COMMAND, type CommandRequest } from '../schemas/index.js';
import { cmdResultJson, ok } from '../views.js';

/** "The same body" for idempotency: the normalized request (unknown fields ignored, the default
 * timeout written out), in a fixed order. */
export function requestHash(body: CommandRequest): string {
  return createHash('sha256').update(JSON.stringify([body.command, body.instance_ids, body.timeout_seconds])).digest('hex');
}

export async function commandRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { store, dispatcher } = deps;

  /**
   * The task and its jobs in one transaction, then the jobs to the worker. The store checks
   * ownership in that transaction, after looking up x-request-id: a retry of an accepted request
   * gets its original answer even if an instance changed hands since (SPEC §3), and a reused id
   * with another body is 409 before anything else is said about the body's instances.
   */
  async function submit(request: FastifyRequest & { body: CommandRequest }, kind: TaskKind): Promise<CreatedTask> {
    const { tenantKey } = principalOf(request);
    const body = request.body;
    const created = await store.createTask({
      tenantKey,
      command: body.command,
      timeoutMs: body.timeout_seconds * 1000,
      kind,
      instanceIds: body.instance_ids,
      // Idempotency (SPEC §3) is async-command's: a sync retry waits for a fresh run.
      ...(kind === 'async' ? { requestId: request.id, requestHash: requestHash(body) } : {}),
    });
    if (created === 'conflict') throw new ApiError('IDEMPOTENCY_CONFLICT');
    if (!created.replayed) dispatcher.submitted(created, tenantKey);
    return created;
  }

  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    '/v1/instances/async-command',
    { schema: ASYNC_COMMAND },
    async (request) => {
      const created = await submit(request, 'async');
      return ok({
        task_id: created.taskId,
        cmd_jobs: created.jobs.map((j) => ({ instance_id: j.instanceId, job_id: j.jobId })),
      });
    },
  );

  api.post(
    '/v1/instances/sync-command',
    { schema: SYNC_COMMAND },
    async (request) => {
      const created = await submit(request, 'sync');
      await dispatcher.waitForTask(created.taskKey, Date.now() + request.body.timeout_seconds * 1000 + LIMITS.syncGraceMs);
      const task = await store.getTask(principalOf(request).tenantKey, created.taskId);
      if (task === null) throw new Error(`task ${created.taskId} vanished while running`);
      return ok({ cmd_results: task.jobs.map(cmdResultJson) });
    },
  );
}
