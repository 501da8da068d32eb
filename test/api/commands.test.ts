// SPEC §2, §3, §5: request rules of async-command and sync-command, one case per rule.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ApiHarness, envelope, startApiHarness } from '../support/index.js';

let h: ApiHarness;
let tokenA: string;
let tokenB: string;
let tenantAId: string;
const MANY = Array.from({ length: 100 }, (_, i) => `m${i}`);

before(async () => {
  h = await startApiHarness();
  const a = await h.tenant('alpha');
  const b = await h.tenant('beta');
  tokenA = a.token;
  tenantAId = a.tenantId;
  tokenB = b.token;
  for (const id of ['a1', 'a2', 'a3', ...MANY]) await h.instance(id, a.tenantId);
  await h.instance('b1', b.tenantId);
  await h.instance('u1', null);
});
after(async () => {
  await h.close();
});

const valid = { command: 'ls -l /system', instance_ids: ['a1'] };

type Case = { name: string; body?: unknown; raw?: string; contentType?: string; field: string };

const invalid: Case[] = [
  { name: 'no body at all', field: 'body' },
  { name: 'empty JSON body', raw: '', contentType: 'application/json', field: 'body' },
  { name: 'body is an array', body: [valid], field: 'body' },
  { name: 'body is a string', raw: '"ls"', contentType: 'application/json', field: 'body' },
  { name: 'body is null', raw: 'null', contentType: 'application/json', field: 'body' },
  { name: 'body is a number', raw: '42', contentType: 'application/json', field: 'body' },
  { name: 'malformed JSON', raw: '{"command": "ls",', contentType: 'application/json', field: 'body' },
  { name: 'text/plain body', raw: 'ls -l', contentType: 'text/plain', field: 'body' },
  { name: 'unsupported content type', raw: '<x/>', contentType: 'application/xml', field: 'body' },
  { name: 'command missing', body: { instance_ids: ['a1'] }, field: 'command' },
  { name: 'command a number', body: { ...valid, command: 5 }, field: 'command' },
  { name: 'command null', body: { ...valid, command: null }, field: 'command' },
  { name: 'command an array', body: { ...valid, command: ['ls'] }, field: 'command' },
  { name: 'command empty', body: { ...valid, command: '' }, field: 'command' },
  { name: 'command only spaces', body: { ...valid, command: '   ' }, field: 'command' },
  { name: 'command 1025 bytes', body: { ...valid, command: 'a'.repeat(1025) }, field: 'command' },
  ...[';', '|', '&', '$', '`', '>', '<', '(', ')', "'", '"', '\n', '\t', '*', '~', '\\', 'é', '\u0000'].map(
    (ch): Case => ({ name: `command with ${JSON.stringify(ch)}`, body: { ...valid, command: `ls ${ch} x` }, field: 'command' }),
  ),
  { name: 'instance_ids missing', body: { command: 'ls' }, field: 'instance_ids' },
  { name: 'instance_ids a string', body: { ...valid, instance_ids: 'a1' }, field: 'instance_ids' },
  { name: 'instance_ids null', body: { ...valid, instance_ids: null }, field: 'instance_ids' },
  { name: 'instance_ids empty', body: { ...valid, instance_ids: [] }, field: 'instance_ids' },
  { name: 'instance_ids 101 ids', body: { ...valid, instance_ids: [...MANY, 'a1'] }, field: 'instance_ids' },
  { name: 'instance_ids duplicate', body: { ...valid, instance_ids: ['a1', 'a2', 'a1'] }, field: 'instance_ids[' },
  { name: 'instance_ids item a number', body: { ...valid, instance_ids: ['a1', 7] }, field: 'instance_ids[1]' },
  { name: 'instance_ids item with a space', body: { ...valid, instance_ids: ['a1', 'a2', 'a 3'] }, field: 'instance_ids[2]' },
  { name: 'instance_ids item empty', body: { ...valid, instance_ids: [''] }, field: 'instance_ids[0]' },
  { name: 'instance_ids item 33 chars', body: { ...valid, instance_ids: ['x'.repeat(33)] }, field: 'instance_ids[0]' },
  { name: 'instance_ids item null', body: { ...valid, instance_ids: [null] }, field: 'instance_ids[0]' },
  { name: 'timeout_seconds a string', body: { ...valid, timeout_seconds: '30' }, field: 'timeout_seconds' },
  { name: 'timeout_seconds 1.5', body: { ...valid, timeout_seconds: 1.5 }, field: 'timeout_seconds' },
  { name: 'timeout_seconds null', body: { ...valid, timeout_seconds: null }, field: 'timeout_seconds' },
  { name: 'timeout_seconds true', body: { ...valid, timeout_seconds: true }, field: 'timeout_seconds' },
  { name: 'timeout_seconds 0', body: { ...valid, timeout_seconds: 0 }, field: 'timeout_seconds' },
  { name: 'timeout_seconds -5', body: { ...valid, timeout_seconds: -5 }, field: 'timeout_seconds' },
  { name: 'timeout_seconds 21601', body: { ...valid, timeout_seconds: 21601 }, field: 'timeout_seconds' },
  // Rules come before ownership: a foreign instance with a bad command is a 1000.
  { name: 'bad command and a foreign instance', body: { command: 'ls;', instance_ids: ['b1'] }, field: 'command' },
];

