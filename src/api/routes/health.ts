// Liveness and readiness: no token, no request id required.
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { HEALTHZ, READYZ } from '../schemas/index.js';

/**
 * /readyz needs no token and the store's probe writes (an fsync under synchronous FULL): one probe
 * answers every request of the next second, so a flood of /readyz cannot become a flood of fsyncs.
 */
const PROBE_REUSE_MS = 1_000;

export async function healthRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  let last: { at: number; probe: Promise<void> } | null = null;
  const probe = (): Promise<void> => {
    const now = Date.now();
    if (last === null || now - last.at >= PROBE_REUSE_MS) last = { at: now, probe: deps.store.ping() };
    return last.probe;
  };
  app.get('/healthz', { schema: HEALTHZ }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: READYZ }, async (request, reply) => {
    try {
      await probe();
      return { status: 'ok' };
    } catch (err) {
      request.log.warn({ err }, 'store not ready');
      return reply.code(503).send({ status: 'unavailable' });
    }
  });
}
