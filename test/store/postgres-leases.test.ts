// Instance leases on PostgreSQL (src/store/postgres/leases.ts): several Store objects on one schema
// are several workers. Rounds are given their `now`, so a lease lapses without waiting for it.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type QueuedJob, type Store, type WorkerLeases } from '../../src/store/index.js';
import { until } from '../support/index.js';
import { freshPostgres, PgOpened, postgresSkipReason, type PostgresSchema } from '../support/postgres.js';
import { newTask, succeeded, tenantWithInstances, type Fixture } from './conformance/fixtures.js';

const LEASE_MS = 10_000;
const pgs = new PgOpened();
after(() => pgs.close());



/** A worker: its own store on the schema, joined with these zones. */
async function worker(at: PostgresSchema, name: string, zones: string[] | null = null): Promise<{ store: Store; leases: WorkerLeases }> {
  const store = await pgs.store(at);
  const leases = store.joinAsWorker({ workerId: name, zones, leaseMs: LEASE_MS });
  assert.ok(leases !== null);
  return { store, leases };
}

/** Every queued job, read by a store that is no worker (no lease filter). */
async function allQueued(admin: Store): Promise<QueuedJob[]> {
  return admin.queuedJobs(0, 10_000);
}

async function instanceKeys(admin: Store, f: Fixture): Promise<number[]> {
  const t = await admin.createTask(newTask(f, { command: 'probe' }));
  const jobs = (await allQueued(admin)).filter((j) => j.taskKey === t.taskKey);
  await admin.cancelTask(f.tenantKey, t.taskId, Date.now());
  return jobs.map((j) => j.instanceKey).sort((a, b) => a - b);
}

function disjoint(...sets: number[][]): boolean {
  const all = sets.flat();
  return new Set(all).size === all.length;
}

