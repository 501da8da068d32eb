// The typed client (src/client) against the whole service on a real socket and a simulated fleet:
// every method, the errors it throws, and the package export `adbfleet/client`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { AdbfleetError, createAdminClient, createClient, type AuditEntry, type AuditPage, type Job, type TenantClient } from '../../src/client/index.js';
import { type ServiceHarness, startServiceHarness, until } from '../support/index.js';

let h: ServiceHarness;
let client: TenantClient;

before(async () => {
  h = await startServiceHarness({ instances: 3 });
  client = createClient({ url: h.url, token: h.token });
});
after(async () => {
  await h?.close();
});

const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled']);
const RANK: Record<string, number> = { queued: 0, running: 1 };
const rank = (state: string): number => RANK[state] ?? 2;

test('runCommand, getTask, taskEvents until done (states only advance), getJobOutput', async () => {
  const run = await client.runCommand({ command: 'echo hello', instance_ids: h.ids });
  assert.match(run.task_id, /^[0-9a-f]+$/);
  assert.deepEqual(run.cmd_jobs.map((j) => j.instance_id), h.ids);

  const seen = new Map<string, string[]>();
  for await (const job of client.taskEvents(run.task_id)) {
    const states = seen.get(job.job_id) ?? [];
    const last = states.at(-1);
    if (last !== undefined) assert.ok(rank(job.state) > rank(last), `${job.job_id}: ${last} -> ${job.state}`);
    seen.set(job.job_id, [...states, job.state]);
  }
  // The generator returned: done arrived, every job reached its final state.
  assert.deepEqual([...seen.keys()].sort(), run.cmd_jobs.map((j) => j.job_id).sort());
  for (const states of seen.values()) assert.equal(states.at(-1), 'succeeded');

  const task = await client.getTask(run.task_id);
  assert.deepEqual(task.jobs.map((j) => j.state), h.ids.map(() => 'succeeded'));
  const first = task.jobs[0]!;
  const out = await client.getJobOutput(run.task_id, first.job_id);
  assert.equal(out.stdout, 'hello\n');
  assert.equal(out.exit_code, 0);
  assert.equal(out.output_truncated, false);
});

test('syncCommand answers with every result', async () => {
  const r = await client.syncCommand({ command: 'echo sync', instance_ids: [h.ids[0]!], timeout_seconds: 30 });
  assert.equal(r.cmd_results.length, 1);
  assert.equal(r.cmd_results[0]!.instance_id, h.ids[0]);
  assert.equal(r.cmd_results[0]!.state, 'succeeded');
  assert.equal(r.cmd_results[0]!.execute_msg, 'sync\n');
});

test('cancelTask stops a sleep 60; aborting taskEvents ends it without an error', async () => {
  const run = await client.runCommand({ command: 'sleep 60', instance_ids: [h.ids[1]!] });
  const abort = new AbortController();
  const followed: Job[] = [];
  for await (const job of client.taskEvents(run.task_id, { signal: abort.signal })) {
    followed.push(job);
    if (job.state === 'running') abort.abort();
  }
  assert.equal(followed.at(-1)?.state, 'running');
  const cancelled = await client.cancelTask(run.task_id);
  assert.equal(cancelled.jobs.length, 1);
  assert.ok(FINAL.has(cancelled.jobs[0]!.state), cancelled.jobs[0]!.state);
  assert.equal(cancelled.jobs[0]!.state, 'cancelled');
});

test('listTasks pages with next_cursor until null', async () => {
  const mine = new Set<string>();
  for (let i = 0; i < 3; i++) mine.add((await client.runCommand({ command: `echo page${i}`, instance_ids: [h.ids[2]!] })).task_id);
  const listed: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await client.listTasks({ limit: 2, ...(cursor === null ? {} : { cursor }) });
    assert.ok(page.tasks.length <= 2);
    listed.push(...page.tasks.map((t) => t.task_id));
    cursor = page.next_cursor;
  } while (cursor !== null);
  assert.equal(new Set(listed).size, listed.length, 'no task twice');
  for (const id of mine) assert.ok(listed.includes(id), `${id} listed`);
});

test('listInstances pages; allInstances returns every page in order; instanceStatus; reboot', async () => {
  const page1 = await client.listInstances({ page_no: 1, page_size: 2 });
  assert.equal(page1.total_count, h.ids.length);
  assert.equal(page1.page_size, 2);
  assert.equal(page1.result.length, 2);
  const page2 = await client.listInstances({ page_no: 2, page_size: 2 });
  const all = await client.allInstances();
  assert.deepEqual(all.map((i) => i.instance_id), [...page1.result, ...page2.result].map((i) => i.instance_id));
  assert.deepEqual(all.map((i) => i.instance_id).sort(), [...h.ids].sort());

  const id = h.ids[0]!;
  await until(`${id} running`, async () => (await client.instanceStatus([id]))[0]?.status === 2);
  const statuses = await client.instanceStatus(h.ids);
  assert.deepEqual(statuses.map((s) => s.instance_id), h.ids);
  await client.reboot([id]);
  const sim = h.fleet.instances[0]!;
  await until(`${id} to be asked to reboot`, () => sim.journal().some((e) => e.service === 'reboot'));
});

