// SPEC §3 and §5: run one command on up to 100 instances, asynchronously or waiting for it.
import type { FastifyInstance } from 'fastify';
import type { CommandRequest } from '../../core/index.js';
import type { CommandInput } from '../../tasks/index.js';
import { principalOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { ASYNC_COMMAND_BODY, SYNC_COMMAND_BODY } from '../schemas.js';
import { cmdResultJson, ok } from '../views.js';

export async function commandRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { tasks } = deps;

  /** The task service's input: the store checks ownership in the writing transaction, after
   * looking up x-request-id, so a retry of an accepted request gets its original answer even if
   * an instance changed hands since (SPEC §3), and a reused id with another body is 409 before
   * anything else is said about the body's instances. */
  const input = (body: CommandRequest): CommandInput => ({
    command: body.command,
    instanceIds: body.instance_ids,
    timeoutMs: body.timeout_seconds * 1000,
  });

  app.post<{ Body: CommandRequest }>(
    '/v1/instances/async-command',
    { schema: { body: ASYNC_COMMAND_BODY } },
    async (request) => {
      const created = await tasks.submit(principalOf(request).tenantKey, input(request.body), request.id);
      return ok({
        task_id: created.taskId,
        cmd_jobs: created.jobs.map((j) => ({ instance_id: j.instanceId, job_id: j.jobId })),
      });
    },
  );

  app.post<{ Body: CommandRequest }>(
    '/v1/instances/sync-command',
    { schema: { body: SYNC_COMMAND_BODY } },
    async (request) => {
      const task = await tasks.run(principalOf(request).tenantKey, input(request.body));
      return ok({ cmd_results: task.jobs.map(cmdResultJson) });
    },
  );
}
