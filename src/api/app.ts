// Builds the Fastify app: hooks in SPEC §2's order (request id, token, rate limit, then body
// validation), routes, one error handler, and the audit log's record of each state-changing
// request once answered (audit.ts). Schemas compile when the app is ready. A worker-only process
// builds it with the operator's routes alone (surface 'ops': health and metrics).
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ApiError, LIMITS } from '../core/index.js';
import { recordAudit } from './audit.js';
import { principalOf, tenantAuth } from './auth.js';
import { UNMATCHED_ROUTE, type ApiDeps, type ApiMetrics } from './deps.js';
import { clientErrorHandler, expectationFailed } from './client-error.js';
import { capConnectionsPerSource } from './connection-cap.js';
import { consoleRoutes } from './console.js';
import { errorHandler, frameworkErrorHandler, notFoundHandler } from './error-handler.js';
import { createRateLimiter } from './rate-limit.js';
import { echoRequestId, genReqId, requireRequestId } from './request-id.js';
import { adminRoutes } from './routes/admin.js';
import { artifactRoutes } from './routes/artifacts.js';
import { commandRoutes } from './routes/commands.js';
import { eventRoutes } from './routes/events.js';
import { registerOpenApi } from './openapi.js';
import { healthRoutes } from './routes/health.js';
import { instanceRoutes } from './routes/instances.js';
import { metricsRoutes } from './routes/metrics.js';
import { operationRoutes } from './routes/operations.js';
import { taskRoutes } from './routes/tasks.js';
import { schemaErrorFormatter, type SchemaError } from './schema-errors.js';

/** How often Node looks for requests past their timeouts: a fraction of the shorter one, so a
 * request is cut within about a quarter past its deadline (Node's default is every 30 s). */
