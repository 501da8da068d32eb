// The audit log through the real service (HTTP on a socket, the worker, SQLite): every kind of
// state-changing request, accepted and refused, is recorded with who made it, from where and on
// what, and read back through GET /admin/v1/audit with each filter and page by page. Reads are
// not recorded, and tenants cannot read the log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { request, startServiceHarness, until, type ApiResponse, type ServiceHarness } from '../support/index.js';

interface AuditJson {
  id: number;
  at: string;
  actor: string | null;
  token_prefix: string | null;
  source: string;
  request_id: string;
  action: string;
  targets: Record<string, unknown>;
  outcome: { status: number; error_code: string; task_id: string | null; replayed: boolean };
}

let h: ServiceHarness;
before(async () => {
  h = await startServiceHarness({ instances: 2 });
});
after(() => h.close());

const UNKNOWN_TOKEN = `afk_${'x'.repeat(32)}`;
const NO_TENANT = 't_000000000000';

function audit(query: string, authorization = `Bearer ${h.adminToken}`): Promise<ApiResponse> {
  return request(h.url, 'GET', `/admin/v1/audit${query === '' ? '' : `?${query}`}`, undefined, { authorization });
}

/** Every entry of the request id, newest first, once `count` of them have committed (an entry
 * lands in the store's write batch a turn after the answer). */