async function send(path: string, c: Case) {
  const headers: Record<string, string> = { 'x-request-id': `rid-${Math.random()}`, 'x-auth-token': tokenA };
  if (c.contentType !== undefined) headers['content-type'] = c.contentType;
  if (c.raw !== undefined) return h.app.inject({ method: 'POST', url: path, headers, payload: c.raw });
  if (c.body !== undefined) return h.app.inject({ method: 'POST', url: path, headers, payload: c.body as object });
  return h.app.inject({ method: 'POST', url: path, headers });
}

for (const path of ['/v1/instances/async-command', '/v1/instances/sync-command']) {
  for (const c of invalid) {
    test(`${path}: ${c.name} -> 400 KOOPHONE.API.1000 naming ${c.field}`, async () => {
      const before = await h.taskCount(tokenA);
      const res = await send(path, c);
      assert.equal(res.statusCode, 400, res.body);
      const e = envelope(res);
      assert.equal(e.error_code, 'KOOPHONE.API.1000');
      assert.ok(e.error_msg.startsWith(c.field), `"${e.error_msg}" should name ${c.field}`);
      assert.ok(res.headers['x-request-id']);
      assert.equal(await h.taskCount(tokenA), before, 'a rejected request created a task');
    });
  }
}

test('command errors say which rule: wrong type, empty, only spaces, a forbidden character', async () => {
  const said = async (command: unknown) => envelope(await send('/v1/instances/async-command', { name: '', body: { ...valid, command }, field: '' })).error_msg;
  assert.equal(await said(5), 'command: must be a string');
  assert.equal(await said(null), 'command: must be a string');
  assert.match(await said(''), /^command: must not be shorter than 1/);
  assert.equal(await said('   '), 'command: must not be only spaces');
  assert.match(await said('ls; rm'), /^command: only letters, digits, space and _ \. \/ : - are allowed/);
});

test('sync-command: timeout_seconds 61 is over the sync limit; async accepts it', async () => {
  const sync = await h.call(tokenA, 'POST', '/v1/instances/sync-command', { ...valid, timeout_seconds: 61 });
  assert.equal(sync.statusCode, 400);
  assert.equal(envelope(sync).error_code, 'KOOPHONE.API.1000');
  assert.match(envelope(sync).error_msg, /^timeout_seconds/);
  const async_ = await h.call(tokenA, 'POST', '/v1/instances/async-command', { ...valid, timeout_seconds: 61 });
  assert.equal(async_.statusCode, 200, async_.body);
});

