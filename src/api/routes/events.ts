// SPEC §7: a task's job state changes as Server-Sent Events. The task service hands over the task
// as the store has it, first and after every committed change; per job only states that advance
// (queued < running < final) are sent, so the stream has no duplicates and no reversals. Every
// stream of one task shares its watch and its serialized events (task-events.ts).
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ApiError, LIMITS, TASK_ID } from '../../core/index.js';
import { principalOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { EVENTS } from '../schemas/index.js';
import { TaskEventHub } from '../task-events.js';

export async function eventRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const hub = new TaskEventHub(deps.tasks, deps.sseHeartbeatMs ?? LIMITS.sseHeartbeatMs);
  // Open streams would hold server.close() until their clients leave: end them first.
  app.addHook('preClose', async () => hub.close());

  app.withTypeProvider<TypeBoxTypeProvider>().get('/v1/instances/tasks/:task_id/events', { schema: EVENTS }, async (request, reply) => {
    const { tenantKey } = principalOf(request);
    const taskId = request.params.task_id;
    if (!TASK_ID.test(taskId) || !(await hub.stream(tenantKey, taskId, reply, request.id))) {
      throw new ApiError('NO_SUCH_TASK', { taskId });
    }
  });
}