async function entriesOf(requestId: string, count = 1): Promise<AuditJson[]> {
  let entries: AuditJson[] = [];
  await until(
    () => `${count} audit entries of ${requestId}, got ${JSON.stringify(entries)}`,
    async () => {
      const res = await audit(`request_id=${encodeURIComponent(requestId)}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      entries = res.body.entries;
      return entries.length >= count;
    },
  );
  assert.equal(entries.length, count);
  return entries;
}

function tenantCall(rid: string, method: string, path: string, body?: unknown, token = h.token): Promise<ApiResponse> {
  return request(h.url, method, path, body, { 'x-request-id': rid, 'x-auth-token': token });
}

function adminCall(rid: string, method: string, path: string, body?: unknown, token = h.adminToken): Promise<ApiResponse> {
  return request(h.url, method, `/admin/v1${path}`, body, { 'x-request-id': rid, authorization: `Bearer ${token}` });
}

interface Expected {
  action: string;
  actor: string | null;
  tokenPrefix: string | null;
  status: number;
  errorCode: string;
  targets: Record<string, unknown>;
  taskId?: string | null;
}

/** The request's one entry says what `e` says, from this host. */
async function assertRecorded(requestId: string, e: Expected): Promise<AuditJson> {
  const [entry] = await entriesOf(requestId);
  assert.ok(entry);
  assert.deepEqual(
    {
      action: entry.action,
      actor: entry.actor,
      tokenPrefix: entry.token_prefix,
      status: entry.outcome.status,
      errorCode: entry.outcome.error_code,
      targets: entry.targets,
      taskId: entry.outcome.task_id,
    },
    { taskId: null, ...e },
    requestId,
  );
  assert.equal(entry.source, '127.0.0.1');
  assert.ok(!Number.isNaN(Date.parse(entry.at)), entry.at);
  return entry;
}

test('every kind of state-changing request is recorded, accepted and refused, with actor, token prefix, targets and outcome', async () => {
  const tenant = h.tenantId;
  const prefix = h.token.slice(0, 12);
  const [mine, other] = h.ids as [string, string];
  const asTenant = (e: Omit<Expected, 'actor' | 'tokenPrefix'>): Expected => ({ actor: tenant, tokenPrefix: prefix, ...e });
  const asAdmin = (e: Omit<Expected, 'actor' | 'tokenPrefix'>): Expected => ({ actor: 'admin', tokenPrefix: null, ...e });

  // Tenant routes.
  const submitted = await tenantCall('sub-ok', 'POST', '/v1/instances/async-command', { command: 'sleep 5', instance_ids: [mine] });
  assert.equal(submitted.status, 200);
  const taskId: string = submitted.body.data.task_id;
  await assertRecorded('sub-ok', asTenant({ action: 'command.submit', status: 200, errorCode: '0', targets: { instance_ids: [mine] }, taskId }));
  assert.equal((await tenantCall('sub-1001', 'POST', '/v1/instances/async-command', { command: 'id', instance_ids: ['not-mine'] })).status, 400);
  await assertRecorded('sub-1001', asTenant({ action: 'command.submit', status: 400, errorCode: 'KOOPHONE.API.1001', targets: { instance_ids: ['not-mine'] } }));
  // The same request id with another body: a second entry for it, the 409.
  assert.equal((await tenantCall('sub-ok', 'POST', '/v1/instances/async-command', { command: 'id', instance_ids: [mine] })).status, 409);
  const [conflict, first] = await entriesOf('sub-ok', 2);
  assert.deepEqual([conflict?.outcome, first?.outcome.status], [{ status: 409, error_code: 'KOOPHONE.API.1000', task_id: null, replayed: false }, 200]);
  assert.equal(first?.outcome.replayed, false);
  // The same request id and body again: the idempotent replay, recorded as one (nothing new ran).
  const replay = await tenantCall('sub-ok', 'POST', '/v1/instances/async-command', { command: 'sleep 5', instance_ids: [mine] });
  assert.equal(replay.body.data.task_id, taskId);
  const [replayed] = await entriesOf('sub-ok', 3);
  assert.deepEqual(replayed?.outcome, { status: 200, error_code: '0', task_id: taskId, replayed: true });
  // Refused before the body was read: the token as far as it was presented, no targets.
  assert.equal((await tenantCall('sub-401', 'POST', '/v1/instances/async-command', { command: 'id', instance_ids: [mine] }, UNKNOWN_TOKEN)).status, 401);
  await assertRecorded('sub-401', { action: 'command.submit', actor: null, tokenPrefix: UNKNOWN_TOKEN.slice(0, 12), status: 401, errorCode: 'APIGW.0301', targets: {} });
  const noId = await request(h.url, 'POST', '/v1/instances/async-command', { command: 'id', instance_ids: [mine] }, { 'x-auth-token': h.token });
  assert.equal(noId.status, 400);
  // Recorded under the id the answer carried (generated); the token was never checked.
  await assertRecorded(noId.headers.get('x-request-id') ?? '', {
    action: 'command.submit', actor: null, tokenPrefix: prefix, status: 400, errorCode: 'KOOPHONE.API.0002', targets: {},
  });

  const synced = await tenantCall('sync-ok', 'POST', '/v1/instances/sync-command', { command: 'echo hi', instance_ids: [other], timeout_seconds: 10 });
  assert.equal(synced.status, 200, JSON.stringify(synced.body));
  // sync-command's answer names no task; the task list's newest is the one it created.
  const newest: string = (await h.call('GET', '/v1/instances/tasks?limit=1')).body.data.tasks[0].task_id;
  await assertRecorded('sync-ok', asTenant({ action: 'command.sync', status: 200, errorCode: '0', targets: { instance_ids: [other] }, taskId: newest }));
  assert.equal((await tenantCall('sync-400', 'POST', '/v1/instances/sync-command', { command: 'id; reboot', instance_ids: [other] })).status, 400);
  await assertRecorded('sync-400', asTenant({ action: 'command.sync', status: 400, errorCode: 'KOOPHONE.API.1000', targets: { instance_ids: [other] } }));

  assert.equal((await tenantCall('cancel-ok', 'POST', `/v1/instances/tasks/${taskId}/cancel`)).status, 200);
  await assertRecorded('cancel-ok', asTenant({ action: 'task.cancel', status: 200, errorCode: '0', targets: { task_id: taskId } }));
  const missing = 'f'.repeat(32);
  assert.equal((await tenantCall('cancel-400', 'POST', `/v1/instances/tasks/${missing}/cancel`)).status, 400);
  await assertRecorded('cancel-400', asTenant({ action: 'task.cancel', status: 400, errorCode: 'KOOPHONE.API.1000', targets: { task_id: missing } }));

  assert.equal((await tenantCall('reboot-1001', 'POST', '/v1/instances/reboot', { instance_ids: [other, 'not-mine'] })).status, 400);
  await assertRecorded('reboot-1001', asTenant({ action: 'instance.reboot', status: 400, errorCode: 'KOOPHONE.API.1001', targets: { instance_ids: [other, 'not-mine'] } }));
  await until('the instance to be running', async () => {
    const r = await h.call('POST', '/v1/instances/batch-query-status', { instance_ids: [other] });
    return r.body.data?.status_results?.[0]?.status === 2;
  });
  assert.equal((await tenantCall('reboot-ok', 'POST', '/v1/instances/reboot', { instance_ids: [other] })).status, 200);
  await assertRecorded('reboot-ok', asTenant({ action: 'instance.reboot', status: 200, errorCode: '0', targets: { instance_ids: [other] } }));

  // Admin routes.
  const created = await adminCall('tenant-ok', 'POST', '/tenants', { name: 'audited' });
  assert.equal(created.status, 200);
  const newTenant: string = created.body.tenant_id;
  const firstPrefix = (created.body.token as string).slice(0, 12);
  await assertRecorded('tenant-ok', asAdmin({ action: 'tenant.create', status: 200, errorCode: '0', targets: { tenant_id: newTenant, token_prefix: firstPrefix } }));
  assert.equal((await adminCall('tenant-400', 'POST', '/tenants', { name: '' })).status, 400);
  await assertRecorded('tenant-400', asAdmin({ action: 'tenant.create', status: 400, errorCode: 'KOOPHONE.API.1000', targets: {} }));

  const issued = await adminCall('token-ok', 'POST', `/tenants/${newTenant}/tokens`);
  assert.equal(issued.status, 200);
  await assertRecorded('token-ok', asAdmin({ action: 'token.issue', status: 200, errorCode: '0', targets: { tenant_id: newTenant, token_prefix: issued.body.prefix } }));
  assert.ok(!JSON.stringify(await entriesOf('token-ok')).includes(issued.body.token), 'the token itself is never recorded');
  assert.equal((await adminCall('token-404', 'POST', `/tenants/${NO_TENANT}/tokens`)).status, 404);
  await assertRecorded('token-404', asAdmin({ action: 'token.issue', status: 404, errorCode: 'KOOPHONE.API.1000', targets: { tenant_id: NO_TENANT } }));
  assert.equal((await adminCall('revoke-ok', 'DELETE', `/tenants/${newTenant}/tokens/${issued.body.prefix}`)).status, 200);
  await assertRecorded('revoke-ok', asAdmin({ action: 'token.revoke', status: 200, errorCode: '0', targets: { tenant_id: newTenant, token_prefix: issued.body.prefix } }));
  assert.equal((await adminCall('revoke-404', 'DELETE', `/tenants/${newTenant}/tokens/${issued.body.prefix}`)).status, 404);
  await assertRecorded('revoke-404', asAdmin({ action: 'token.revoke', status: 404, errorCode: 'KOOPHONE.API.1000', targets: { tenant_id: newTenant, token_prefix: issued.body.prefix } }));

  const phone = { instance_id: 'audit-1', adb_address: '127.0.0.1:9', tenant_id: newTenant };
  assert.equal((await adminCall('inst-ok', 'POST', '/instances', phone)).status, 200);
  await assertRecorded('inst-ok', asAdmin({ action: 'instance.create', status: 200, errorCode: '0', targets: { instance_id: 'audit-1', tenant_id: newTenant } }));
  assert.equal((await adminCall('inst-409', 'POST', '/instances', phone)).status, 409);
  await assertRecorded('inst-409', asAdmin({ action: 'instance.create', status: 409, errorCode: 'KOOPHONE.API.1000', targets: { instance_id: 'audit-1', tenant_id: newTenant } }));
  const bulk = (ids: string[]) => ({ instances: ids.map((id) => ({ instance_id: id, adb_address: '127.0.0.1:9' })) });
  assert.equal((await adminCall('bulk-ok', 'POST', '/instances/bulk', bulk(['audit-2', 'audit-3']))).status, 200);
  await assertRecorded('bulk-ok', asAdmin({ action: 'instance.bulk', status: 200, errorCode: '0', targets: { instance_ids: ['audit-2', 'audit-3'] } }));
  assert.equal((await adminCall('bulk-400', 'POST', '/instances/bulk', bulk(['audit-4', 'audit-4']))).status, 400);
  await assertRecorded('bulk-400', asAdmin({ action: 'instance.bulk', status: 400, errorCode: 'KOOPHONE.API.1000', targets: { instance_ids: ['audit-4', 'audit-4'] } }));
  assert.equal((await adminCall('assign-ok', 'PUT', '/instances/audit-1/tenant', { tenant_id: null })).status, 200);
  await assertRecorded('assign-ok', asAdmin({ action: 'instance.assign', status: 200, errorCode: '0', targets: { instance_id: 'audit-1', tenant_id: null } }));
  assert.equal((await adminCall('assign-404', 'PUT', '/instances/nope/tenant', { tenant_id: newTenant })).status, 404);
  await assertRecorded('assign-404', asAdmin({ action: 'instance.assign', status: 404, errorCode: 'KOOPHONE.API.1000', targets: { instance_id: 'nope', tenant_id: newTenant } }));
  assert.equal((await adminCall('delete-ok', 'DELETE', '/instances/audit-1')).status, 200);
  await assertRecorded('delete-ok', asAdmin({ action: 'instance.delete', status: 200, errorCode: '0', targets: { instance_id: 'audit-1' } }));
  assert.equal((await adminCall('delete-404', 'DELETE', '/instances/audit-1')).status, 404);
  await assertRecorded('delete-404', asAdmin({ action: 'instance.delete', status: 404, errorCode: 'KOOPHONE.API.1000', targets: { instance_id: 'audit-1' } }));

  // A tenant's token on the admin API is refused, and the attempt names that token; a wrong admin
  // token names none (its characters may be most of a secret).
  assert.equal((await adminCall('admin-as-tenant', 'POST', '/tenants', { name: 'x' }, h.token)).status, 401);
  await assertRecorded('admin-as-tenant', { action: 'tenant.create', actor: null, tokenPrefix: prefix, status: 401, errorCode: 'APIGW.0301', targets: {} });
  assert.equal((await adminCall('admin-wrong', 'DELETE', '/instances/audit-2', undefined, 'adm_wrong')).status, 401);
  await assertRecorded('admin-wrong', { action: 'instance.delete', actor: null, tokenPrefix: null, status: 401, errorCode: 'APIGW.0301', targets: { instance_id: 'audit-2' } });
});

test('reads are not recorded', async () => {
  await tenantCall('read-status', 'POST', '/v1/instances/batch-query-status', { instance_ids: [h.ids[0]] });
  await tenantCall('read-tasks', 'GET', '/v1/instances/tasks');
  await adminCall('read-instances', 'GET', '/instances');
  await adminCall('read-audit', 'GET', '/audit');
  // Entries commit in the order their answers went out: once a later one is there, these would be.
  await adminCall('barrier', 'DELETE', '/instances/nope');
  await entriesOf('barrier');
  for (const rid of ['read-status', 'read-tasks', 'read-instances', 'read-audit']) {
    assert.deepEqual((await audit(`request_id=${rid}`)).body.entries, [], rid);
  }
});

test('GET /admin/v1/audit filters by tenant, action, request id and time, and pages newest first', async () => {
  // Entries of its own (the other tests' are there too, and must not disturb it): more than a
  // default page, of two actors and two actions.
  for (let i = 0; i < 3; i++) {
    assert.equal((await tenantCall(`filter-sub-${i}`, 'POST', '/v1/instances/async-command', { command: 'id', instance_ids: ['not-mine'] })).status, 400);
  }
  for (let i = 0; i < 55; i++) assert.equal((await adminCall(`filter-del-${i}`, 'DELETE', `/instances/nope-${i}`)).status, 404);
  await entriesOf('filter-del-54');
  const all = (await audit('limit=500')).body as { entries: AuditJson[]; next_cursor: string | null };
  assert.equal(all.next_cursor, null);
  assert.ok(all.entries.length > 58, `${all.entries.length} entries`);
  const ids = all.entries.map((e) => e.id);
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
  const defaultPage = (await audit('')).body;
  assert.deepEqual(defaultPage.entries.map((e: AuditJson) => e.id), ids.slice(0, 50), 'the default limit is 50');
  assert.notEqual(defaultPage.next_cursor, null);

  const byTenant = (await audit(`tenant_id=${h.tenantId}&limit=500`)).body.entries as AuditJson[];
  assert.deepEqual(byTenant, all.entries.filter((e) => e.actor === h.tenantId));
  assert.deepEqual(byTenant.filter((e) => e.request_id.startsWith('filter-')).map((e) => e.request_id), ['filter-sub-2', 'filter-sub-1', 'filter-sub-0']);
  const deletes = (await audit('action=instance.delete&limit=500')).body.entries as AuditJson[];
  assert.deepEqual(deletes, all.entries.filter((e) => e.action === 'instance.delete'));
  assert.ok(deletes.length >= 55);
  const both = (await audit(`tenant_id=${h.tenantId}&action=command.submit&limit=500`)).body.entries as AuditJson[];
  assert.deepEqual(both, all.entries.filter((e) => e.actor === h.tenantId && e.action === 'command.submit'));
  assert.deepEqual((await audit('request_id=filter-del-7')).body.entries.map((e: AuditJson) => e.targets), [{ instance_id: 'nope-7' }]);

  // since is inclusive, until exclusive, to the millisecond.
  const [pivot] = await entriesOf('filter-del-20');
  const since = (await audit(`since=${pivot!.at}&limit=500`)).body.entries as AuditJson[];
  assert.deepEqual(since, all.entries.filter((e) => e.at >= pivot!.at));
  assert.ok(since.some((e) => e.request_id === 'filter-del-20'));
  const until = (await audit(`until=${pivot!.at}&limit=500`)).body.entries as AuditJson[];
  assert.deepEqual(until, all.entries.filter((e) => e.at < pivot!.at));
  const day = pivot!.at.slice(0, 10);
  const wide = await audit(`since=${day}&until=${encodeURIComponent('2999-01-01T00:00:00+01:00')}&limit=500`);
  assert.deepEqual(wide.body.entries, all.entries, 'a date alone and a zone offset are ISO 8601 too');

  // Page by page, with and without a filter: the same entries, each once.
  const pagesOf = async (filter: string, limit: number): Promise<AuditJson[][]> => {
    const pages: AuditJson[][] = [];
    let cursor: string | null = null;
    do {
      const res: ApiResponse = await audit(`${filter}limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      pages.push(res.body.entries);
      cursor = res.body.next_cursor;
    } while (cursor !== null);
    return pages;
  };
  const allAgain = (await audit('limit=500')).body.entries as AuditJson[];
  const pages = await pagesOf('', 7);
  assert.ok(pages.slice(0, -1).every((p) => p.length === 7));
  assert.deepEqual(pages.flat().map((e) => e.id), allAgain.map((e) => e.id));
  const deletePages = await pagesOf('action=instance.delete&', 20);
  assert.deepEqual(deletePages.flat().map((e) => e.id), deletes.map((e) => e.id));
});

