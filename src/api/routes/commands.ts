// SPEC §3 and §5: run one command on up to 100 instances, asynchronously or waiting for it.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { CommandInput } from '../../tasks/index.js';
import { noteAudit } from '../audit.js';
import { principalOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { ASYNC_COMMAND, SYNC_COMMAND, type CommandRequest } from '../schemas/index.js';
import { cmdResultJson, createdTaskJson, ok } from '../views.js';

const ASYNC_ROUTE = '/v1/instances/async-command';
const SYNC_ROUTE = '/v1/instances/sync-command';

export async function commandRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { tasks, metrics } = deps;

  /** The task service's input: the store checks ownership in the writing transaction, after
   * looking up x-request-id, so a retry of an accepted request gets its original answer even if
   * an instance changed hands since (SPEC §3), and a reused id with another body is 409 before
   * anything else is said about the body's instances. */
  const input = (body: CommandRequest): CommandInput => ({
    command: body.command,
    instanceIds: body.instance_ids,
    timeoutMs: body.timeout_seconds * 1000,
  });

  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    ASYNC_ROUTE,
    { schema: ASYNC_COMMAND, config: { audit: 'command.submit' } },
    async (request) => {
      const principal = principalOf(request);
      const created = await tasks.submit(principal.tenantKey, input(request.body), request.id);
      noteAudit(request, { taskId: created.taskId, replayed: created.replayed });
      // An idempotent replay created nothing: it is no submission.
      if (!created.replayed) metrics?.submitted(ASYNC_ROUTE, principal.tenantId);
      return ok(createdTaskJson(created));
    },
  );

  api.post(
    SYNC_ROUTE,
    { schema: SYNC_COMMAND, config: { audit: 'command.sync' } },
    async (request) => {
      const principal = principalOf(request);
      const task = await tasks.run(principal.tenantKey, input(request.body));
      noteAudit(request, { taskId: task.taskId });
      metrics?.submitted(SYNC_ROUTE, principal.tenantId);
      return ok({ cmd_results: task.jobs.map(cmdResultJson) });
    },
  );
}
