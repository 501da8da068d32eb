// SPEC §2 conventions: x-request-id, X-Auth-Token, order of checks, size limit, unknown routes,
// unexpected errors. Every response carries x-request-id.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createSqliteStore } from '../../src/store/index.js';
import { type ApiHarness, envelope, overrideStore, rid, startApiHarness } from '../support/index.js';

let h: ApiHarness;
let token: string;
let tenantId: string;
const body = { command: 'ls', instance_ids: ['a1'] };
const URL = '/v1/instances/async-command';

before(async () => {
  h = await startApiHarness();
  ({ token, tenantId } = await h.tenant('alpha'));
  await h.instance('a1', tenantId);
});
after(async () => {
  await h.close();
});

const badIds: { name: string; value?: string }[] = [
  { name: 'missing' },
  { name: 'empty', value: '' },
  { name: '129 characters', value: 'r'.repeat(129) },
  { name: 'a tab', value: 'a\tb' },
  { name: 'a non-ASCII byte', value: 'caf\u00e9' },
];

for (const c of badIds) {
  test(`x-request-id ${c.name} -> 400 KOOPHONE.API.0002 naming the header, before auth`, async () => {
    const before = await h.taskCount(token);
    const headers: Record<string, string> = {};
    if (c.value !== undefined) headers['x-request-id'] = c.value;
    // No token either: the request id is checked first.
    const res = await h.app.inject({ method: 'POST', url: URL, headers, payload: body });
    assert.equal(res.statusCode, 400);
    const e = envelope(res);
    assert.equal(e.error_code, 'KOOPHONE.API.0002');
    assert.match(e.error_msg, /x-request-id/);
    const echoed = res.headers['x-request-id'];
    assert.equal(typeof echoed, 'string');
    assert.ok((echoed as string).length > 0);
    assert.notEqual(echoed, c.value);
    assert.equal(await h.taskCount(token), before);
  });
}

test('x-request-id of 1 and of 128 printable characters are accepted and echoed', async () => {
  for (const id of ['x', ' !~'.padEnd(128, 'z')]) {
    const res = await h.app.inject({ method: 'POST', url: URL, headers: { 'x-request-id': id, 'x-auth-token': token }, payload: body });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['x-request-id'], id);
  }
});

test('header names are case-insensitive', async () => {
  const res = await h.app.inject({ method: 'POST', url: URL, headers: { 'X-Request-ID': 'case-1', 'X-AUTH-TOKEN': token }, payload: body });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['x-request-id'], 'case-1');
});

const badTokens: { name: string; token?: string }[] = [
  { name: 'missing' },
  { name: 'empty', token: '' },
  { name: 'unknown', token: 'afk_notarealtoken' },
  { name: 'a valid token with a suffix', token: 'SUFFIX' },
];

for (const c of badTokens) {
  test(`X-Auth-Token ${c.name} -> 401 APIGW.0301, checked before the body`, async () => {
    const headers: Record<string, string> = { 'x-request-id': 'auth-1' };
    if (c.token !== undefined) headers['x-auth-token'] = c.token === 'SUFFIX' ? `${token}x` : c.token;
    // A broken body too: authentication comes before validation.
    const res = await h.app.inject({ method: 'POST', url: URL, headers, payload: { command: ';' } });
    assert.equal(res.statusCode, 401);
    assert.equal(envelope(res).error_code, 'APIGW.0301');
    assert.equal(res.headers['x-request-id'], 'auth-1');
  });
}

test('a revoked token is refused; another token of the tenant still works', async () => {
  const extra = await h.admin('POST', `/tenants/${tenantId}/tokens`);
  assert.equal(extra.statusCode, 200);
  const { token: t2, prefix } = extra.json<{ token: string; prefix: string }>();
  assert.equal((await h.call(t2, 'GET', '/v1/instances/tasks')).statusCode, 200);
  const del = await h.admin('DELETE', `/tenants/${tenantId}/tokens/${prefix}`);
  assert.equal(del.statusCode, 200);
  assert.deepEqual(del.json(), { revoked: 1 });
  const res = await h.call(t2, 'GET', '/v1/instances/tasks');
  assert.equal(res.statusCode, 401);
  assert.equal(envelope(res).error_code, 'APIGW.0301');
  assert.equal((await h.call(token, 'GET', '/v1/instances/tasks')).statusCode, 200);
});

