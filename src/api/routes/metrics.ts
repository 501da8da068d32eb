// GET /metrics for a Prometheus scraper. Tenant ids are label values, so the admin token guards it
// unless the operator opened it for a scraper on a private network. No x-request-id is needed:
// scrapers send none.
import type { FastifyInstance } from 'fastify';
import { adminAuth } from '../auth.js';
import type { ApiDeps, ApiMetrics } from '../deps.js';
import { METRICS } from '../schemas/index.js';

export async function metricsRoutes(app: FastifyInstance, deps: ApiDeps, metrics: ApiMetrics): Promise<void> {
  if (!deps.config.metricsPublic) app.addHook('onRequest', adminAuth(deps.adminTokenHash));
  app.get('/metrics', { schema: METRICS }, async (_request, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.contentType).send(text);
  });
}