test('bad filters are refused naming the parameter', async () => {
  const cases: [query: string, message: RegExp][] = [
    ['limit=0', /^limit: must be an integer from 1 to 500$/],
    ['limit=501', /^limit: must be an integer from 1 to 500$/],
    ['limit=1.5', /^limit: /],
    ['limit=1&limit=2', /^limit: must be a string$/],
    ['action=command.delete', /^action: must be one of command\.submit, command\.sync, task\.cancel, /],
    ['since=yesterday', /^since: must be an ISO 8601 date or date-time with a zone/],
    ['until=2026-02-30', /^until: must be an ISO 8601/],
    ['since=2026-11-29T10:00:00', /^since: must be an ISO 8601/],
    ['since=2026-11-29&until=2026-11-29', /^until: must be later than since$/],
    ['request_id=%01', /^request_id: must be 1-128 printable ASCII characters$/],
    [`tenant_id=${'t'.repeat(65)}`, /^tenant_id: must not be longer than 64 characters$/],
    ['cursor=not-a-cursor', /^cursor: is not a cursor this API returned$/],
  ];
  for (const [query, message] of cases) {
    const res = await audit(query);
    assert.equal(res.status, 400, query);
    assert.equal(res.body.error_code, 'KOOPHONE.API.1000', query);
    assert.match(res.body.error_msg, message, query);
  }
});

