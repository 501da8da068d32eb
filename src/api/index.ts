// The HTTP API: KooPhone-compatible tenant endpoints, extensions, the operator API, health.
export { buildApi } from './app.js';
export type { ApiDeps, ApiMetrics } from './deps.js';
export { createRateLimiter, type RateLimiter } from './rate-limit.js';
// The route schemas, for tools that describe the API (an OpenAPI document).
export * as schemas from './schemas/index.js';
