// Liveness and readiness: no token, no request id required.
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { HEALTHZ, READYZ } from '../schemas/index.js';

export async function healthRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get('/healthz', { schema: HEALTHZ }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: READYZ }, async (request, reply) => {
    try {
      await deps.store.ping();
      return { status: 'ok' };
    } catch (err) {
      request.log.warn({ err }, 'store not reachable');
      return reply.code(503).send({ status: 'unavailable' });
    }
  });
}