test('tenants cannot read the audit log: a tenant token on the admin route is refused, and no tenant route serves it', async () => {
  for (const authorization of [`Bearer ${h.token}`, '']) {
    const res = await audit('', authorization);
    assert.deepEqual([res.status, res.body.error_code], [401, 'APIGW.0301']);
  }
  const asHeader = await request(h.url, 'GET', '/admin/v1/audit', undefined, { 'x-auth-token': h.token });
  assert.equal(asHeader.status, 401);
  assert.equal((await h.call('GET', '/v1/instances/audit')).status, 404);
  assert.equal((await h.call('GET', '/v1/audit')).status, 404);
});

test('a request over the rate limit is recorded as refused (429), naming its tenant', async () => {
  const limited = await startServiceHarness({ instances: 1, config: { rateLimitPerSecond: 1, rateLimitBurst: 1 } });
  try {
    const call = (rid: string) =>
      request(limited.url, 'POST', '/v1/instances/reboot', { instance_ids: ['not-mine'] }, { 'x-request-id': rid, 'x-auth-token': limited.token });
    assert.equal((await call('rl-1')).status, 400);
    assert.equal((await call('rl-2')).status, 429);
    let entries: AuditJson[] = [];
    await until('the 429 to be recorded', async () => {
      const res = await request(limited.url, 'GET', '/admin/v1/audit?request_id=rl-2', undefined, { authorization: `Bearer ${limited.adminToken}` });
      entries = res.body.entries;
      return entries.length === 1;
    });
    assert.deepEqual(
      [entries[0]?.action, entries[0]?.actor, entries[0]?.outcome, entries[0]?.targets],
      ['instance.reboot', limited.tenantId, { status: 429, error_code: 'KOOPHONE.API.1429', task_id: null, replayed: false }, {}],
    );
  } finally {
    await limited.close();
  }
});

