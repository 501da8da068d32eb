// Faults on a scaled-out deployment, all real (issue #10 §4): PostgreSQL, two API nodes, three
// workers in two zones (a: two workers, b: one), a simulator process per zone with its journal,
// 200 tasks of 100 jobs submitted through both API nodes while, mid-run, a zone-a worker is killed
// with -9, PostgreSQL is restarted as a crash would (`pg_ctl restart -m immediate`) and an API node
// is killed with -9. A client retries a request that failed (reset, 5xx) on the other node with
// the same request id. Then: every task answered 200 exists with all its jobs, once; every job is
// final; the journals show no command run twice; the jobs running on the killed worker ended 1006
// and its queued ones ran after it died, on the other zone-a worker.
// ADBFLEET_TEST_LOGS=<dir> keeps each service process's log there (<dir>/a1.log ...).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { request, startServeProcess, startSimProcess, startWorkerProcess, until, type Child, type JobJson } from '../support/index.js';
import { freshDatabase, postgresSkipReason, restartCluster } from '../support/postgres.js';

const PER_ZONE = 100;
const TASKS = 200;
/** Task k's command: the journal tells the tasks apart by it (a command allows no `;`, so the
 * task is in the digits); long enough that every instance is running a job at each fault. */
const commandOf = (k: number): string => `sleep 0.2${String(k).padStart(3, '0')}`;
const OURS = /^sleep 0\.2\d{3}$/;
/** a client's pause between its submissions: the 200 spread over the faults */
const SUBMIT_PAUSE_MS = 80;
/** a request the client gives up on and retries elsewhere */
const REQUEST_TIMEOUT_MS = 15_000;

interface JournalRow {
  serial: string;
  command: string;
  startedAt: number;
  end: string;
  exitCode: number | null;
}

interface Answer {
  requestId: string;
  taskId: string;
  attempts: number;
}

type Sim = Awaited<ReturnType<typeof startSimProcess>>;

const children: Child[] = [];
const dirs: string[] = [];
/** cleared when the test ends, passed or not: the clients and the sampler stop */
let running = true;
after(async () => {
  running = false;
  for (const c of children) await c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A process of the deployment: killed at the end; its log kept if ADBFLEET_TEST_LOGS says where. */
function adopt(name: string, c: Child): Child {
  children.push(c);
  const dir = process.env.ADBFLEET_TEST_LOGS;
  if (dir !== undefined) {
    const f = createWriteStream(join(dir, `${name}.log`));
    c.proc.stdout!.on('data', (d: Buffer) => f.write(d));
    c.proc.stderr!.on('data', (d: Buffer) => f.write(d));
  }
  return c;
}

/** A data directory of its own per process, as on separate hosts. */
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'adbfleet-pgf-'));
  dirs.push(d);
  return d;
}

const journal = async (sim: Sim): Promise<JournalRow[]> =>
  ((await (await fetch(`${sim.control}/journal`)).json()) as JournalRow[]).filter((r) => OURS.test(r.command));

/** The simulators, the API nodes, a tenant owning every instance (zone a on one simulator, b on
 * the other) and the workers. Each process names its PostgreSQL connections (PGAPPNAME). */