function timeoutCheckMs(timeoutMs: number): number {
  return Math.max(50, Math.min(1_000, Math.floor(timeoutMs / 4)));
}

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const logger = deps.logger ?? false;
  const { httpRequestTimeoutMs: requestTimeout, httpConnectionsPerSource } = deps.config;
  // Node refuses a headers timeout longer than the request timeout, which bounds both anyway.
  const headersTimeout = Math.min(deps.config.httpHeadersTimeoutMs, requestTimeout);
  const app: FastifyInstance = Fastify({
    ...(logger === false ? { logger: false } : { loggerInstance: logger }),
    bodyLimit: LIMITS.bodyBytes,
    genReqId,
    requestIdHeader: false,
    // SPEC: "30" is not an integer. Defaults still apply (timeout_seconds).
    ajv: { customOptions: { coerceTypes: false, useDefaults: true, removeAdditional: false } },
    schemaErrorFormatter: (errors, dataVar) => schemaErrorFormatter(errors as unknown as SchemaError[], dataVar),
    // Answered by the shuttingDown hook instead, in the envelope with its x-request-id.
    return503OnClosing: false,
    // The whole request, headers and body, in bounded time: a body that stalls or trickles is cut
    // with a 408 (client-error.ts). Fastify's default (0) lets it hold its socket forever.
    requestTimeout,
    http: {
      headersTimeout,
      requestTimeout,
      connectionsCheckingInterval: timeoutCheckMs(headersTimeout),
      // Checked by the onRequest hook instead, so the 400 carries the envelope.
      requireHostHeader: false,
    },
    // One log line per request costs more than the request itself at 1,000 requests/s; errors
    // (500s) are logged by the error handler with their request id.
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors: frameworkErrorHandler(deps.store),
    clientErrorHandler,
    // Long ids reach their route, whose hooks check the request id and token first, then answer
    // "task_id ... does not exist"; Fastify's default (100) would answer before any hook.
    routerOptions: { maxParamLength: 2048 },
  }) as unknown as FastifyInstance;

  capConnectionsPerSource(app.server, httpConnectionsPerSource, app.log);
  app.server.on('checkExpectation', expectationFailed);

  app.decorateRequest('principal', null);
  app.decorateRequest('admin', false);
  app.decorateRequest('errorCode', null);
  app.decorateRequest('auditNote', null);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // What every request is checked for before its route (one hook: this runs per request).
  app.addHook('onRequest', async (request) => {
    // A request that reaches a closing server (on a connection busy with another) gets a 503 in
    // the envelope, and its connection is closed.
    if (closing) throw new ApiError('SHUTTING_DOWN', {}, { connection: 'close' });
    // Node's own missing-Host answer has no envelope: checked here instead (requireHostHeader off).
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) throw new ApiError('HOST_REQUIRED');
    // Fastify reads a body before the not-found handler runs: an unknown route answers from here
    // instead, without waiting for a body that may never come.
    if (request.is404) await notFoundHandler(request);
  });
  app.addHook('onSend', echoRequestId);
  app.addHook('onSend', closeIfBodyPending);
  if (deps.metrics !== undefined) app.addHook('onResponse', countResponse(deps.metrics));
  app.addHook('onSend', recordAudit(deps.store));

  // An empty body is "no body" (so body-less POSTs like cancel work with any client); routes
  // with a body schema then reject it as "body: must be a JSON object".
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, text, done) => {
    const s = typeof text === 'string' ? text : text.toString('utf8');
    if (s.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(s));
    } catch {
      done(new ApiError('BODY_NOT_JSON'), undefined);
    }
  });

  // Fastify's own text/plain parser would hand a string to routes; a text body is refused with
  // the content-type message every other type gets (an empty one is no body, as above).
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, text, done) => {
    const s = typeof text === 'string' ? text : text.toString('utf8');
    if (s.trim() === '') return done(null, undefined);
    done(new ApiError('BODY_MEDIA_TYPE'), undefined);
  });

  const ops = deps.surface === 'ops';
  // Before the routes, so the document sees every one of them.
  if (!ops) await registerOpenApi(app);
  await app.register(async (health) => healthRoutes(health, deps));
  const metrics = deps.metrics;
  if (metrics !== undefined) await app.register(async (scrape) => metricsRoutes(scrape, deps, metrics));
  if (ops) {
    await app.ready();
    return app;
  }
  await app.register(async (admin) => adminRoutes(admin, deps), { prefix: '/admin/v1' });
  await app.register(async (web) => consoleRoutes(web, deps.consoleDir));

  const { rateLimitPerSecond, rateLimitBurst } = deps.config;
  const limiter = createRateLimiter(rateLimitPerSecond, rateLimitBurst);
  // Several API nodes on one database share each tenant's bucket there (SPEC §9's limit holds
  // across them); if the database does not answer, this node's own bucket decides meanwhile.
  const shared = rateLimitPerSecond > 0 ? deps.store.sharedRateLimiter(rateLimitPerSecond, rateLimitBurst) : null;
  await app.register(async (tenant) => {
    tenant.addHook('onRequest', requireRequestId);
    tenant.addHook('onRequest', tenantAuth(deps.store));
    tenant.addHook('onRequest', async (request: FastifyRequest) => {
      const { tenantKey } = principalOf(request);
      const wait = shared === null ? limiter.take(tenantKey) : await shared.take(tenantKey).catch(() => limiter.take(tenantKey));
      if (wait > 0) {
        throw new ApiError('RATE_LIMITED', { perSecond: deps.config.rateLimitPerSecond }, { 'retry-after': String(wait) });
      }
    });
    await commandRoutes(tenant, deps);
    await taskRoutes(tenant, deps);
    await eventRoutes(tenant, deps);
    await instanceRoutes(tenant, deps);
    await artifactRoutes(tenant, deps);
    await operationRoutes(tenant, deps);
  });

  await app.ready();
  return app;
}

/** onResponse hook: every answered request, by its route's pattern (a callback hook: no promise
 * per request). */
function countResponse(metrics: ApiMetrics) {
  return (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    metrics.responded(request.routeOptions.url ?? UNMATCHED_ROUTE, request.method, reply.statusCode);
    done();
  };
}

/** An answer sent before the request's body arrived (401, 404, 429, 413 ...) closes the connection:
 * otherwise Node keeps it to read and discard a body that may never come. */
async function closeIfBodyPending(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (!request.raw.complete) reply.header('connection', 'close');
}
