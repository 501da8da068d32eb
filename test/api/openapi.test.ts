// The OpenAPI document (GET /openapi.json) and its reference UI (GET /docs): a valid OpenAPI 3.1
// document by an independent validator, every route the app registered in it (a route added
// later fails here until the document shows it), the checked-in copies current, nothing off-host.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { DOCUMENT_FILE, TYPES_FILE, renderOpenApiFiles } from '../../scripts/gen-openapi.js';
import { createServiceMetrics, type ServiceMetrics } from '../../src/cli/metrics.js';
import { startApiHarness, type ApiHarness } from '../support/index.js';

/** Routes the document leaves out on purpose: the UI and its assets, the document itself, the console. */
const HIDDEN_PREFIXES = ['/docs', '/openapi.json', '/console'];
// The route tree prints /console/* as a child `*` of /console, which reads back as /console*.
const hidden = (path: string): boolean => HIDDEN_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`) || path === `${p}*`);

type Doc = { openapi: string; info: { version: string }; paths: Record<string, Record<string, Operation>> };
type Operation = {
  security?: Record<string, string[]>[];
  parameters?: { in: string; name: string; required?: boolean }[];
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
};

let h: ApiHarness;
let doc: Doc;
// As serve builds the app: GET /metrics exists only with metrics.
let metrics: ServiceMetrics | undefined;

before(async () => {
  metrics = createServiceMetrics();
  h = await startApiHarness({ metrics });
  const res = await h.app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(res.statusCode, 200, res.body);
  doc = res.json<Doc>();
});
after(async () => {
  await h?.close();
  metrics?.close();
});

/** Method and path of every route the app registered, from its route tree (printRoutes). */
function registeredRoutes(tree: string): { method: string; path: string }[] {
  const routes: { method: string; path: string }[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const at = line.search(/[├└]── /);
    if (at < 0) continue;
    const depth = at / 4;
    const m = /^(.*?)(?: \(([^)]*)\))?$/.exec(line.slice(at + 4))!;
    const path = (depth > 0 ? stack[depth - 1]! : '') + m[1]!;
    stack.length = depth;
    stack.push(path);
    for (const method of (m[2] ?? '').split(', ').filter(Boolean)) routes.push({ method, path });
  }
  return routes;
}

test('the document is valid OpenAPI 3.1 (@seriousme/openapi-schema-validator)', async () => {
  assert.equal(doc.openapi, '3.1.0');
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  assert.equal(doc.info.version, pkg.version);
  const validator = new Validator();
  const result = await validator.validate(doc as unknown as Record<string, unknown>);
  assert.equal(validator.version, '3.1');
  assert.deepEqual(result, { valid: true });
});

test('every route the app registered is in the document with its method, except the hidden ones', () => {
  const routes = registeredRoutes(h.app.printRoutes({ commonPrefix: false }));
  // The route tree was read: known routes are there.
  assert.ok(routes.some((r) => r.method === 'DELETE' && r.path === '/admin/v1/tenants/:tenant_id/tokens/:token_prefix'));
  assert.ok(routes.some((r) => r.method === 'POST' && r.path === '/v1/instances/batch-query-status'));
  const missing: string[] = [];
  for (const { method, path } of routes) {
    // HEAD routes are Fastify's own copies of the GET routes.
    if (method === 'HEAD' || hidden(path)) continue;
    const docPath = path.replace(/:(\w+)/g, '{$1}');
    if (doc.paths[docPath]?.[method.toLowerCase()] === undefined) missing.push(`${method} ${path}`);
  }
  assert.deepEqual(missing, [], 'routes missing from the document');
  const listed = Object.keys(doc.paths);
  assert.deepEqual(listed.filter(hidden), [], 'hidden routes listed');
  assert.ok(listed.length >= 19, `${listed.length} paths`);
});

test('tenant operations need the tenant token and x-request-id; admin ones the admin token; errors in the envelope', () => {
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const where = `${method.toUpperCase()} ${path}`;
      if (path.startsWith('/v1/')) {
        assert.deepEqual(op.security, [{ tenantToken: [] }], where);
        const rid = op.parameters?.find((p) => p.in === 'header' && p.name === 'x-request-id');
        // Required in the header unless the query may carry it instead (the next test).
        const inQuery = op.parameters?.some((p) => p.in === 'query' && p.name === 'x-request-id') === true;
        assert.equal(rid?.required, !inQuery, `${where}: x-request-id`);
      } else if (path.startsWith('/admin/') || path === '/metrics') {
        // /metrics asks for the admin token unless the operator opened it (ADBFLEET_METRICS_PUBLIC).
        assert.deepEqual(op.security, [{ adminToken: [] }], where);
      } else {
        assert.equal(op.security, undefined, where);
        continue;
      }
      for (const status of ['400', '401', '500', '503']) {
        assert.equal(op.responses[status]?.content?.['application/json']?.schema.$ref, '#/components/schemas/Error', `${where} ${status}`);
      }
      assert.ok(op.responses['200'] !== undefined, `${where} 200`);
    }
  }
  const events = doc.paths['/v1/instances/tasks/{task_id}/events']!['get']!;
  assert.ok(events.responses['200']!.content!['text/event-stream'] !== undefined);
  const list = doc.paths['/v1/instances/tasks']!['get']!;
  assert.deepEqual(list.parameters!.filter((p) => p.in === 'query').map((p) => p.name), ['limit', 'cursor']);
});

test('x-request-id in the query where the document offers it (KooPhone\'s batch-query), and the API takes it there', async () => {
  const offered = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([, op]) => op.parameters?.some((p) => p.in === 'query' && p.name === 'x-request-id') === true)
      .map(([method]) => `${method.toUpperCase()} ${path}`),
  );
  assert.deepEqual(offered, ['GET /v1/instances/batch-query']);
  const { token } = await h.tenant('query-request-id');
  const res = await h.app.inject({ method: 'GET', url: '/v1/instances/batch-query?x-request-id=from-the-query', headers: { 'x-auth-token': token } });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['x-request-id'], 'from-the-query');
});

test('docs/openapi.json and src/client/openapi-types.ts are what the code produces', async () => {
  const { document, types } = await renderOpenApiFiles();
  assert.deepEqual(JSON.parse(document), doc, 'the generator renders the served document');
  assert.ok(readFileSync(DOCUMENT_FILE, 'utf8') === document, `${DOCUMENT_FILE} is out of date: run npm run gen:openapi`);
  assert.ok(readFileSync(TYPES_FILE, 'utf8') === types, `${TYPES_FILE} is out of date: run npm run gen:openapi`);
});

const OFF_HOST = /(?:https?:)?\/\/[^\s"'<>)]+/g;
const isOffHost = (url: string): boolean => /^(?:https?:)?\/\//.test(url);

test('/docs is served from the package: the page and every asset it references are local', async () => {
  const page = await h.app.inject({ method: 'GET', url: '/docs' });
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers['content-type']), /text\/html/);
  const refs = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(refs.some((r) => r.endsWith('swagger-ui-bundle.js')), refs.join(' '));
  assert.deepEqual(page.body.match(OFF_HOST) ?? [], [], 'the page points nowhere off-host');
  for (const ref of refs) {
    assert.ok(ref.startsWith('/docs/'), `${ref} is served under /docs`);
    const asset = await h.app.inject({ method: 'GET', url: ref });
    assert.equal(asset.statusCode, 200, ref);
    if (ref.endsWith('.css')) {
      const urls = [...asset.body.matchAll(/url\(\s*['"]?([^'")]+)/g)].map((m) => m[1]!);
      assert.deepEqual(urls.filter(isOffHost), [], `${ref} loads nothing off-host`);
    }
  }
  // The UI loads the document from beside itself and asks no outside validator.
  const init = await h.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
  assert.equal(init.statusCode, 200);
  // Its one comment cites a web page: comments load nothing.
  const code = init.body.replace(/^\s*\/\/.*$/gm, '');
  assert.deepEqual(code.match(OFF_HOST) ?? [], [], 'the initializer points nowhere off-host');
  assert.match(init.body, /validatorUrl: null/);
  const json = await h.app.inject({ method: 'GET', url: '/docs/json' });
  assert.deepEqual(json.json(), doc);
});