async function deploy(url: string, db: pg.Pool) {
  const adminToken = `adm_${randomUUID()}`;
  const env = { ADBFLEET_DATABASE_URL: url, ADBFLEET_ADMIN_TOKEN: adminToken, ADBFLEET_RATE_LIMIT: '0', ADBFLEET_LEASE_SECONDS: '3', ADBFLEET_LOG_LEVEL: 'info' };
  const [simA, simB] = await Promise.all([startSimProcess(PER_ZONE), startSimProcess(PER_ZONE)]);
  children.push(simA.child, simB.child);
  const apiNode = async (name: string) => {
    const n = await startServeProcess({ ...env, ADBFLEET_DATA: dataDir(), ADBFLEET_ROLE: 'api', PGAPPNAME: name });
    adopt(name, n.child);
    return n;
  };
  const [api1, api2] = [await apiNode('api1'), await apiNode('api2')];
  const admin = (method: string, path: string, body?: unknown) => request(api1.url, method, `/admin/v1${path}`, body, { authorization: `Bearer ${adminToken}` });
  const tenant = await admin('POST', '/tenants', { name: 'fault' });
  assert.equal(tenant.status, 200);
  const zoneIds = (zone: string) => Array.from({ length: PER_ZONE }, (_, i) => `${zone}-${String(i).padStart(3, '0')}`);
  const ids = { a: zoneIds('a'), b: zoneIds('b') };
  const serialOf = new Map<string, string>();
  const instances: Array<{ instance_id: string; adb_address: string; zone: string; tenant_id: string }> = [];
  for (const [zone, sim] of [['a', simA], ['b', simB]] as const) {
    const listed = (await (await fetch(`${sim.control}/instances`)).json()) as Array<{ serial: string; address: string }>;
    for (const [i, inst] of listed.entries()) {
      const id = ids[zone][i]!;
      serialOf.set(id, inst.serial);
      instances.push({ instance_id: id, adb_address: inst.address, zone, tenant_id: tenant.body.tenant_id });
    }
  }
  const bulk = await admin('POST', '/instances/bulk', { instances });
  assert.equal(bulk.status, 200, JSON.stringify(bulk.body));

  const worker = async (name: string, zone: string) =>
    adopt(name, (await startWorkerProcess({ ...env, ADBFLEET_DATA: dataDir(), PGAPPNAME: name }, ['--zones', zone])).child);
  const [a1, a2, b1] = await Promise.all([worker('a1', 'a'), worker('a2', 'a'), worker('b1', 'b')]);
  const workers = new Map([['a1', a1], ['a2', a2], ['b1', b1]]);
  /** worker name -> its id (host:pid:random), as its leases name it */
  const workerIds = new Map<string, string>();
  const nameOf = (owner: string): string => {
    const pid = owner.split(':').at(-2);
    const name = [...workers].find(([, c]) => String(c.proc.pid) === pid)?.[0];
    if (name !== undefined) workerIds.set(name, owner);
    return name ?? owner;
  };
  /** worker name -> the instances it leases */
  const owners = async (): Promise<Map<string, string[]>> => {
    const rows = (await db.query<{ owner: string; id: string }>('SELECT lease_owner AS owner, instance_id AS id FROM instances WHERE lease_owner IS NOT NULL ORDER BY instance_id')).rows;
    const m = new Map<string, string[]>();
    for (const r of rows) m.set(nameOf(r.owner), [...(m.get(nameOf(r.owner)) ?? []), r.id]);
    return m;
  };
  await until('the workers share the zones', async () => {
    const o = await owners();
    return o.get('a1')?.length === PER_ZONE / 2 && o.get('a2')?.length === PER_ZONE / 2 && o.get('b1')?.length === PER_ZONE;
  }, 30_000, 100);
  return { simA, simB, api1, api2, token: tenant.body.token as string, ids, serialOf, a1, owners, workerIds };
}

/** Two clients, one per API node, submitting TASKS tasks (task k: every other instance of each
 * zone), each retrying a request that failed on the other node with the same request id. */