describe('PostgreSQL worker leases', { skip: postgresSkipReason ?? false }, () => {
  test('a store joins as a worker once', async () => {
    const at = await freshPostgres();
    const s = await pgs.store(at);
    s.joinAsWorker({ workerId: 'w', zones: null, leaseMs: LEASE_MS });
    assert.throws(() => s.joinAsWorker({ workerId: 'w2', zones: null, leaseMs: LEASE_MS }), /already joined as worker w/);
  });

  test('two workers share the instances of their zone: fair shares, disjoint, all covered', async () => {
    const at = await freshPostgres();
    const admin = await pgs.store(at);
    const f = await tenantWithInstances(admin, 5);
    const keys = await instanceKeys(admin, f);
    const a = await worker(at, 'a');
    const b = await worker(at, 'b');
    const now = Date.now();
    const a1 = await a.leases.round(now);
    assert.deepEqual(a1.held, keys, 'alone, a takes every instance');
    assert.deepEqual(a1.acquired, keys);
    const b1 = await b.leases.round(now);
    assert.deepEqual(b1.held, [], 'nothing is free yet');
    const a2 = await a.leases.round(now + 1);
    assert.deepEqual(a2.held, keys.slice(0, 3), 'a keeps its share, ceil(5 / 2), and frees the highest keys');
    assert.deepEqual(a2.lost, keys.slice(3));
    const b2 = await b.leases.round(now + 1);
    assert.deepEqual(b2.held, keys.slice(3));
    assert.deepEqual(b2.acquired, keys.slice(3));
    // Stable from here: further rounds change nothing.
    const [a3, b3] = await Promise.all([a.leases.round(now + 2), b.leases.round(now + 2)]);
    assert.deepEqual([a3.acquired, a3.lost, b3.acquired, b3.lost], [[], [], [], []]);
    assert.ok(disjoint(a3.held, b3.held));
    assert.equal(a3.held.length + b3.held.length, keys.length);
  });

  test('a worker reads and starts only the jobs of the instances it holds', async () => {
    const at = await freshPostgres();
    const admin = await pgs.store(at);
    const f = await tenantWithInstances(admin, 4);
    const a = await worker(at, 'a');
    const b = await worker(at, 'b');
    const now = Date.now();
    await a.leases.round(now);
    await b.leases.round(now);
    const aHeld = (await a.leases.round(now + 1)).held;
    const bHeld = (await b.leases.round(now + 1)).held;
    assert.deepEqual([aHeld.length, bHeld.length], [2, 2]);
    const t = await admin.createTask(newTask(f));
    const aJobs = await a.store.queuedJobs(0, 100);
    const bJobs = await b.store.queuedJobs(0, 100);
    assert.ok(aJobs.every((j) => aHeld.includes(j.instanceKey)) && aJobs.length === 2);
    assert.ok(bJobs.every((j) => bHeld.includes(j.instanceKey)) && bJobs.length === 2);
    const all = t.jobs.map((j) => j.jobKey);
    assert.deepEqual((await a.store.markRunning(all, Date.now())).sort(), aJobs.map((j) => j.jobKey).sort(), "b's jobs do not move for a");
    assert.deepEqual((await b.store.markRunning(all, Date.now())).sort(), bJobs.map((j) => j.jobKey).sort());
  });

  test('a lapsed lease: the running jobs of its instance fail 1006 once, its queued jobs go to the next holder', async () => {
    const at = await freshPostgres();
    const admin = await pgs.store(at);
    const f = await tenantWithInstances(admin, 2);
    const now = Date.now();
    const a = await worker(at, 'a');
    assert.equal((await a.leases.round(now)).held.length, 2);
    const first = await admin.createTask(newTask(f, { command: 'first' }));
    const second = await admin.createTask(newTask(f, { command: 'second' }));
    const running = first.jobs.map((j) => j.jobKey);
    assert.deepEqual(await a.store.markRunning(running, now), running);
    // a stops renewing (it died). b and c come after the lease lapsed, at the same time.
    const later = now + LEASE_MS + 1;
    const b = await worker(at, 'b');
    const c = await worker(at, 'c');
    const [rb, rc] = await Promise.all([b.leases.round(later), c.leases.round(later)]);
    assert.equal(rb.interrupted + rc.interrupted, 2, 'each running job failed once, by whichever got there first');
    const view = await admin.getTask(f.tenantKey, first.taskId);
    assert.deepEqual(view?.jobs.map((j) => [j.state, j.errorCode]), [['failed', 'KOOPHONE.JOB.1006'], ['failed', 'KOOPHONE.JOB.1006']]);
    // The queued jobs are the new holders' now, one instance each once the shares settle: the
    // one that took both frees its surplus in a round, the other claims it in its next.
    for (const w of [b, c, b, c]) await w.leases.round(later + 1);
    const [rb2, rc2] = [await b.leases.round(later + 2), await c.leases.round(later + 2)];
    assert.deepEqual([rb2.held.length, rc2.held.length], [1, 1], JSON.stringify({ rb, rc, rb2, rc2 }));
    assert.ok(disjoint(rb2.held, rc2.held));
    const queued = [...(await b.store.queuedJobs(0, 100)), ...(await c.store.queuedJobs(0, 100))].map((j) => j.jobKey).sort((x, y) => x - y);
    assert.deepEqual(queued, second.jobs.map((j) => j.jobKey));
    // a wakes up: its leases are gone, and it cannot start what it no longer holds.
    const ra = await a.leases.round(later + 3);
    assert.deepEqual(ra.lost.length, 2);
    assert.deepEqual(await a.store.markRunning(second.jobs.map((j) => j.jobKey), later + 3), []);
    // Its late result changes nothing: the job stays failed 1006.
    await a.store.finishJobs([succeeded(running[0]!, 'too late')]);
    assert.equal((await admin.getTask(f.tenantKey, first.taskId))?.jobs[0]?.errorCode, 'KOOPHONE.JOB.1006');
  });

  test('a lapsed lease nobody took back is still the worker\'s; one taken back and claimed again is a new lease', async () => {
    const at = await freshPostgres();
    const admin = await pgs.store(at);
    const f = await tenantWithInstances(admin, 1);
    const a = await worker(at, 'a');
    const now = Date.now();
    const [key] = (await a.leases.round(now)).held;
    const t = await admin.createTask(newTask(f));
    // Past its lease, before anyone rescued it: a still starts jobs there, and its round keeps it.
    const later = now + LEASE_MS + 1;
    assert.deepEqual(await a.store.markRunning([t.jobs[0]!.jobKey], later), [t.jobs[0]!.jobKey]);
    const kept = await a.leases.round(later);
    assert.deepEqual([kept.held, kept.acquired, kept.lost], [[key], [], []]);
    // Rescued by a worker of another zone (it frees the instance, claims nothing), then claimed
    // back by a: lost and acquired at once, so its lane starts over and reads the queue afresh.
    const b = await worker(at, 'b', ['elsewhere']);
    const rescued = await b.leases.round(later + LEASE_MS + 1);
    assert.equal(rescued.interrupted, 1, "a's running job failed 1006");
    const back = await a.leases.round(later + LEASE_MS + 2);
    assert.deepEqual([back.held, back.acquired, back.lost], [[key], [key], [key]]);
  });

  test('after a gap in its rounds (the database out of reach) a worker rescues nothing for a lease: the others renew theirs first', async () => {
    const at = await freshPostgres();
    const admin = await pgs.store(at);
    const f = await tenantWithInstances(admin, 2);
    const [a, b] = [await worker(at, 'a'), await worker(at, 'b')];
    const now = Date.now();
    const step = Math.floor(LEASE_MS / 3);
    let rb = await b.leases.round(now);
    for (const w of [a, b, a]) await w.leases.round(now + 1);
    rb = await b.leases.round(now + 2);
    assert.equal(rb.held.length, 1, JSON.stringify(rb));
    const t = await admin.createTask(newTask(f));
    const bJob = (await admin.queuedJobs(0, 100)).find((j) => rb.held.includes(j.instanceKey))!.jobKey;
    const stateOf = async (jobKey: number) => {
      const jobId = t.jobs.find((j) => j.jobKey === jobKey)?.jobId;
      return (await admin.getTask(f.tenantKey, t.taskId))?.jobs.find((j) => j.jobId === jobId)?.state;
    };
    assert.deepEqual(await b.store.markRunning([bJob], now + 2), [bJob]);
    // Nobody reached the database for longer than a lease: b's lease lapsed with a's. a comes back
    // first and leaves b's alone; b renews it.
    const back = now + 2 + LEASE_MS + 1;
    assert.equal((await a.leases.round(back)).interrupted, 0, "b's running job left alone");
    const renewed = await b.leases.round(back + 1);
    assert.deepEqual([renewed.held, renewed.lost], [rb.held, []]);
    assert.equal(await stateOf(bJob), 'running');
    // b dies now. a, renewing steadily, rescues it once its quiet lease is over and b's lapsed.
    let interrupted = 0;
    for (let at = back + step; interrupted === 0 && at <= back + 1 + 2 * LEASE_MS; at += step) interrupted = (await a.leases.round(at)).interrupted;
    assert.equal(interrupted, 1, "b's running job failed 1006 once b was gone for a lease");
    assert.equal(await stateOf(bJob), 'failed');
  });

  test('a worker with zones claims only instances of those zones; the others stay free for theirs', async () => {
    const at = await freshPostgres();
    const admin = await pgs.store(at);
    const t = await admin.createTenant('zones');
    for (const [i, zone] of ['a', 'a', 'b', 'b', 'b'].entries()) {
      await admin.createInstance({ instanceId: `z${i}`, adbAddress: `127.0.0.1:${6000 + i}`, instanceName: 'n', zone, tenantId: t.tenantId });
    }
    const wa = await worker(at, 'wa', ['a']);
    const wb = await worker(at, 'wb', ['b']);
    const now = Date.now();
    const ra = await wa.leases.round(now);
    const rb = await wb.leases.round(now);
    const zoneOf = new Map(
      (await admin.listTargets()).map((x) => [x.instanceKey, x.instanceId === 'z0' || x.instanceId === 'z1' ? 'a' : 'b']),
    );
    assert.deepEqual(ra.held.map((k) => zoneOf.get(k)), ['a', 'a'], 'zone a alone, though alone it could take more');
    assert.deepEqual(rb.held.map((k) => zoneOf.get(k)), ['b', 'b', 'b']);
    // A worker of every zone shares each zone with that zone's worker: ceil(2 / 2) = 1 of a,
    // ceil(3 / 2) = 2 of b. The zone workers free their surplus, the new one claims it.
    const all = await worker(at, 'all');
    await all.leases.round(now + 1);
    const rb2 = await wb.leases.round(now + 1);
    const ra2 = await wa.leases.round(now + 1);
    const rall = await all.leases.round(now + 2);
    assert.deepEqual(ra2.held.map((k) => zoneOf.get(k)), ['a']);
    assert.deepEqual(rb2.held.map((k) => zoneOf.get(k)), ['b', 'b']);
    assert.deepEqual(rall.held.map((k) => zoneOf.get(k)), ['a', 'b']);
  });

  test('workers with overlapping zone sets hold every instance between them, shared zone by zone', async () => {
    const at = await freshPostgres();
    const admin = await pgs.store(at);
    const t = await admin.createTenant('overlap');
    const zones = [...Array<string>(10).fill('a'), 'b', 'b'];
    for (const [i, zone] of zones.entries()) {
      await admin.createInstance({ instanceId: `o${i}`, adbAddress: `127.0.0.1:${6100 + i}`, instanceName: 'n', zone, tenantId: t.tenantId });
    }
    const zoneOf = new Map((await admin.listTargets()).map((x) => [x.instanceKey, zones[Number(x.instanceId.slice(1))]]));
    const all = await worker(at, 'all');
    const wb = await worker(at, 'wb', ['b']);
    const now = Date.now();
    let held: number[][] = [];
    for (let i = 0; i < 4; i++) held = [(await all.leases.round(now + i)).held, (await wb.leases.round(now + i)).held];
    const [ofAll, ofB] = held as [number[], number[]];
    assert.ok(disjoint(ofAll, ofB));
    assert.equal(ofAll.length + ofB.length, 12, 'no instance is left without a worker');
    assert.deepEqual(ofB.map((k) => zoneOf.get(k)), ['b'], "zone b's worker holds its share of b");
    assert.deepEqual(ofAll.map((k) => zoneOf.get(k)).sort(), [...Array<string>(10).fill('a'), 'b']);
  });

  test('forfeit gives the leases up locally; the next round reports those still held as acquired', async () => {
    const at = await freshPostgres();
    const admin = await pgs.store(at);
    await tenantWithInstances(admin, 2);
    const a = await worker(at, 'a');
    const now = Date.now();
    const held = (await a.leases.round(now)).held;
    assert.deepEqual(a.leases.forfeit(), held);
    assert.equal(a.leases.held().size, 0);
    const back = await a.leases.round(now + 1);
    assert.deepEqual([back.held, back.acquired, back.lost], [held, held, []]);
  });

  test('queuedJobsOf: the held instances\' queued jobs in a key range, oldest first', async () => {
    const at = await freshPostgres();
    const admin = await pgs.store(at);
    const f = await tenantWithInstances(admin, 2);
    const a = await worker(at, 'a');
    const held = (await a.leases.round(Date.now())).held;
    const tasks = [await admin.createTask(newTask(f)), await admin.createTask(newTask(f)), await admin.createTask(newTask(f))];
    const keys = tasks.flatMap((t) => t.jobs.map((j) => j.jobKey));
    const of0 = tasks.flatMap((t) => t.jobs.filter((_, i) => i === 0).map((j) => j.jobKey));
    const jobs = await a.leases.queuedJobsOf([held[0]!], 0, keys.at(-1)!, 100);
    assert.deepEqual(jobs.map((j) => j.jobKey), of0);
    assert.deepEqual((await a.leases.queuedJobsOf([held[0]!], of0[0]!, of0[1]!, 100)).map((j) => j.jobKey), [of0[1]]);
    assert.deepEqual((await a.leases.queuedJobsOf(held, 0, keys.at(-1)!, 2)).map((j) => j.jobKey), keys.slice(0, 2));
    assert.deepEqual(await a.leases.queuedJobsOf(held, 5, 5, 10), []);
  });

  test("readQueue: a worker's cursor moves past the other workers' jobs it skipped", async () => {
    const at = await freshPostgres();
    const admin = await pgs.store(at);
    const f = await tenantWithInstances(admin, 2);
    const a = await worker(at, 'a');
    // b has joined but holds nothing (it has not run a round): every job is a's.
    const b = await worker(at, 'b');
    assert.equal((await a.leases.round(Date.now())).held.length, 2);
    const tasks = [await admin.createTask(newTask(f)), await admin.createTask(newTask(f))];
    const last = tasks[1]!.jobs.at(-1)!.jobKey;
    const read = await b.leases.readQueue(0, 100);
    assert.deepEqual(read.jobs, []);
    assert.ok(read.scannedTo >= last, `scanned to ${read.scannedTo}, past ${last}`);
    const mine = await a.leases.readQueue(0, 3);
    assert.equal(mine.jobs.length, 3);
    assert.equal(mine.scannedTo, mine.jobs[2]!.jobKey, 'a full page: as far as its last job');
  });

  test('health: the holder stores what it measures, any node reads it; a reboot asked is taken once by the holder', async () => {
    const at = await freshPostgres();
    const admin = await pgs.store(at);
    const f = await tenantWithInstances(admin, 2);
    const keys = await instanceKeys(admin, f);
    const a = await worker(at, 'a');
    const b = await worker(at, 'b');
    const now = Date.now();
    await a.leases.round(now);
    await b.leases.round(now);
    const aHeld = (await a.leases.round(now + 1)).held;
    const bHeld = (await b.leases.round(now + 1)).held;
    assert.deepEqual([aHeld.length, bHeld.length], [1, 1]);
    const health = admin.sharedHealth()!;
    const read = async () => new Map((await health.read()).map((r) => [r.instanceId, r.status]));
    assert.deepEqual([...(await read()).values()], [0, 0], 'unknown until measured');
    // a writes for both: only its own instance takes it.
    await a.leases.recordHealth(keys.map((k) => ({ instanceKey: k, status: 3 })), now);
    await b.leases.recordHealth([{ instanceKey: bHeld[0]!, status: 2 }], now);
    const idOf = new Map((await admin.listTargets()).map((t) => [t.instanceKey, t.instanceId]));
    assert.equal((await read()).get(idOf.get(aHeld[0]!)!), 3);
    assert.equal((await read()).get(idOf.get(bHeld[0]!)!), 2, "a's write did not touch b's instance");
    // A reboot asked by an API node: shown starting at once, taken once, by the holder only.
    const heard: string[] = [];
    b.store.changes.onInstancesChanged((c) => heard.push(...c.instanceIds));
    assert.equal(await health.requestReboot(bHeld[0]!, now + 2), true);
    assert.equal((await read()).get(idOf.get(bHeld[0]!)!), 4);
    await until('the holder hears of it', () => heard.includes(idOf.get(bHeld[0]!)!));
    assert.deepEqual(await a.leases.takeReboots(), []);
    assert.deepEqual(await b.leases.takeReboots(), [bHeld[0]]);
    assert.deepEqual(await b.leases.takeReboots(), [], 'once');
    await admin.deleteInstance(idOf.get(aHeld[0]!)!);
    assert.equal(await health.requestReboot(aHeld[0]!, now + 3), false, 'a deleted instance');
  });

  test('cancelRequested: a running job whose task was cancelled on another node says so', async () => {
    const at = await freshPostgres();
    const admin = await pgs.store(at);
    const f = await tenantWithInstances(admin, 2);
    const a = await worker(at, 'a');
    await a.leases.round(Date.now());
    const t = await admin.createTask(newTask(f));
    const other = await admin.createTask(newTask(f));
    const keys = [...t.jobs, ...other.jobs].map((j) => j.jobKey);
    await a.store.markRunning([t.jobs[0]!.jobKey, other.jobs[0]!.jobKey], Date.now());
    assert.deepEqual(await a.leases.cancelRequested(keys), []);
    const res = await admin.cancelTask(f.tenantKey, t.taskId, Date.now());
    assert.deepEqual(res?.running, [t.jobs[0]!.jobKey]);
    assert.deepEqual(await a.leases.cancelRequested(keys), [t.jobs[0]!.jobKey], 'the running one only; queued ones are cancelled outright');
  });

  test('leave frees every lease at once; orphaned running jobs fail 1006 when their instance is claimed', async () => {
    const at = await freshPostgres();
    const admin = await pgs.store(at);
    const f = await tenantWithInstances(admin, 2);
    const a = await worker(at, 'a');
    const now = Date.now();
    await a.leases.round(now);
    const t = await admin.createTask(newTask(f));
    await a.store.markRunning([t.jobs[0]!.jobKey], now);
    // a stops without writing the result (the store refused it), then leaves.
    await a.leases.leave();
    const b = await worker(at, 'b');
    const rb = await b.leases.round(now + 1);
    assert.equal(rb.held.length, 2, 'no wait for a lapse');
    assert.equal(rb.interrupted, 1);
    assert.deepEqual((await admin.getTask(f.tenantKey, t.taskId))?.jobs.map((j) => j.state), ['failed', 'queued']);
  });

  test('a batch of starts waiting on a lock holds up neither the round nor a health update (they deadlocked)', async () => {
    const at = await freshPostgres();
    const admin = await pgs.store(at);
    const f = await tenantWithInstances(admin, 2);
    const w = await worker(at, 'w');
    await w.leases.round(Date.now());
    const t = await admin.createTask(newTask(f));
    const keys = t.jobs.map((j) => j.jobKey);
    // The starts lock both instance rows, then wait on the second job's row, held here.
    const holder = await pgs.client(at);
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE', [keys[1]]);
    const starting = w.store.markRunning(keys, Date.now());
    try {
      await until('the starts wait', async () => (await holder.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).rowCount === 1);
      const held = (ms: number) => new Promise<'held up'>((r) => setTimeout(() => r('held up'), ms).unref());
      const round = await Promise.race([w.leases.round(Date.now()), held(15_000)]);
      assert.notEqual(round, 'held up', 'the round waited for the starts');
      const instances = (await admin.queuedJobs(0, 10)).map((j) => j.instanceKey);
      const health = await Promise.race([w.leases.recordHealth(instances.map((k) => ({ instanceKey: k, status: 2 })), Date.now()), held(15_000)]);
      assert.notEqual(health, 'held up', 'the health update waited for the starts');
    } finally {
      await holder.query('ROLLBACK');
    }
    assert.deepEqual(await starting, keys);
  });

  test('many rounds of three workers at once never give an instance two holders', async () => {
    const at = await freshPostgres();
    const admin = await pgs.store(at);
    const f = await tenantWithInstances(admin, 10);
    const keys = await instanceKeys(admin, f);
    const ws = [await worker(at, 'a'), await worker(at, 'b'), await worker(at, 'c')];
    const now = Date.now();
    let last: number[][] = [];
    for (let i = 0; i < 15; i++) {
      const rounds = await Promise.all(ws.map((w) => w.leases.round(now + i)));
      last = rounds.map((r) => r.held);
      assert.ok(disjoint(...last), `round ${i}: ${JSON.stringify(last)}`);
    }
    assert.deepEqual(last.flat().sort((x, y) => x - y), keys, 'settled: every instance held');
    assert.ok(last.every((h) => h.length <= 4), `none past its share, ceil(10 / 3): ${last.map((h) => h.length).join(', ')}`);
  });
});