const accepted: { name: string; body: Record<string, unknown> }[] = [
  { name: 'KooPhone example', body: valid },
  { name: 'every allowed character', body: { ...valid, command: 'ABC xyz 019 _ . / : -' } },
  { name: '1024-byte command', body: { ...valid, command: 'a'.repeat(1024) } },
  { name: '100 instances', body: { ...valid, instance_ids: MANY } },
  { name: 'timeout 1', body: { ...valid, timeout_seconds: 1 } },
  { name: 'timeout 21600', body: { ...valid, timeout_seconds: 21600 } },
  { name: 'timeout 2.0 (a JSON integer)', body: { ...valid, timeout_seconds: 2.0 } },
  { name: 'unknown fields ignored', body: { ...valid, colour: 'blue', nested: { x: [1] } } },
];

for (const c of accepted) {
  test(`async-command accepts: ${c.name}`, async () => {
    const before = await h.taskCount(tokenA);
    const res = await h.call(tokenA, 'POST', '/v1/instances/async-command', c.body);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.error_code, '0');
    assert.equal(body.error_msg, 'ok');
    assert.match(body.data.task_id, /^[0-9a-f]{32}$/);
    const ids = c.body['instance_ids'] as string[];
    assert.deepEqual(body.data.cmd_jobs.map((j: { instance_id: string }) => j.instance_id), ids);
    for (const j of body.data.cmd_jobs) assert.match(j.job_id, /^[0-9a-f]{32}$/);
    assert.equal(await h.taskCount(tokenA), before + 1);
    const queued = await h.queuedOf(body.data.task_id);
    assert.deepEqual(queued.map((j) => j.instanceId), ids, 'the jobs are queued in the store');
    assert.equal(h.feed.queued.at(-1), queued.at(-1)!.jobKey, 'the store woke the worker');
  });
}

test('async-command stores timeout_seconds (default 300)', async () => {
  const res = await h.call(tokenA, 'POST', '/v1/instances/async-command', valid);
  assert.equal((await h.queuedOf(res.json().data.task_id))[0]?.timeoutMs, 300_000);
  const seven = await h.call(tokenA, 'POST', '/v1/instances/async-command', { ...valid, timeout_seconds: 7 });
  assert.equal((await h.queuedOf(seven.json().data.task_id))[0]?.timeoutMs, 7_000);
});

const ownership: { name: string; ids: string[]; offending: string[] }[] = [
  { name: "another tenant's instance", ids: ['a1', 'b1'], offending: ['b1'] },
  { name: 'a missing instance', ids: ['nosuch', 'a2'], offending: ['nosuch'] },
  { name: 'an unassigned instance', ids: ['u1'], offending: ['u1'] },
  { name: 'several', ids: ['a1', 'b1', 'zz', 'a2'], offending: ['b1', 'zz'] },
];

for (const path of ['/v1/instances/async-command', '/v1/instances/sync-command']) {
  for (const c of ownership) {
    test(`${path}: ${c.name} -> 400 KOOPHONE.API.1001 listing exactly the offenders`, async () => {
      const before = await h.taskCount(tokenA);
      const res = await h.call(tokenA, 'POST', path, { command: 'ls', instance_ids: c.ids });
      assert.equal(res.statusCode, 400);
      const e = envelope(res);
      assert.equal(e.error_code, 'KOOPHONE.API.1001');
      for (const id of c.ids) {
        const named = new RegExp(`\\b${id}\\b`).test(e.error_msg);
        assert.equal(named, c.offending.includes(id), `${id} in "${e.error_msg}"`);
      }
      assert.equal(await h.taskCount(tokenA), before);
    });
  }
}

test('missing and foreign instances get the same message shape', async () => {
  const foreign = envelope(await h.call(tokenA, 'POST', '/v1/instances/async-command', { command: 'ls', instance_ids: ['b1'] }));
  const missing = envelope(await h.call(tokenA, 'POST', '/v1/instances/async-command', { command: 'ls', instance_ids: ['q1'] }));
  assert.equal(foreign.error_msg.replace('b1', 'X'), missing.error_msg.replace('q1', 'X'));
});