test('body over 64 KiB -> 413 KOOPHONE.API.1000 with the request id', async () => {
  const big = { ...body, padding: 'x'.repeat(64 * 1024) };
  const before = await h.taskCount(token);
  const res = await h.app.inject({ method: 'POST', url: URL, headers: { 'x-request-id': 'big-1', 'x-auth-token': token }, payload: big });
  assert.equal(res.statusCode, 413);
  assert.equal(envelope(res).error_code, 'KOOPHONE.API.1000');
  assert.match(envelope(res).error_msg, /^body/);
  assert.equal(res.headers['x-request-id'], 'big-1');
  assert.equal(await h.taskCount(token), before);
});

for (const type of [undefined, 'application/octet-stream', 'application/x-www-form-urlencoded', 'text/plain']) {
  test(`body over 64 KiB with ${type ?? 'no'} content-type -> 413 (its size before its type), nothing created`, async () => {
    const before = await h.taskCount(token);
    const headers: Record<string, string> = { 'x-request-id': 'big-typed', 'x-auth-token': token };
    if (type !== undefined) headers['content-type'] = type;
    const res = await h.app.inject({ method: 'POST', url: URL, headers, payload: Buffer.alloc(70_000, 0x61) });
    assert.equal(res.statusCode, 413, res.body);
    assert.deepEqual(envelope(res), { error_code: 'KOOPHONE.API.1000', error_msg: 'body: larger than 64 KiB' });
    assert.equal(res.headers['x-request-id'], 'big-typed');
    assert.equal(await h.taskCount(token), before);
  });
}

test('a JSON object sent as text/plain -> 400 "content-type must be application/json", nothing created', async () => {
  const before = await h.taskCount(token);
  const res = await h.app.inject({
    method: 'POST',
    url: URL,
    headers: { 'x-request-id': rid(), 'x-auth-token': token, 'content-type': 'text/plain' },
    payload: JSON.stringify(body),
  });
  assert.equal(res.statusCode, 400);
  assert.deepEqual(envelope(res), { error_code: 'KOOPHONE.API.1000', error_msg: 'body: content-type must be application/json' });
  assert.equal(await h.taskCount(token), before);
});

test('a body just under 64 KiB is accepted', async () => {
  const json = JSON.stringify({ ...body, padding: '' });
  const padded = { ...body, padding: 'x'.repeat(64 * 1024 - json.length) };
  assert.equal(Buffer.byteLength(JSON.stringify(padded)), 64 * 1024);
  const res = await h.call(token, 'POST', URL, padded);
  assert.equal(res.statusCode, 200, res.body);
});

for (const [method, url] of [['GET', '/nope'], ['GET', '/v1/instances/nope'], ['DELETE', '/v1/instances/async-command'], ['POST', '/v1']] as const) {
  test(`unknown route ${method} ${url} -> 404 KOOPHONE.API.1000 with a request id`, async () => {
    const res = await h.app.inject({ method, url, headers: { 'x-request-id': 'nf-1' } });
    assert.equal(res.statusCode, 404);
    assert.equal(envelope(res).error_code, 'KOOPHONE.API.1000');
    assert.equal(res.headers['x-request-id'], 'nf-1');
    const anon = await h.app.inject({ method, url });
    assert.equal(anon.statusCode, 404);
    assert.ok(anon.headers['x-request-id']);
  });
}

test('an unexpected failure -> 500 KOOPHONE.API.9999, no stack or SQL in the answer', async () => {
  const real = createSqliteStore({ path: ':memory:' });
  const broken = overrideStore(real, {
    listTasks: async () => {
      throw new Error('SQLITE_CORRUPT: SELECT secret FROM tokens WHERE tenant = 42');
    },
  });
  const lines: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
  const h2 = await startApiHarness({ store: broken, closeStore: true, logger });
  try {
    const { token: t } = await h2.tenant('x');
    const res = await h2.app.inject({ method: 'GET', url: '/v1/instances/tasks', headers: { 'x-request-id': 'boom-1', 'x-auth-token': t } });
    assert.equal(res.statusCode, 500);
    const e = envelope(res);
    assert.equal(e.error_code, 'KOOPHONE.API.9999');
    assert.doesNotMatch(res.body, /SQLITE|SELECT|secret|at .*\.ts/);
    assert.equal(res.headers['x-request-id'], 'boom-1');
    const logged = lines.map((l) => JSON.parse(l) as { reqId?: string; err?: { message?: string } });
    assert.ok(
      logged.some((l) => l.reqId === 'boom-1' && l.err?.message?.includes('SQLITE_CORRUPT') === true),
      'the server log has the error under the request id',
    );
  } finally {
    await h2.close();
  }
});

