// Tenant isolation: everything of another tenant is refused exactly like a missing resource.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ApiHarness, envelope, SettableMonitor, startApiHarness } from '../support/index.js';

let h: ApiHarness;
let tokenA: string;
let tokenB: string;
let taskB: string;
let jobB: string;
const monitor = new SettableMonitor();
const MISSING_TASK = '0123456789abcdef0123456789abcdef';
const MISSING_JOB = 'fedcba9876543210fedcba9876543210';

before(async () => {
  h = await startApiHarness({ monitor });
  const a = await h.tenant('alpha');
  const b = await h.tenant('beta');
  tokenA = a.token;
  tokenB = b.token;
  await h.instance('a1', a.tenantId);
  await h.instance('beta-phone', b.tenantId);
  monitor.statuses.set('a1', 2);
  monitor.statuses.set('beta-phone', 2);
  const res = await h.call(tokenB, 'POST', '/v1/instances/async-command', { command: 'ls /secret', instance_ids: ['beta-phone'] });
  taskB = res.json().data.task_id;
  jobB = res.json().data.cmd_jobs[0].job_id;
});
after(async () => {
  await h.close();
});

/** The answer for B's resource equals the answer for a missing one, with the ids swapped. */
async function sameAsMissing(method: 'GET' | 'POST', foreignUrl: string, missingUrl: string, swaps: [string, string][]) {
  const foreign = await h.call(tokenA, method, foreignUrl);
  const missing = await h.call(tokenA, method, missingUrl);
  assert.equal(foreign.statusCode, missing.statusCode);
  assert.equal(foreign.statusCode, 400);
  let msg = envelope(foreign).error_msg;
  for (const [from, to] of swaps) msg = msg.replace(from, to);
  assert.equal(envelope(foreign).error_code, envelope(missing).error_code);
  assert.equal(msg, envelope(missing).error_msg);
  assert.doesNotMatch(foreign.body, /secret|beta-phone/);
}

test("another tenant's task is a missing task", async () => {
  await sameAsMissing('GET', `/v1/instances/tasks/${taskB}`, `/v1/instances/tasks/${MISSING_TASK}`, [[taskB, MISSING_TASK]]);
});

test("another tenant's job output is a missing task", async () => {
  await sameAsMissing(
    'GET',
    `/v1/instances/tasks/${taskB}/jobs/${jobB}/output`,
    `/v1/instances/tasks/${MISSING_TASK}/jobs/${MISSING_JOB}/output`,
    [[taskB, MISSING_TASK], [jobB, MISSING_JOB]],
  );
});

test("another tenant's task cannot be cancelled, and stays untouched", async () => {
  await sameAsMissing('POST', `/v1/instances/tasks/${taskB}/cancel`, `/v1/instances/tasks/${MISSING_TASK}/cancel`, [[taskB, MISSING_TASK]]);
  const own = await h.call(tokenB, 'GET', `/v1/instances/tasks/${taskB}`);
  assert.equal(own.json().data.jobs[0].state, 'queued');
});

test("another tenant's task events are a missing task", async () => {
  await sameAsMissing('GET', `/v1/instances/tasks/${taskB}/events`, `/v1/instances/tasks/${MISSING_TASK}/events`, [[taskB, MISSING_TASK]]);
});

for (const path of ['/v1/instances/async-command', '/v1/instances/sync-command', '/v1/instances/batch-query-status', '/v1/instances/reboot']) {
  test(`${path}: another tenant's instance is a missing instance (1001), nothing happens`, async () => {
    const body = { command: 'ls', instance_ids: ['beta-phone'] };
    const foreign = await h.call(tokenA, 'POST', path, body);
    const missing = await h.call(tokenA, 'POST', path, { ...body, instance_ids: ['n1'] });
    assert.equal(foreign.statusCode, 400);
    assert.equal(envelope(foreign).error_code, 'KOOPHONE.API.1001');
    assert.equal(envelope(foreign).error_msg.replace('beta-phone', 'n1'), envelope(missing).error_msg);
    assert.deepEqual(monitor.rebooted, []);
  });
}

test("batch-query and the task list show only the caller's own", async () => {
  const q = (await h.call(tokenA, 'GET', '/v1/instances/batch-query?page_size=100')).json().data;
  assert.deepEqual(q.result.map((r: { instance_id: string }) => r.instance_id), ['a1']);
  assert.equal(q.total_count, 1);
  const byId = (await h.call(tokenA, 'GET', '/v1/instances/batch-query?instance_id=beta-phone')).json().data;
  assert.equal(byId.total_count, 0);
  const tasks = (await h.call(tokenA, 'GET', '/v1/instances/tasks')).json().data;
  assert.equal(tasks.tasks.some((t: { task_id: string }) => t.task_id === taskB), false);
});

test("B's cursor does not page through A's list into B's tasks", async () => {
  for (let i = 0; i < 3; i++) await h.call(tokenB, 'POST', '/v1/instances/async-command', { command: 'ls', instance_ids: ['beta-phone'] });
  const page = (await h.call(tokenB, 'GET', '/v1/instances/tasks?limit=1')).json().data;
  assert.ok(page.next_cursor);
  const res = await h.call(tokenA, 'GET', `/v1/instances/tasks?cursor=${encodeURIComponent(page.next_cursor)}`);
  if (res.statusCode === 200) {
    assert.equal(res.json().data.tasks.length, 0, "no task of B's through A's token");
  } else {
    assert.equal(envelope(res).error_code, 'KOOPHONE.API.1000');
  }
});

test('the same x-request-id in two tenants is two independent requests', async () => {
  const headersA = { 'x-request-id': 'shared', 'x-auth-token': tokenA };
  const headersB = { 'x-request-id': 'shared', 'x-auth-token': tokenB };
  const a = await h.app.inject({ method: 'POST', url: '/v1/instances/async-command', headers: headersA, payload: { command: 'ls', instance_ids: ['a1'] } });
  const b = await h.app.inject({ method: 'POST', url: '/v1/instances/async-command', headers: headersB, payload: { command: 'id', instance_ids: ['beta-phone'] } });
  assert.equal(a.statusCode, 200);
  assert.equal(b.statusCode, 200, 'not a 409: request ids are per tenant');
  assert.notEqual(a.json().data.task_id, b.json().data.task_id);
});
