// Several processes on one PostgreSQL database, as SPEC §11 deploys them: `serve --role api`
// nodes and `serve --role worker` processes (real child processes, the simulator as a process of
// its own, whose journal says what ran where and when). Workers lease instances: they share a
// zone's instances, never run one instance's jobs at once or out of order, and a worker killed
// with -9 loses its instances to the others: its running jobs end 1006 once, its queued ones run
// elsewhere. A worker runs only the zones it was given. Any API node answers for any task, and the
// tenants' rate limit holds across API nodes.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import {
  collectSse,
  openSse,
  request,
  startServeProcess,
  startSimProcess,
  startWorkerProcess,
  until,
  type Child,
  type JobJson,
} from '../support/index.js';
import { freshDatabase, postgresSkipReason } from '../support/postgres.js';

interface JournalRow {
  serial: string;
  command: string;
  service: string;
  startedAt: number;
  endedAt: number | null;
  end: string;
}

const children: Child[] = [];
const dirs: string[] = [];
after(async () => {
  for (const c of children) await c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A database, a simulated fleet in zones, an API node with a tenant owning every instance. */
async function deployment(zones: string[], settings: Record<string, string> = {}) {
  const url = await freshDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'adbfleet-pgw-'));
  dirs.push(dataDir);
  const adminToken = `adm_${randomUUID()}`;
  const env = {
    ADBFLEET_DATA: dataDir,
    ADBFLEET_DATABASE_URL: url,
    ADBFLEET_ADMIN_TOKEN: adminToken,
    ADBFLEET_RATE_LIMIT: '0',
    ADBFLEET_LEASE_SECONDS: '2',
    ADBFLEET_LOG_LEVEL: 'info',
    ...settings,
  };
  const sim = await startSimProcess(zones.length);
  children.push(sim.child);
  const apiNode = await startServeProcess({ ...env, ADBFLEET_ROLE: 'api' });
  children.push(apiNode.child);
  const admin = (method: string, path: string, body?: unknown) =>
    request(apiNode.url, method, `/admin/v1${path}`, body, { authorization: `Bearer ${adminToken}` });
  const tenant = await admin('POST', '/tenants', { name: 'pgw' });
  assert.equal(tenant.status, 200);
  const ids = zones.map((z, i) => `${z}-${i}`);
  const serialOf = new Map<string, string>();
  for (const [i, address] of sim.addresses.entries()) {
    const r = await admin('POST', '/instances', { instance_id: ids[i], adb_address: address, zone: zones[i], tenant_id: tenant.body.tenant_id });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // The simulator names its instances by position (src/sim/instance.ts).
    serialOf.set(ids[i]!, `sim-${String(i + 1).padStart(4, '0')}`);
  }
  /** a tenant request to an API node (the first one by default) */
  const call = (method: string, path: string, body?: unknown, requestId: string = randomUUID(), base = apiNode.url) =>
    request(base, method, path, body, { 'x-auth-token': tenant.body.token, 'x-request-id': requestId });
  /** another API node on the same database */
  const apiNodeMore = async (): Promise<string> => {
    const node = await startServeProcess({ ...env, ADBFLEET_ROLE: 'api' });
    children.push(node.child);
    return node.url;
  };
  const submit = async (command: string, instanceIds = ids): Promise<string> => {
    const r = await call('POST', '/v1/instances/async-command', { command, instance_ids: instanceIds });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.data.task_id as string;
  };
  const jobs = async (taskId: string): Promise<JobJson[]> => (await call('GET', `/v1/instances/tasks/${taskId}`)).body.data.jobs as JobJson[];
  const settled = (taskId: string, timeoutMs = 60_000): Promise<void> =>
    until(`task ${taskId} to finish`, async () => (await jobs(taskId)).every((j) => j.state !== 'queued' && j.state !== 'running'), timeoutMs, 100);
  const journal = async (): Promise<JournalRow[]> => (await (await fetch(`${sim.control}/journal`)).json()) as JournalRow[];
  /** the ops URL (health and metrics) of each worker started */
  const opsUrl = new Map<Child, string>();
  const worker = async (args: string[] = []): Promise<Child> => {
    const { child, url: ops } = await startWorkerProcess(env, args);
    children.push(child);
    opsUrl.set(child, ops);
    return child;
  };
  /** lease owner -> instance ids, read from the database */
  const owners = async (): Promise<Map<string, string[]>> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const rows = (await c.query('SELECT lease_owner, instance_id FROM instances WHERE deleted_at IS NULL AND lease_owner IS NOT NULL ORDER BY instance_id')).rows as Array<{
        lease_owner: string;
        instance_id: string;
      }>;
      const m = new Map<string, string[]>();
      for (const r of rows) m.set(r.lease_owner, [...(m.get(r.lease_owner) ?? []), r.instance_id]);
      return m;
    } finally {
      await c.end();
    }
  };
  /** ends every LISTEN connection on the database (the processes reopen theirs within a second) */
  const dropListeners = async (): Promise<number> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'")).rowCount ?? 0;
    } finally {
      await c.end();
    }
  };
  return { adminToken, opsUrl, dropListeners, ids, serialOf, call, submit, jobs, settled, journal, worker, owners, apiUrl: apiNode.url, apiNodeMore, control: sim.control, token: tenant.body.token as string };
}

