// Random and mutated requests through inject: never a 500, never a crash; every rejection is in
// SPEC's envelope with a known code, and every response carries x-request-id.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { API_ERRORS } from '../../src/core/errors.js';
import { type ApiHarness, SettableMonitor, startApiHarness } from '../support/index.js';

let h: ApiHarness;
let token: string;
const monitor = new SettableMonitor();
const KNOWN_CODES = new Set<string>(Object.values(API_ERRORS).map((e) => e.code));
const PRINTABLE = /^[\x20-\x7e]{1,128}$/;

before(async () => {
  // A generous limit: the fuzzer should reach validation, not the rate limiter.
  h = await startApiHarness({ monitor, config: { rateLimitPerSecond: 0 } });
  const a = await h.tenant('fuzz');
  const b = await h.tenant('other');
  token = a.token;
  for (const id of ['a1', 'a2', 'a_3']) await h.instance(id, a.tenantId);
  await h.instance('b1', b.tenantId);
  monitor.statuses.set('a1', 2);
});
after(async () => {
  await h.close();
});

function check(res: LightMyRequestResponse, sentId: string | undefined): void {
  assert.notEqual(res.statusCode, 500, res.body);
  assert.ok([200, 400, 401, 404, 409, 413, 429].includes(res.statusCode), `status ${res.statusCode}`);
  const echoed = res.headers['x-request-id'];
  assert.equal(typeof echoed, 'string');
  if (sentId !== undefined && PRINTABLE.test(sentId)) assert.equal(echoed, sentId);
  const body: unknown = JSON.parse(res.body);
  assert.ok(body !== null && typeof body === 'object');
  const env = body as Record<string, unknown>;
  if (res.statusCode === 200) {
    assert.equal(env['error_code'], '0');
    return;
  }
  assert.equal(typeof env['error_code'], 'string');
  assert.ok(KNOWN_CODES.has(env['error_code'] as string), `unknown code ${String(env['error_code'])}`);
  assert.equal(typeof env['error_msg'], 'string');
  assert.ok((env['error_msg'] as string).length > 0);
  assert.doesNotMatch(env['error_msg'] as string, /\n\s+at |SQLITE|SELECT /);
}

// Header values Node's HTTP layer itself accepts (tab, printable ASCII, Latin-1 high bytes).
const headerValue = fc.oneof(
  fc.string({ maxLength: 140 }),
  fc.string({ unit: fc.constantFrom('\t', 'a', ' ', '~', '\u00e9', '\u00ff', '-'), maxLength: 200 }),
  fc.constant(''),
).map((s) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, ''));