test('every state-changing route of the OpenAPI document is recorded, so a new one without config.audit fails here', async () => {
  // Routes that change nothing though not GET (a POST for a long list of ids).
  const reads = new Set(['POST /v1/instances/batch-query-status']);
  const doc = (await request(h.url, 'GET', '/openapi.json', undefined, {})).body as { paths: Record<string, Record<string, unknown>> };
  const sent: string[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const method of Object.keys(operations).map((m) => m.toUpperCase())) {
      if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method) || reads.has(`${method} ${path}`)) continue;
      const rid = `sweep-${sent.length}`;
      const url = path.replace(/\{[^}]+\}/g, 'x');
      // An empty object: most routes refuse it (400), which is recorded all the same.
      const res = path.startsWith('/admin/') ? await adminCall(rid, method, url.slice('/admin/v1'.length), {}) : await tenantCall(rid, method, url, {});
      assert.ok(res.status < 500, `${method} ${path}: ${res.status}`);
      sent.push(`${method} ${path}`);
    }
  }
  assert.ok(sent.length >= 11, sent.join(', '));
  for (const [i, route] of sent.entries()) {
    await entriesOf(`sweep-${i}`).catch((err: unknown) => assert.fail(`${route} is not recorded: does its route name config.audit? (${String(err)})`));
  }
});