/** The worker ids are host:pid:random: the instances a worker process holds. */
function heldBy(owners: Map<string, string[]>, child: Child): string[] {
  for (const [owner, ids] of owners) if (owner.split(':').at(-2) === String(child.proc.pid)) return ids;
  return [];
}

describe('PostgreSQL: API nodes and leased workers as processes', { skip: postgresSkipReason ?? false }, () => {
  test('two workers of one zone share its instances; each instance runs its jobs one at a time, in order', async () => {
    const d = await deployment(['z', 'z', 'z', 'z']);
    const [w1, w2] = [await d.worker(), await d.worker()];
    await until('both workers hold instances', async () => {
      const o = await d.owners();
      return heldBy(o, w1).length === 2 && heldBy(o, w2).length === 2;
    });
    const tasks: string[] = [];
    // A command per task (the API allows no ; or quotes): sleep 0.10 .. sleep 0.14.
    for (let k = 0; k < 5; k++) tasks.push(await d.submit(`sleep 0.1${k}`));
    for (const t of tasks) await d.settled(t);
    for (const t of tasks) assert.deepEqual((await d.jobs(t)).map((j) => j.state), ['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const rows = await d.journal();
    for (const id of d.ids) {
      const mine = rows.filter((r) => r.serial === d.serialOf.get(id) && r.command.startsWith('sleep 0.1'));
      assert.deepEqual(mine.map((r) => r.command.slice(-1)), ['0', '1', '2', '3', '4'], `${id}: each job once, in submission order`);
      for (let i = 1; i < mine.length; i++) {
        assert.ok(mine[i]!.startedAt >= mine[i - 1]!.endedAt!, `${id}: step ${i} started after step ${i - 1} ended`);
      }
    }
  });

  test('kill -9 of a worker: its running jobs end 1006 once, its queued jobs run on the other worker', async () => {
    const d = await deployment(['z', 'z', 'z', 'z']);
    const [w1, w2] = [await d.worker(), await d.worker()];
    await until('both workers hold instances', async () => {
      const o = await d.owners();
      return heldBy(o, w1).length === 2 && heldBy(o, w2).length === 2;
    });
    const lost = heldBy(await d.owners(), w1);
    const long = await d.submit('sleep 60');
    const next = await d.submit('echo next');
    await until('every instance running its sleep', async () => (await d.jobs(long)).every((j) => j.state === 'running'));
    await w1.kill('SIGKILL');
    await until('the dead worker\'s instances taken over', async () => heldBy(await d.owners(), w2).length === 4, 30_000);
    const after = await d.jobs(long);
    const byId = new Map(after.map((j) => [j.instance_id, j]));
    for (const id of lost) assert.deepEqual([byId.get(id)?.state, byId.get(id)?.error_code], ['failed', 'KOOPHONE.JOB.1006'], id);
    // The survivor's own sleeps go on: cancel them, and every "next" job runs, on the survivor.
    await d.call('POST', `/v1/instances/tasks/${long}/cancel`);
    await d.settled(long);
    await d.settled(next);
    assert.deepEqual((await d.jobs(next)).map((j) => j.state), ['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const final = new Map((await d.jobs(long)).map((j) => [j.instance_id, j.error_code]));
    for (const id of d.ids) assert.equal(final.get(id), lost.includes(id) ? 'KOOPHONE.JOB.1006' : 'KOOPHONE.JOB.1004', id);
    const rows = await d.journal();
    for (const id of d.ids) {
      const serial = d.serialOf.get(id);
      assert.equal(rows.filter((r) => r.serial === serial && r.command === 'sleep 60').length, 1, `${id}: the sleep ran once`);
      assert.equal(rows.filter((r) => r.serial === serial && r.command === 'echo next').length, 1, `${id}: the next job ran once`);
    }
  });

  test('a worker with --zones a never runs a job of zone b; a worker of zone b then does', async () => {
    const d = await deployment(['a', 'a', 'b', 'b']);
    const wa = await d.worker(['--zones', 'a']);
    await until('zone a held', async () => heldBy(await d.owners(), wa).length === 2);
    const t = await d.submit('echo zoned');
    const zoneA = d.ids.filter((id) => id.startsWith('a-'));
    await until('zone a jobs done', async () => (await d.jobs(t)).filter((j) => zoneA.includes(j.instance_id)).every((j) => j.state === 'succeeded'));
    // Two more lease rounds: zone b stays free and its jobs queued.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.deepEqual(heldBy(await d.owners(), wa), zoneA);
    assert.deepEqual((await d.jobs(t)).filter((j) => !zoneA.includes(j.instance_id)).map((j) => j.state), ['queued', 'queued']);
    const bSerials = d.ids.filter((id) => id.startsWith('b-')).map((id) => d.serialOf.get(id));
    assert.equal((await d.journal()).filter((r) => bSerials.includes(r.serial)).length, 0, 'nothing ran on zone b');
    await d.worker(['--zones', 'b']);
    await d.settled(t);
    assert.deepEqual((await d.jobs(t)).map((j) => j.state), ['succeeded', 'succeeded', 'succeeded', 'succeeded']);
  });

  test('idempotency through two API nodes: 20 concurrent retries make one task; the other node streams it as a worker runs it', async () => {
    const d = await deployment(['z', 'z']);
    const second = await d.apiNodeMore();
    const body = { command: 'echo once', instance_ids: d.ids };
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => d.call('POST', '/v1/instances/async-command', body, 'retry-1', i % 2 === 0 ? d.apiUrl : second)),
    );
    for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
    const taskIds = new Set(answers.map((a) => a.body.data.task_id as string));
    assert.equal(taskIds.size, 1, 'one task');
    const other = await d.call('POST', '/v1/instances/async-command', { ...body, command: 'echo other' }, 'retry-1', second);
    assert.equal(other.status, 409, JSON.stringify(other.body));
    const [taskId] = [...taskIds];
    // Followed on the other node, run by a worker started after: the stream sees it through.
    const stream = collectSse(await openSse(`${second}/v1/instances/tasks/${taskId}/events`, { 'x-auth-token': d.token, 'x-request-id': randomUUID() }));
    await d.worker();
    const { events } = await stream;
    assert.equal(events.at(-1)?.event, 'done');
    const finals = events.filter((e) => e.event !== 'done').map((e) => JSON.parse(e.data) as { state: string }).filter((j) => j.state === 'succeeded');
    assert.equal(finals.length, 2, JSON.stringify(events));
    await d.settled(taskId!);
    const listed = await d.call('GET', '/v1/instances/tasks?limit=20', undefined, randomUUID(), second);
    assert.deepEqual(listed.body.data.tasks.map((t: { task_id: string }) => t.task_id), [taskId]);
    assert.equal((await d.journal()).filter((r) => r.command === 'echo once').length, 2, 'each job ran once');
  });

  test('the rate limit holds across two API nodes: one bucket per tenant, wherever requests land', async () => {
    const d = await deployment(['z'], { ADBFLEET_RATE_LIMIT: '1', ADBFLEET_RATE_BURST: '3' });
    const second = await d.apiNodeMore();
    const began = Date.now();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await d.call('GET', '/v1/instances/tasks', undefined, randomUUID(), i % 2 === 0 ? d.apiUrl : second)).status);
    const seconds = (Date.now() - began) / 1000;
    const allowed = statuses.filter((s) => s === 200).length;
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200], 'the burst');
    // Each node alone would let 3 through (6): shared, the burst and what refilled meanwhile.
    assert.ok(allowed <= 3 + Math.floor(seconds) + 1, `${allowed} of ${statuses.join(',')} allowed in ${seconds} s`);
    assert.ok(statuses.includes(429));
  });

  test('health: measured by the worker holding the instance, read by an API node; a reboot asked there is done by that worker', async () => {
    const d = await deployment(['z', 'z'], { ADBFLEET_HEALTH_INTERVAL_SECONDS: '1', ADBFLEET_HEALTH_TIMEOUT_SECONDS: '1' });
    await d.worker();
    let seen: number[] = [];
    const statusesBecome = (want: number[], what: string) =>
      until(
        () => `${what}: ${JSON.stringify(seen)}`,
        async () => {
          const r = await d.call('POST', '/v1/instances/batch-query-status', { instance_ids: d.ids });
          seen = (r.body.data.status_results as Array<{ status: number }>).map((x) => x.status);
          return JSON.stringify(seen) === JSON.stringify(want);
        },
        30_000,
        100,
      );
    await statusesBecome([2, 2], 'both running, as the worker measured');
    const fault = await fetch(`${d.control}/instances/sim-0002/fault`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'offline', ms: 60_000 }),
    });
    assert.equal(fault.status, 200);
    await statusesBecome([2, 3], 'the second offline');
    const refused = await d.call('POST', '/v1/instances/reboot', { instance_ids: d.ids });
    assert.equal(refused.body.error_code, 'KOOPHONE.API.5005', JSON.stringify(refused.body));
    const ok = await d.call('POST', '/v1/instances/reboot', { instance_ids: [d.ids[0]] });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    await statusesBecome([4, 3], 'starting (the simulator takes a second to come back)');
    await until('the worker rebooted it', async () => (await d.journal()).some((r) => r.serial === 'sim-0001' && r.service === 'reboot'));
    await statusesBecome([2, 3], 'running again after the reboot');
    assert.equal((await d.journal()).filter((r) => r.serial === 'sim-0001' && r.service === 'reboot').length, 1, 'rebooted once');
  });

  test('device operations across processes: uploaded on one API node, pushed and screenshot by a worker process, read back through another node', async () => {
    // The API nodes and the worker share the artifact directory (one data dir here; a shared mount
    // across hosts).
    const d = await deployment(['z', 'z']);
    await d.worker();
    const other = await d.apiNodeMore();
    const file = Buffer.alloc(3 * 1024 * 1024 + 17, 'adbfleet ');
    const up = await fetch(`${d.apiUrl}/v1/artifacts`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'x-auth-token': d.token, 'x-request-id': randomUUID() },
      body: file,
    });
    assert.equal(up.status, 200);
    const artifact = ((await up.json()) as { data: { artifact_id: string; sha256: string } }).data;
    assert.equal(artifact.sha256, createHash('sha256').update(file).digest('hex'));

    const push = await d.call('POST', '/v1/instances/files/push', { artifact_id: artifact.artifact_id, path: '/sdcard/f.bin', instance_ids: d.ids }, randomUUID(), other);
    assert.equal(push.status, 200, JSON.stringify(push.body));
    await d.settled(push.body.data.task_id);
    for (const j of await d.jobs(push.body.data.task_id)) assert.equal(j.state, 'succeeded', JSON.stringify(j));
    const sum = await d.call('POST', '/v1/instances/sync-command', { command: 'sha256sum /sdcard/f.bin', instance_ids: d.ids });
    for (const r of sum.body.data.cmd_results as { execute_msg: string }[]) assert.equal(r.execute_msg, `${artifact.sha256}  /sdcard/f.bin\n`);

    const shot = await d.call('POST', '/v1/instances/screenshot', { instance_ids: d.ids });
    assert.equal(shot.status, 200, JSON.stringify(shot.body));
    const taskId: string = shot.body.data.task_id;
    await d.settled(taskId);
    const pngs: string[] = [];
    for (const j of await d.jobs(taskId)) {
      assert.equal(j.state, 'succeeded', JSON.stringify(j));
      const res = await fetch(`${other}/v1/instances/tasks/${taskId}/jobs/${j.job_id}/artifact`, { headers: { 'x-auth-token': d.token, 'x-request-id': randomUUID() } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/png');
      const png = Buffer.from(await res.arrayBuffer());
      assert.equal(Number(res.headers.get('content-length')), png.length);
      assert.equal(png.subarray(0, 8).toString('hex'), '89504e470d0a1a0a');
      pngs.push(createHash('sha256').update(png).digest('hex'));
    }
    assert.notEqual(pngs[0], pngs[1], 'each instance draws its own screen');
  });

  test('a cancel whose notice is lost still stops the running job: the worker also polls for it', async () => {
    const d = await deployment(['z']);
    await d.worker();
    const t = await d.submit('sleep 60');
    await until('running', async () => (await d.jobs(t))[0]?.state === 'running');
    assert.ok((await d.dropListeners()) >= 2, "the API node's and the worker's LISTEN connections");
    const r = await d.call('POST', `/v1/instances/tasks/${t}/cancel`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await d.settled(t, 20_000);
    assert.equal((await d.jobs(t))[0]?.error_code, 'KOOPHONE.JOB.1004');
    assert.equal((await d.journal()).find((e) => e.command === 'sleep 60')?.end, 'closed', 'the remote shell was hung up on');
  });

  test("a worker's port serves the operator's routes only: health, readiness and its metrics", async () => {
    const d = await deployment(['z']);
    const w = await d.worker();
    const ops = d.opsUrl.get(w)!;
    const t = await d.submit('echo counted');
    await d.settled(t);
    assert.equal((await request(ops, 'GET', '/healthz', undefined, {})).status, 200);
    assert.equal((await request(ops, 'GET', '/readyz', undefined, {})).status, 200);
    assert.equal((await request(ops, 'GET', '/metrics', undefined, {})).status, 401, 'the admin token guards it');
    const scraped = await fetch(`${ops}/metrics`, { headers: { authorization: `Bearer ${d.adminToken}` } });
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /^adbfleet_jobs_finished_total\{.*\} 1$/m, "the worker's own job counters");
    for (const [method, path] of [['GET', '/v1/instances/tasks'], ['GET', '/admin/v1/tenants'], ['GET', '/openapi.json']] as const) {
      const r = await request(ops, method, path, undefined, { 'x-request-id': randomUUID(), authorization: `Bearer ${d.adminToken}` });
      assert.equal(r.status, 404, `${method} ${path}`);
    }
  });
});