test('every admin method', async () => {
  const admin = createAdminClient({ url: h.url, token: h.adminToken });
  const created = await admin.createTenant('client-test');
  assert.equal(created.name, 'client-test');
  assert.ok((await admin.listTenants()).some((t) => t.tenant_id === created.tenant_id && t.name === 'client-test'));

  const issued = await admin.issueToken(created.tenant_id);
  const second = createClient({ url: h.url, token: issued.token });
  assert.deepEqual((await second.listTasks()).tasks, []);
  assert.deepEqual(await admin.revokeToken(created.tenant_id, issued.prefix), { revoked: 1 });
  await assert.rejects(second.listTasks(), (e: unknown) => e instanceof AdbfleetError && e.status === 401 && e.code === 'APIGW.0301');

  const sim = h.fleet.instances[2]!;
  const inst = await admin.createInstance({ instance_id: 'client-one', adb_address: sim.address, tenant_id: created.tenant_id });
  assert.equal(inst.tenant_id, created.tenant_id);
  assert.equal(inst.instance_name, 'client-one');
  assert.deepEqual(
    await admin.bulkInstances([
      { instance_id: 'client-bulk-a', adb_address: sim.address },
      { instance_id: 'client-bulk-b', adb_address: sim.address, zone: 'z1' },
    ]),
    { registered: 2 },
  );
  const moved = await admin.assignInstance('client-one', null);
  assert.equal(moved.tenant_id, null);
  assert.deepEqual(await admin.deleteInstance('client-bulk-a'), { instance_id: 'client-bulk-a', deleted: true });
  const ids = (await admin.listInstances()).map((i) => i.instance_id);
  assert.ok(ids.includes('client-one') && ids.includes('client-bulk-b') && !ids.includes('client-bulk-a'), ids.join(','));
  await assert.rejects(admin.deleteInstance('client-bulk-a'), (e: unknown) => e instanceof AdbfleetError && e.status === 404);
});

test('audit: filters, pages followed by next_cursor, a bad filter refused naming it', async () => {
  const admin = createAdminClient({ url: h.url, token: h.adminToken });
  const first = await admin.createTenant('audit-first');
  const second = await admin.createTenant('audit-second');
  const mine = new Set([first.tenant_id, second.tenant_id]);
  const ours = (entries: readonly AuditEntry[]): AuditEntry[] => entries.filter((e) => mine.has(e.targets.tenant_id ?? ''));
  // An entry commits a moment after its answer.
  await until('both tenant.create entries', async () => ours((await admin.audit({ action: 'tenant.create' })).entries).length === 2);

  const whole = await admin.audit({ action: 'tenant.create', limit: '500' });
  assert.equal(whole.next_cursor, null);
  assert.deepEqual(ours(whole.entries).map((e) => e.targets.tenant_id), [second.tenant_id, first.tenant_id], 'newest first');
  assert.ok(whole.entries.every((e) => e.action === 'tenant.create' && e.actor === 'admin'));

  const paged: AuditEntry[] = [];
  let cursor: string | null = null;
  do {
    const page: AuditPage = await admin.audit({ action: 'tenant.create', limit: '1', ...(cursor === null ? {} : { cursor }) });
    assert.ok(page.entries.length <= 1);
    paged.push(...page.entries);
    cursor = page.next_cursor;
  } while (cursor !== null);
  assert.deepEqual(paged, whole.entries);

  const entry = ours(whole.entries)[0]!;
  assert.deepEqual((await admin.audit({ request_id: entry.request_id })).entries, [entry]);
  assert.deepEqual((await admin.audit({ tenant_id: first.tenant_id })).entries, [], 'the admin acted, not the tenant');

  const bad = await admin.audit({ since: 'yesterday' }).then(() => assert.fail('accepted'), (e: unknown) => e);
  assert.ok(bad instanceof AdbfleetError);
  assert.equal(bad.status, 400);
  assert.match(bad.message, /since/);
});

test('a refused request throws AdbfleetError with status, code, requestId and the answer', async () => {
  const requestId = randomUUID();
  const err = await client.runCommand({ command: 'echo x', instance_ids: ['not-mine'] }, { requestId }).then(
    () => assert.fail('accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof AdbfleetError);
  assert.equal(err.status, 400);
  assert.equal(err.code, 'KOOPHONE.API.1001');
  assert.equal(err.requestId, requestId);
  assert.match(err.message, /not-mine/);
  assert.deepEqual(Object.keys(err.body as object), ['error_code', 'error_msg']);

  const missing = await client.getTask('ffff').then(() => assert.fail('found'), (e: unknown) => e);
  assert.ok(missing instanceof AdbfleetError);
  assert.equal(missing.code, 'KOOPHONE.API.1000');
  assert.match(missing.requestId, /^[0-9a-f-]{32,36}$/);
});

test('a path prefix in the URL is kept', async () => {
  const prefixed = createClient({ url: `${h.url}/base/`, token: h.token });
  const err = await prefixed.listTasks().then(() => assert.fail('answered'), (e: unknown) => e);
  assert.ok(err instanceof AdbfleetError);
  assert.equal(err.status, 404);
  assert.match(err.message, /GET \/base\/v1\/instances\/tasks does not exist/);
});

test('an unreachable service gives status 0 and a message naming the URL', async () => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  const url = `http://127.0.0.1:${port}`;
  const err = await createClient({ url, token: 'x' }).listTasks().then(() => assert.fail('answered'), (e: unknown) => e);
  assert.ok(err instanceof AdbfleetError);
  assert.equal(err.status, 0);
  assert.equal(err.code, '');
  assert.ok(err.message.includes(url), err.message);
});

test('adbfleet/client resolves through the package exports', { skip: existsSync('dist/client/index.js') ? false : 'dist/ is missing: run npm run build' }, async () => {
  // A variable specifier: the type checker would otherwise need dist/ to exist.
  const specifier = 'adbfleet/client';
  const mod = (await import(specifier)) as Record<string, unknown>;
  assert.equal(typeof mod['createClient'], 'function');
  assert.equal(typeof mod['createAdminClient'], 'function');
  assert.equal(typeof mod['AdbfleetError'], 'function');
});
