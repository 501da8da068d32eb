// The OpenAPI 3.1 document (GET /openapi.json, no token) built from the routes' TypeBox schemas,
// and its reference UI (GET /docs), served from the installed package: no CDN, nothing off-host.
// Registered before the routes: @fastify/swagger learns them from its onRoute hook.
import { readFileSync } from 'node:fs';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { describeRoute, hoistTitledSchemas } from './openapi-describe.js';

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PREFIX = '/docs';

/** package.json's version: two folders up from both src/api and dist/api. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

const DESCRIPTION = [
  'adbfleet runs adb shell commands on fleets of Android instances.',
  '',
  'The tenant API under `/v1` is wire-compatible with Huawei Cloud KooPhone\'s instance API: a KooPhone',
  'client works by changing only the endpoint and the token. Every tenant request carries an',
  '`x-request-id` header and the tenant token in `X-Auth-Token`. Answers are',
  '`{"error_code": "0", "error_msg": "ok", "data": ...}`; errors are `{"error_code", "error_msg"}`',
  'with the codes of docs/API.md\'s error registry. The operator API under `/admin/v1` takes the admin',
  'token as a bearer token.',
].join('\n');

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'adbfleet API',
        version: packageVersion(),
        description: DESCRIPTION,
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      tags: [
        { name: 'commands', description: 'Run shell commands (KooPhone)' },
        { name: 'tasks', description: 'Tasks and their jobs (KooPhone, and extensions)' },
        { name: 'instances', description: 'The caller\'s instances (KooPhone)' },
        { name: 'artifacts', description: 'Files the caller uploads for device operations' },
        { name: 'operations', description: 'Device operations: app install (KooPhone), uninstall, file push and pull, screenshot' },
        { name: 'admin', description: 'The operator\'s API' },
        { name: 'health', description: 'Liveness and readiness; no token' },
        { name: 'metrics', description: 'Prometheus metrics; the admin token unless the operator opened them' },
      ],
      components: {
        securitySchemes: {
          // SPEC: KooPhone's tenant token travels in X-Auth-Token, not as a bearer token.
          tenantToken: { type: 'apiKey', in: 'header', name: 'X-Auth-Token', description: 'A tenant token' },
          adminToken: { type: 'http', scheme: 'bearer', description: 'The operator\'s admin token' },
        },
      },
    },
    transform: ({ schema, url, route }) => {
      const method = Array.isArray(route.method) ? String(route.method[0]) : route.method;
      // @fastify/swagger's types give the schema as its own shape; ours is a plain record.
      const described = describeRoute(method, url, schema as Record<string, unknown> | undefined);
      return { schema: described as typeof schema, url };
    },
    transformObject: (documentObject) => {
      const document = 'openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject;
      hoistTitledSchemas(document as Record<string, unknown>);
      return document;
    },
  });
  await app.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    theme: { title: 'adbfleet API' },
    uiConfig: { deepLinking: true },
  });
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
}