function submitting(nodes: string[], token: string, ids: { a: string[]; b: string[] }) {
  const refused = new Set<string>();
  const answers: Answer[] = [];
  let failed: unknown = null;
  const submit = async (k: number): Promise<Answer> => {
    const requestId = randomUUID();
    const half = k % 2;
    const instanceIds = [...ids.a.filter((_, i) => i % 2 === half), ...ids.b.filter((_, i) => i % 2 === half)];
    const body = JSON.stringify({ command: commandOf(k), instance_ids: instanceIds });
    let node = nodes[k % 2]!;
    for (let attempt = 1; ; attempt++) {
      if (refused.has(node)) node = nodes.find((n) => !refused.has(n))!;
      let status = 0;
      let text = '';
      try {
        const res = await fetch(`${node}/v1/instances/async-command`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-auth-token': token, 'x-request-id': requestId },
          body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        status = res.status;
        text = await res.text();
      } catch (err) {
        // A node that refuses connections is down: a client (or its balancer) stops trying it.
        if (((err as Error).cause as { code?: string } | undefined)?.code === 'ECONNREFUSED') refused.add(node);
      }
      if (status === 200) return { requestId, taskId: (JSON.parse(text) as { data: { task_id: string } }).data.task_id, attempts: attempt };
      assert.ok(status === 0 || status >= 500, `task ${k} on ${node}: ${status} ${text}`);
      assert.ok(attempt < 100 && running, `task ${k}: ${attempt} attempts, the last ${status} ${text}`);
      node = nodes.find((n) => n !== node)!;
      await pause(100);
    }
  };
  const done = Promise.all(
    [0, 1].map(async (c) => {
      try {
        for (let k = c; k < TASKS && running; k += 2) {
          answers[k] = await submit(k);
          await pause(SUBMIT_PAUSE_MS);
        }
      } catch (err) {
        failed ??= err;
      }
    }),
  );
  return {
    answers,
    done,
    /** requests answered 200 so far (a client's failure fails the waits on it) */
    answered(): number {
      if (failed !== null) throw failed;
      return answers.filter((a) => a !== undefined).length;
    },
  };
}

test('kill -9 a worker, restart PostgreSQL, kill -9 an API node during 20,000 jobs: nothing lost, nothing run twice', { skip: postgresSkipReason ?? false, timeout: 240_000 }, async () => {
  const began = Date.now();
  const url = await freshDatabase();
  const db = new pg.Pool({ connectionString: url, max: 2 });
  // The restart ends the pool's idle connections: the next query opens another.
  db.on('error', () => {});
  after(() => db.end());
  const d = await deploy(url, db);

  // A zone's instances are only ever leased by its workers: sampled through the whole run.
  const offZone: string[] = [];
  const sampler = (async () => {
    while (running) {
      const o = await d.owners().catch(() => null); // PostgreSQL restarting: the next sample
      for (const [name, held] of o ?? []) for (const id of held) if (id[0] !== name[0]) offZone.push(`${name} held ${id}`);
      await pause(200);
    }
  })();
  const clients = submitting([d.api1.url, d.api2.url], d.token, d.ids);

  // --- fault 1: kill -9 a zone-a worker while its instances run jobs ---
  await until('a quarter submitted', () => clients.answered() >= TASKS / 4, 60_000, 50);
  const a1Held = (await d.owners()).get('a1')!;
  const a1Serials = new Set(a1Held.map((id) => d.serialOf.get(id)));
  await until('a1 running jobs', async () => (await journal(d.simA)).some((r) => r.end === 'running' && a1Serials.has(r.serial)), 30_000, 50);
  await d.a1.kill('SIGKILL');
  const killedAt = Date.now();
  // Its backends end once they see the connection gone, after the statement in flight (a COMMIT
  // it sent still lands): from then on its jobs change only by the others' hands.
  await until("the killed worker's connections gone", async () => (await db.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'a1'")).rowCount === 0, 10_000, 10);
  const atKill = (
    await db.query<{ jobId: string; state: string }>(
      `SELECT j.job_id AS "jobId", j.state FROM jobs j JOIN instances i ON i.id = j.instance
       WHERE i.lease_owner = $1 AND j.state IN ('queued', 'running')`,
      [d.workerIds.get('a1')],
    )
  ).rows;
  assert.deepEqual((await d.owners()).get('a1'), a1Held, "the killed worker's leases had not lapsed yet when its jobs were read");
  const runningAtKill = new Set(atKill.filter((j) => j.state === 'running').map((j) => j.jobId));
  const queuedAtKill = new Set(atKill.filter((j) => j.state === 'queued').map((j) => j.jobId));
  assert.ok(runningAtKill.size > 0 && queuedAtKill.size > 0, `at the kill: ${runningAtKill.size} running, ${queuedAtKill.size} queued`);

  // --- fault 2: PostgreSQL crashes and restarts ---
  await until('half submitted', () => clients.answered() >= TASKS / 2, 60_000, 50);
  const restartBegan = Date.now();
  await restartCluster();
  const restarted = Date.now();
  // Recovered: each zone's simulator sees a job start after the server is back.
  const recovery = Promise.all(
    [d.simA, d.simB].map(async (sim) => {
      await until('a job started after the restart', async () => (await journal(sim)).some((r) => r.startedAt > restarted), 60_000, 50);
      return Date.now() - restarted;
    }),
  );

  // --- fault 3: kill -9 an API node mid-submission ---
  await until('three quarters submitted', () => clients.answered() >= (TASKS * 3) / 4, 60_000, 50);
  await d.api1.child.kill('SIGKILL');
  await clients.done;
  assert.equal(clients.answered(), TASKS);
  const recoveredMs = await recovery;

  let open: unknown[] = [];
  await until(
    () => `every job final: ${open.length} queued or running, e.g. ${JSON.stringify(open.slice(0, 5))}`,
    async () => {
      open = (
        await db.query(
          `SELECT j.job_id, j.state, j.started_at, i.instance_id, i.lease_owner FROM jobs j JOIN instances i ON i.id = j.instance
           WHERE j.state IN ('queued', 'running') ORDER BY j.id`,
        )
      ).rows;
      return open.length === 0;
    },
    90_000,
    200,
  );
  running = false;
  await sampler;

  // Every task answered 200 exists, read from the surviving node, with all its jobs, once.
  const jobs = new Map<string, JobJson & { task: number }>();
  for (const [k, a] of clients.answers.entries()) {
    const r = await request(d.api2.url, 'GET', `/v1/instances/tasks/${a.taskId}`, undefined, { 'x-auth-token': d.token, 'x-request-id': randomUUID() });
    assert.equal(r.status, 200, `task ${k} (${a.taskId}): ${JSON.stringify(r.body)}`);
    assert.equal(r.body.data.jobs.length, 100, `task ${k}`);
    for (const j of r.body.data.jobs as JobJson[]) jobs.set(j.job_id, { ...j, task: k });
  }
  assert.equal(jobs.size, TASKS * 100);
  const stored = (await db.query<{ requestId: string; taskId: string }>('SELECT request_id AS "requestId", task_id AS "taskId" FROM tasks')).rows;
  assert.equal(stored.length, TASKS, 'one task per request, retried or not');
  assert.deepEqual(new Map(stored.map((t) => [t.requestId, t.taskId])), new Map(clients.answers.map((a) => [a.requestId, a.taskId])));

  // The journals: each command at most once on each instance; a job that succeeded ran to its end
  // once, any other was interrupted (1006) and ran at most once.
  const runs = new Map<string, JournalRow[]>();
  for (const [zone, sim] of [['a', d.simA], ['b', d.simB]] as const) {
    for (const r of await journal(sim)) {
      const key = `${zone}|${r.serial}|${r.command}`;
      runs.set(key, [...(runs.get(key) ?? []), r]);
    }
  }
  for (const [key, rows] of runs) assert.equal(rows.length, 1, `${key} ran ${rows.length} times`);
  let interrupted = 0;
  for (const j of jobs.values()) {
    const run = runs.get(`${j.instance_id[0]}|${d.serialOf.get(j.instance_id)}|${commandOf(j.task)}`)?.[0];
    if (j.state === 'succeeded') {
      assert.deepEqual([run?.end, run?.exitCode], ['exit', 0], `${j.job_id} on ${j.instance_id} succeeded: it ran to its end once`);
    } else {
      assert.deepEqual([j.state, j.error_code], ['failed', 'KOOPHONE.JOB.1006'], `${j.job_id} on ${j.instance_id}: ${JSON.stringify(j)}`);
      interrupted++;
    }
    if (runningAtKill.has(j.job_id)) {
      assert.equal(j.error_code, 'KOOPHONE.JOB.1006', `${j.job_id} was running on the killed worker`);
      assert.ok(run === undefined || run.startedAt <= killedAt, `${j.job_id} was running on the killed worker: not run again`);
    }
    if (queuedAtKill.has(j.job_id)) {
      assert.equal(j.state, 'succeeded', `${j.job_id} was queued on the killed worker: ${JSON.stringify(j)}`);
      assert.ok(run!.startedAt > killedAt, `${j.job_id} ran after the kill`);
    }
  }
  // The killed worker's queued jobs ran elsewhere in their zone: zone b's worker never held a
  // zone-a instance, and the survivor holds them all.
  assert.deepEqual(offZone, []);
  const finalOwners = await d.owners();
  assert.deepEqual(finalOwners.get('a2'), d.ids.a);
  assert.deepEqual(finalOwners.get('b1'), d.ids.b);

  const retried = clients.answers.filter((a) => a.attempts > 1);
  process.stderr.write(
    `pg-fault: ${((Date.now() - began) / 1000).toFixed(1)} s; 1006: ${interrupted} (${runningAtKill.size} running on the killed worker); ` +
      `${queuedAtKill.size} queued on it ran on a2; requests retried: ${retried.length} (${retried.reduce((n, a) => n + a.attempts - 1, 0)} extra attempts); ` +
      `pg_ctl restart ${restarted - restartBegan} ms; jobs started again ${recoveredMs.join(' / ')} ms after it (zone a / b)\n`,
  );
});