test('a request whose client hung up before the answer is recorded with the outcome it would have had', async () => {
  const u = new URL(h.url);
  const body = JSON.stringify({ command: 'sleep 2', instance_ids: [h.ids[0]], timeout_seconds: 10 });
  const headers = { 'content-type': 'application/json', 'x-request-id': 'sync-gone', 'x-auth-token': h.token };
  const req = httpRequest({ host: u.hostname, port: u.port, method: 'POST', path: '/v1/instances/sync-command', headers });
  req.on('error', () => {});
  req.end(body);
  // Hang up once the service has created the task (it then waits for the command).
  let taskId = '';
  await until('the sync-command task to exist', async () => {
    const task = (await h.call('GET', '/v1/instances/tasks?limit=1')).body.data.tasks[0];
    taskId = task?.command === 'sleep 2' ? task.task_id : '';
    return taskId !== '';
  });
  req.destroy();
  const [entry] = await entriesOf('sync-gone');
  assert.deepEqual([entry?.action, entry?.actor, entry?.outcome], ['command.sync', h.tenantId, { status: 200, error_code: '0', task_id: taskId, replayed: false }]);
});

test('a whole token pasted as the prefix to revoke is kept only as far as its prefix', async () => {
  const created = await adminCall('paste-tenant', 'POST', '/tenants', { name: 'paste' });
  const token: string = created.body.token;
  assert.equal((await adminCall('paste-revoke', 'DELETE', `/tenants/${created.body.tenant_id}/tokens/${token}`)).status, 404);
  const [entry] = await entriesOf('paste-revoke');
  assert.equal(entry?.targets['token_prefix'], token.slice(0, 12));
});