const ids = fc.oneof(fc.constantFrom('a1', 'a2', 'a_3', 'b1', 'zz', '', 'a 1'), fc.string({ maxLength: 40 }), fc.anything());
const mutatedBody = fc.record(
  {
    command: fc.oneof(fc.string({ maxLength: 1100 }), fc.constantFrom('ls', 'ls -l /system', '   ', 'a'.repeat(1025)), fc.anything()),
    instance_ids: fc.oneof(fc.array(ids, { maxLength: 120 }), fc.anything()),
    timeout_seconds: fc.oneof(fc.integer({ min: -10, max: 30_000 }), fc.double(), fc.anything()),
    // Device operations' fields (SPEC §10).
    instance_id_list: fc.oneof(fc.array(ids, { maxLength: 120 }), fc.anything()),
    install_package_url: fc.oneof(fc.constantFrom('http://example.com/a.apk', 'ftp://x/a', 'http://', `https://h/${'a'.repeat(2000)}`), fc.string({ maxLength: 60 }), fc.anything()),
    artifact_id: fc.oneof(fc.stringMatching(/^[0-9a-f]{32}$/), fc.string({ maxLength: 40 }), fc.anything()),
    path: fc.oneof(fc.constantFrom('/sdcard/a', '/a/../b', 'rel', '/a\u0000b', `/${'p'.repeat(1100)}`), fc.string({ maxLength: 60 }), fc.anything()),
    mode: fc.oneof(fc.constantFrom('0644', '755', '9999', '', '0o644'), fc.integer(), fc.anything()),
    package_name: fc.oneof(fc.constantFrom('com.example.app', 'nodots', '1com.x', 'a.b'), fc.string({ maxLength: 300 }), fc.anything()),
    content_md5: fc.oneof(fc.stringMatching(/^[0-9a-fA-F]{32}$/), fc.string({ maxLength: 40 }), fc.anything()),
    fast_install: fc.oneof(fc.constantFrom('0', '1', 0, true), fc.anything()),
    object_size: fc.oneof(fc.string({ maxLength: 70 }), fc.integer(), fc.anything()),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(mutatedBody, fc.anything(), fc.array(fc.anything(), { maxLength: 3 }));
const paths = fc.constantFrom(
  '/v1/instances/async-command',
  '/v1/instances/sync-command',
  '/v1/instances/batch-query-status',
  '/v1/instances/reboot',
  '/v1/instances/app/install',
  '/v1/instances/app/uninstall',
  '/v1/instances/files/push',
  '/v1/instances/files/pull',
  '/v1/instances/screenshot',
);

test('fuzz: random and mutated JSON bodies on every POST endpoint', async () => {
  await fc.assert(
    fc.asyncProperty(paths, body, fc.option(headerValue, { nil: undefined }), async (url, payload, id) => {
      const headers: Record<string, string> = { 'x-auth-token': token, 'content-type': 'application/json' };
      if (id !== undefined) headers['x-request-id'] = id;
      const json = JSON.stringify(payload) ?? 'null';
      const res = await h.app.inject({ method: 'POST', url, headers, payload: json });
      check(res, id);
    }),
    { numRuns: 2500 },
  );
});

test('fuzz: raw bytes, content types and tokens', async () => {
  const contentType = fc.oneof(
    fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', ''),
    headerValue,
  );
  await fc.assert(
    fc.asyncProperty(fc.oneof(paths, fc.constant('/v1/artifacts')), fc.uint8Array({ maxLength: 300 }), contentType, fc.option(headerValue, { nil: undefined }), fc.boolean(), async (url, bytes, ct, tok, validId) => {
      const headers: Record<string, string> = { 'x-request-id': validId ? 'fz' : '' };
      if (ct !== '') headers['content-type'] = ct;
      headers['x-auth-token'] = tok ?? token;
      const res = await h.app.inject({ method: 'POST', url, headers, payload: Buffer.from(bytes) });
      check(res, headers['x-request-id']);
    }),
    { numRuns: 1500 },
  );
});

test('fuzz: GET paths and query strings', async () => {
  const segment = fc.oneof(
    fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^[0-9a-f]{32}$/)).map(encodeURIComponent),
    // Raw percent signs: broken escapes reach Fastify's router.
    fc.stringMatching(/^[%0-9a-fA-Z]{0,12}$/),
  );
  const query = fc.dictionary(
    fc.constantFrom('page_no', 'page_size', 'instance_id', 'instance_name', 'limit', 'cursor', 'x-request-id', 'zz'),
    fc.oneof(fc.string({ maxLength: 20 }), fc.integer({ min: -5, max: 200 }).map(String)),
  );
  const urls = fc.tuple(
    fc.constantFrom('/v1/instances/tasks/', '/v1/instances/batch-query', '/v1/instances/tasks', '/v1/instances/tasks/X/jobs/', '/v1/instances/tasks/X/jobs/Y', '/v1/artifacts/'),
    segment,
    segment,
    query,
  ).map(([base, s1, s2, q]) => {
    const qs = new URLSearchParams(q as Record<string, string>).toString();
    const path = base.endsWith('/')
      ? base.includes('/X/')
        ? `${base.replace('X', s1)}${s2}/output`
        : `${base}${s1}`
      : base.endsWith('/Y')
        ? `${base.replace('X', s1).replace('Y', s2)}/artifact`
        : base;
    return `${path}?${qs}`;
  });
  await fc.assert(
    fc.asyncProperty(urls, async (url) => {
      const res = await h.app.inject({ method: 'GET', url, headers: { 'x-request-id': 'fzq', 'x-auth-token': token } });
      check(res, 'fzq');
    }),
    { numRuns: 1500 },
  );
});