test('GET /healthz and /readyz need no token; readyz is 503 when the store is unreachable', async () => {
  const hz = await h.app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(hz.statusCode, 200);
  assert.deepEqual(hz.json(), { status: 'ok' });
  assert.equal((await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  const real = createSqliteStore({ path: ':memory:' });
  const down = overrideStore(real, {
    ping: async () => {
      throw new Error('database is locked');
    },
  });
  const h2 = await startApiHarness({ store: down, closeStore: true });
  try {
    const res = await h2.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 503);
    assert.doesNotMatch(res.body, /locked/);
  } finally {
    await h2.close();
  }
});

test('cancel accepts no body, an empty body (JSON or text) or a JSON object; anything else is 400 and cancels nothing', async () => {
  const created = await h.call(token, 'POST', URL, body);
  const taskId = created.json().data.task_id as string;
  const cancel = (type: string | undefined, payload: string) =>
    h.app.inject({
      method: 'POST',
      url: `/v1/instances/tasks/${taskId}/cancel`,
      headers: { 'x-request-id': rid(), 'x-auth-token': token, ...(type === undefined ? {} : { 'content-type': type }) },
      payload,
    });
  const refused: Array<[string, string, string]> = [
    ['text/plain', 'garbage', 'body: content-type must be application/json'],
    ['application/json', '"x"', 'body: must be a JSON object'],
    ['application/json', '[]', 'body: must be a JSON object'],
    ['application/json', 'null', 'body: must be a JSON object'],
    ['application/json', '{bad', 'body: is not valid JSON'],
    ['application/octet-stream', 'x', 'body: content-type must be application/json'],
  ];
  for (const [type, payload, message] of refused) {
    const res = await cancel(type, payload);
    assert.equal(res.statusCode, 400, `${type} ${payload}: ${res.body}`);
    assert.deepEqual(envelope(res), { error_code: 'KOOPHONE.API.1000', error_msg: message });
  }
  const task = await h.call(token, 'GET', `/v1/instances/tasks/${taskId}`);
  assert.equal(task.json().data.jobs[0].state, 'queued', 'nothing was cancelled');
  for (const [type, payload] of [['application/json', ''], ['text/plain', ''], [undefined, ''], ['application/json', '{}'], ['application/json', '{"why":"x"}']] as const) {
    const res = await cancel(type, payload);
    assert.equal(res.statusCode, 200, `${type} ${payload}: ${res.body}`);
  }
  assert.equal((await h.call(token, 'GET', `/v1/instances/tasks/${taskId}`)).json().data.jobs[0].state, 'cancelled');
});

for (const url of ['/v1/instances/tasks/%zz', '/%']) {
  test(`malformed URL ${url} -> 400 KOOPHONE.API.1000 in the envelope with a request id`, async () => {
    const res = await h.app.inject({ method: 'GET', url, headers: { 'x-request-id': 'bad-url', 'x-auth-token': token } });
    assert.equal(res.statusCode, 400);
    assert.equal(envelope(res).error_code, 'KOOPHONE.API.1000');
    assert.match(envelope(res).error_msg, /^route/);
    assert.equal(res.headers['x-request-id'], 'bad-url');
  });
}

test('a malformed tenant URL still checks x-request-id, then the token, first', async () => {
  const url = '/v1/instances/tasks/%zz';
  const noId = await h.app.inject({ method: 'GET', url, headers: { 'x-auth-token': token } });
  assert.equal(noId.statusCode, 400);
  assert.equal(envelope(noId).error_code, 'KOOPHONE.API.0002');
  assert.ok(noId.headers['x-request-id']);
  const noToken = await h.app.inject({ method: 'GET', url, headers: { 'x-request-id': 'r1' } });
  assert.equal(noToken.statusCode, 401);
  assert.equal(envelope(noToken).error_code, 'APIGW.0301');
});

test('a very long task_id reaches its route: request id and token are checked, then "does not exist"', async () => {
  const long = 'a'.repeat(1000);
  const noToken = await h.app.inject({ method: 'GET', url: `/v1/instances/tasks/${long}`, headers: { 'x-request-id': 'r2' } });
  assert.equal(noToken.statusCode, 401);
  const res = await h.app.inject({ method: 'GET', url: `/v1/instances/tasks/${long}`, headers: { 'x-request-id': 'r3', 'x-auth-token': token } });
  assert.equal(res.statusCode, 400);
  assert.equal(envelope(res).error_code, 'KOOPHONE.API.1000');
  assert.match(envelope(res).error_msg, /^task_id a+ does not exist$/);
  const out = await h.app.inject({
    method: 'GET',
    url: `/v1/instances/tasks/${'b'.repeat(32)}/jobs/${long}/output`,
    headers: { 'x-request-id': 'r4', 'x-auth-token': token },
  });
  assert.equal(out.statusCode, 400);
  assert.match(envelope(out).error_msg, /^task_id b+ does not exist$/);
});