test('idempotency: same x-request-id and body -> original response; different body -> 409', async () => {
  const headers = { 'x-request-id': 'idem-1', 'x-auth-token': tokenA };
  const before = await h.taskCount(tokenA);
  const first = await h.app.inject({ method: 'POST', url: '/v1/instances/async-command', headers, payload: valid });
  assert.equal(first.statusCode, 200);
  const again = await h.app.inject({ method: 'POST', url: '/v1/instances/async-command', headers, payload: valid });
  assert.equal(again.statusCode, 200);
  assert.deepEqual(again.json(), first.json());
  // The default timeout written out is the same request.
  const explicit = await h.app.inject({
    method: 'POST', url: '/v1/instances/async-command', headers, payload: { ...valid, timeout_seconds: 300 },
  });
  assert.deepEqual(explicit.json(), first.json());
  assert.equal(await h.taskCount(tokenA), before + 1);
  const other = await h.app.inject({
    method: 'POST', url: '/v1/instances/async-command', headers, payload: { ...valid, command: 'ls /data' },
  });
  assert.equal(other.statusCode, 409);
  assert.equal(envelope(other).error_code, 'KOOPHONE.API.1000');
  assert.match(envelope(other).error_msg, /x-request-id/);
  assert.equal(await h.taskCount(tokenA), before + 1);
  // Another tenant may use the same request id independently.
  const b = await h.app.inject({
    method: 'POST', url: '/v1/instances/async-command',
    headers: { 'x-request-id': 'idem-1', 'x-auth-token': tokenB }, payload: { command: 'ls', instance_ids: ['b1'] },
  });
  assert.equal(b.statusCode, 200);
  assert.notEqual(b.json().data.task_id, first.json().data.task_id);
});

test('idempotency comes before ownership: a retry after the instance changed hands gets the original answer', async () => {
  await h.instance('moving', tenantAId);
  const headers = { 'x-request-id': 'idem-moving', 'x-auth-token': tokenA };
  const payload = { command: 'ls', instance_ids: ['moving'] };
  const first = await h.app.inject({ method: 'POST', url: '/v1/instances/async-command', headers, payload });
  assert.equal(first.statusCode, 200);
  assert.equal((await h.admin('PUT', '/instances/moving/tenant', { tenant_id: null })).statusCode, 200);
  const retry = await h.app.inject({ method: 'POST', url: '/v1/instances/async-command', headers, payload });
  assert.equal(retry.statusCode, 200, retry.body);
  assert.deepEqual(retry.json(), first.json());
  // The same id with another body that names the now-foreign instance: the id's conflict first.
  const other = await h.app.inject({ method: 'POST', url: '/v1/instances/async-command', headers, payload: { ...payload, command: 'id' } });
  assert.equal(other.statusCode, 409);
  // A fresh request for it: 1001.
  const fresh = await h.call(tokenA, 'POST', '/v1/instances/async-command', payload);
  assert.equal(envelope(fresh).error_code, 'KOOPHONE.API.1001');
});

test('a replay queues nothing new and wakes no worker', async () => {
  const headers = { 'x-request-id': 'idem-2', 'x-auth-token': tokenA };
  const first = await h.app.inject({ method: 'POST', url: '/v1/instances/async-command', headers, payload: valid });
  const wakes = h.feed.queued.length;
  const queued = (await h.store.queuedJobs(0, 1_000_000)).length;
  const again = await h.app.inject({ method: 'POST', url: '/v1/instances/async-command', headers, payload: valid });
  assert.equal(again.json().data.task_id, first.json().data.task_id);
  assert.equal(h.feed.queued.length, wakes);
  assert.equal((await h.store.queuedJobs(0, 1_000_000)).length, queued);
});
