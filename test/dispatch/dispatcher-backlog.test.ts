// Bounded memory: the worker holds a window of each instance's queued jobs (and a bound on all of
// them); the rest stay in the store and are read as lanes drain. Tiny windows here, so that every
// path (spill, refill, starved lanes, the global reader racing a refill) runs many times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { createDispatcher, type Dispatcher } from '../../src/dispatch/index.js';
import type { CreatedTask, JobView, QueuedJob, Store } from '../../src/store/index.js';
import { until } from '../support/index.js';
import { fixture, type Fixture } from './setup.js';

const WINDOWS = { laneWindow: 2, maxHeldQueued: 6 };

/**
 * The store as the worker sees it, with slow queue reads: each reads at the call and answers up to
 * 15 ms later, as a database across a network would, so the global reader lags behind refills,
 * and jobs are committed, read and cancelled while refills are in flight (SQLite in process
 * answers at once, and its global reader reads each commit as it happens).
 * It also counts the keys handed to markRunning: the store refusing a job twice is its last
 * safety net, and the worker must not lean on it (a job is handed over once).
 */
function slowRefills(store: Store, handed: number[] = [], maxDelayMs = 16): Store {
  let seed = 3;
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'queuedJobsIn' || prop === 'queuedJobs') {
        const read = (prop === 'queuedJobs' ? target.queuedJobs : target.queuedJobsIn).bind(target) as (...args: unknown[]) => Promise<QueuedJob[]>;
        return async (...args: unknown[]) => {
          const rows = await read(...args);
          seed = (seed * 1103515245 + 12345) % 2 ** 31;
          if (maxDelayMs > 0) await new Promise((r) => setTimeout(r, Math.floor(seed / 65536) % maxDelayMs));
          return rows;
        };
      }
      if (prop === 'markRunning') {
        return (keys: readonly number[], now: number) => {
          handed.push(...keys);
          return target.markRunning(keys, now);
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** The keys handed to markRunning more than once. */
function twice(handed: readonly number[]): number[] {
  return handed.filter((k, i) => handed.indexOf(k) !== i);
}

/** The most queued jobs the dispatcher held at any sample (every millisecond or so). */
function sampleHeld(d: Dispatcher): () => number {
  let max = d.held;
  const timer = setInterval(() => (max = Math.max(max, d.held)), 1);
  return () => {
    clearInterval(timer);
    return Math.max(max, d.held);
  };
}

/** Queued jobs left in the store (the table, not the worker's view): every key these tests can
 * have made (each makes fewer than 10,000 jobs). */
async function leftQueued(f: Fixture): Promise<number> {
  return (await f.store.queuedJobsIn(Array.from({ length: 10_000 }, (_, i) => i + 1))).length;
}

/** Each instance ran exactly the jobs that started, once each, in submission (key) order. */
function assertRanInOrder(f: Fixture, tasks: readonly CreatedTask[], views: ReadonlyMap<string, JobView[]>): void {
  for (const [k, inst] of f.fleet.instances.entries()) {
    const id = f.ids[k]!;
    const started = tasks.filter((t) => views.get(t.taskId)!.some((j) => j.instanceId === id && j.startedAt !== null));
    assert.deepEqual(
      inst.journal().map((e) => e.command),
      started.map((t) => t.command),
      `what ${id} ran, in order, once each`,
    );
  }
}

test('tiny windows, instances going offline and coming back, random cancels: every job ends once, in order, held within bounds', async () => {
  const handed: number[] = [];
  const f = await fixture({ count: 4, config: { retryWindowMs: 30_000 }, windows: WINDOWS, dispatcherStore: (s) => slowRefills(s, handed) });
  const maxHeld = sampleHeld(f.dispatcher);
  try {
    f.fleet.instances[2]!.setFault({ kind: 'offline', ms: 600 });
    f.fleet.instances[3]!.setFault({ kind: 'offline', ms: 1_500 });
    let seed = 7;
    // the high bits of a linear congruential generator (its low bits repeat with a short period)
    const rand = (n: number): number => Math.floor((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 65536) % n;
    const tasks: CreatedTask[] = [];
    const cancelled = new Set<string>();
    for (let i = 0; i < 120; i++) {
      const targets = f.ids.filter(() => rand(3) !== 0);
      if (targets.length === 0) continue;
      tasks.push(await f.submit(`sleep 0.00${rand(8)}; echo t${i}`, targets));
      // Half the time the next submit follows at once; otherwise maybe a cancel, then a short
      // pause: the worker drains a little, lanes refill, and the next submits land while refills
      // are in flight.
      if (rand(2) === 0) continue;
      if (rand(6) === 0) {
        const victim = tasks[rand(tasks.length)]!;
        await f.tasks.cancel(f.tenantKey, victim.taskId);
        cancelled.add(victim.taskId);
      }
      await new Promise((r) => setTimeout(r, rand(8)));
    }
    assert.ok(cancelled.size > 0, 'some tasks were cancelled');
    const views = new Map<string, JobView[]>();
    for (const t of tasks) views.set(t.taskId, await f.finish(t, 20_000));
    const all = [...views.values()].flat();
    for (const j of all) {
      assert.ok(['succeeded', 'cancelled', 'failed'].includes(j.state), `job ${j.jobKey}: ${j.state} ${j.errorCode}`);
      if (j.state === 'failed') assert.equal(j.errorCode, 'KOOPHONE.JOB.1004', `job ${j.jobKey}: only a cancel fails a job here`);
    }
    assert.ok(all.filter((j) => j.state === 'succeeded').length > all.length / 2, 'most jobs ran');
    assert.ok(
      tasks.filter((t) => !cancelled.has(t.taskId)).every((t) => views.get(t.taskId)!.every((j) => j.state === 'succeeded')),
      'every job of a task not cancelled ran, the offline instances\' too',
    );
    assertRanInOrder(f, tasks, views);
    assert.deepEqual(twice(handed), [], 'no job was handed to markRunning twice');
    assert.equal(await leftQueued(f), 0, 'nothing is left queued in the store');
    assert.equal(f.dispatcher.held, 0, 'nothing is held once everything ran');
    assert.ok(maxHeld() <= WINDOWS.maxHeldQueued, `held at most ${WINDOWS.maxHeldQueued}`);
  } finally {
    maxHeld();
    await f.close();
  }
});

test('an offline instance with far more jobs than its window fails every one 1002, read in pages', async () => {
  const f = await fixture({ count: 2, config: { retryWindowMs: 2_000 }, windows: WINDOWS });
  const maxHeld = sampleHeld(f.dispatcher);
  try {
    f.fleet.instances[0]!.setFault({ kind: 'offline', ms: 600_000 });
    const tasks: CreatedTask[] = [];
    for (let i = 0; i < 25; i++) tasks.push(await f.submit(`echo o${i}`, [f.ids[0]!]));
    const online = await f.submit('echo on', [f.ids[1]!]);
    for (const t of tasks) {
      const [job] = await f.finish(t);
      assert.deepEqual([job!.state, job!.errorCode, job!.startedAt], ['failed', 'KOOPHONE.JOB.1002', null], `${t.command}`);
    }
    assert.equal((await f.finish(online))[0]!.state, 'succeeded', 'the other instance runs meanwhile');
    // Each job's window counts from its creation, not from when a page of the lane was read: all
    // fail within one window of each other (a window per page would spread them over 13).
    const finished = (await Promise.all(tasks.map((t) => f.finish(t)))).flat().map((j) => j.finishedAt!);
    const spread = Math.max(...finished) - Math.min(...finished);
    assert.ok(spread < f.config.retryWindowMs, `failed within one retry window of each other: ${spread} ms`);
    assert.equal(f.fleet.instances[0]!.journal().length, 0);
    // One lane: its window bounds what is held, never the 25.
    assert.ok(maxHeld() <= WINDOWS.laneWindow + 1, `held at most a window (and the other lane's job): ${maxHeld()}`);
    assert.equal(await leftQueued(f), 0);
  } finally {
    maxHeld();
    await f.close();
  }
});

test('a restart with a backlog larger than the windows runs all of it once, in order', async () => {
  const f = await fixture({ count: 3, windows: WINDOWS });
  let second: Dispatcher | null = null;
  let maxHeld = (): number => 0;
  try {
    const tasks: CreatedTask[] = [];
    for (let i = 0; i < 30; i++) tasks.push(await f.submit(`sleep 0.01; echo r${i}`, f.ids.filter((_, k) => (i + k) % 4 !== 0)));
    // Stop mid-backlog: what ran stays done, what is queued stays queued in the store.
    await f.finish(tasks[2]!);
    await f.dispatcher.stop(5_000);
    assert.ok((await leftQueued(f)) > WINDOWS.maxHeldQueued, 'the backlog outgrows the windows');
    second = createDispatcher({ store: slowRefills(f.store), pool: f.pool, config: f.config, ...WINDOWS });
    maxHeld = sampleHeld(second);
    await second.start();
    const views = new Map<string, JobView[]>();
    for (const t of tasks) views.set(t.taskId, await f.finish(t));
    assert.ok([...views.values()].flat().every((j) => j.state === 'succeeded'));
    assertRanInOrder(f, tasks, views);
    assert.equal(await leftQueued(f), 0);
    assert.ok(maxHeld() <= WINDOWS.maxHeldQueued);
  } finally {
    maxHeld(); // its timer would keep the test process alive
    await second?.stop(2_000);
    await f.close();
  }
});

/** Holds the answers of the worker's queue reads (each still reads at the call) until released. */
class Gate {
  readonly closed = { queuedJobs: false, queuedJobsIn: false };
  readonly calls = { queuedJobs: 0, queuedJobsIn: 0 };
  #waiting: (() => void)[] = [];

  open(): void {
    this.closed.queuedJobs = this.closed.queuedJobsIn = false;
    for (const w of this.#waiting.splice(0)) w();
  }

  wrap(store: Store, handed: number[]): Store {
    const inner = slowRefills(store, handed, 0);
    return new Proxy(inner, {
      get: (target, prop) => {
        if (prop !== 'queuedJobs' && prop !== 'queuedJobsIn') return Reflect.get(target, prop, target) as unknown;
        const read = (target[prop] as (...args: unknown[]) => Promise<QueuedJob[]>).bind(target);
        return async (...args: unknown[]) => {
          this.calls[prop]++;
          const held = this.closed[prop];
          const rows = await read(...args);
          if (held) await new Promise<void>((r) => this.#waiting.push(r));
          return rows;
        };
      },
    });
  }
}

/** Submits a command that runs until cancelled: the lane's slot stays busy and its queue waits
 * (held, not let go as an unreachable instance's would be). */
async function occupy(f: Fixture): Promise<CreatedTask> {
  const busy = await f.submit('sleep 600', f.ids);
  await until('the long job to run', () => f.fleet.instances[0]!.journal().length === 1);
  return busy;
}

test('a job committed while its lane refills waits behind the refill, and one cancelled during the refill is left out', async () => {
  const gate = new Gate();
  const handed: number[] = [];
  const f = await fixture({ count: 1, windows: { laneWindow: 3, maxHeldQueued: 100 }, dispatcherStore: (s) => gate.wrap(s, handed) });
  try {
    const busy = await occupy(f);
    const [a, b] = [await f.submit('echo a', f.ids), await f.submit('echo b', f.ids)];
    const [c, d] = [await f.submit('echo c', f.ids), await f.submit('echo d', f.ids)];
    await until('the lane to hold its window', () => f.dispatcher.held === 3);
    // a and b leave the lane: it refills (room for 2), and its read (d, the only key it noted) is
    // held back...
    gate.closed.queuedJobsIn = true;
    const reads = gate.calls.queuedJobsIn;
    await f.tasks.cancel(f.tenantKey, a.taskId);
    await f.tasks.cancel(f.tenantKey, b.taskId);
    await until('the refill to read', () => gate.calls.queuedJobsIn > reads);
    // ...while e is committed and reaches the global reader: the lane notes it behind the refill
    // rather than take it ahead of d.
    const globalReads = gate.calls.queuedJobs;
    const e = await f.submit('echo e', f.ids);
    await until('the global reader to pass e', () => gate.calls.queuedJobs > globalReads);
    assert.equal(f.dispatcher.held, 1, 'e was noted, not held');
    // and d, which the refill read, is cancelled before its answer arrives
    await f.tasks.cancel(f.tenantKey, d.taskId);
    gate.open();
    await f.tasks.cancel(f.tenantKey, busy.taskId);
    assert.equal((await f.finish(c))[0]!.state, 'succeeded');
    assert.equal((await f.finish(e, 10_000))[0]!.state, 'succeeded', 'e is read by a second refill');
    assert.deepEqual(f.fleet.instances[0]!.journal().map((j) => j.command), ['sleep 600', 'echo c', 'echo e']);
    assert.deepEqual(twice(handed), []);
    assert.ok(!handed.includes(d.jobs[0]!.jobKey), 'd, cancelled while the refill that read it was in flight, is not handed over');
  } finally {
    gate.open();
    await f.close();
  }
});

test('a refill whose read fails gives its keys back: they run once the read works, in order, once each', async () => {
  const handed: number[] = [];
  let failReads = 0;
  const f = await fixture({
    count: 1,
    windows: { laneWindow: 2, maxHeldQueued: 100 },
    dispatcherStore: (s) =>
      new Proxy(slowRefills(s, handed, 0), {
        get(target, prop) {
          if (prop !== 'queuedJobsIn') return Reflect.get(target, prop, target) as unknown;
          return async (keys: readonly number[]) => {
            if (failReads > 0) {
              failReads--;
              throw new Error('disk I/O error');
            }
            return target.queuedJobsIn(keys);
          };
        },
      }),
  });
  try {
    const busy = await occupy(f);
    const tasks: CreatedTask[] = [];
    for (const c of ['a', 'b', 'c', 'd', 'e']) tasks.push(await f.submit(`echo ${c}`, f.ids));
    await until('the lane to hold its window', () => f.dispatcher.held === 2);
    // The first two refill reads fail; the dispatcher's poll tries again.
    failReads = 2;
    await f.tasks.cancel(f.tenantKey, busy.taskId);
    for (const t of tasks) assert.equal((await f.finish(t, 10_000))[0]!.state, 'succeeded', t.command);
    assert.equal(failReads, 0, 'the failing reads happened');
    assert.deepEqual(f.fleet.instances[0]!.journal().map((j) => j.command), ['sleep 600', 'echo a', 'echo b', 'echo c', 'echo d', 'echo e']);
    assert.deepEqual(twice(handed), []);
    assert.equal(f.dispatcher.held, 0);
  } finally {
    await f.close();
  }
});

test('unreachable instances hold one queued job each, not a window: the room goes to instances that can run', async () => {
  // Two offline lanes with full windows would take all the room (2 x 3 = 6) until their retry
  // window (a minute) ran out; the online instance's jobs run meanwhile.
  const f = await fixture({ count: 3, config: { retryWindowMs: 60_000 }, windows: { laneWindow: 3, maxHeldQueued: 6 } });
  const maxHeld = sampleHeld(f.dispatcher);
  try {
    f.fleet.instances[0]!.setFault({ kind: 'offline', ms: 600_000 });
    f.fleet.instances[1]!.setFault({ kind: 'offline', ms: 600_000 });
    for (let i = 0; i < 8; i++) await f.submit(`echo off${i}`, [f.ids[0]!, f.ids[1]!]);
    const online: CreatedTask[] = [];
    for (let i = 0; i < 10; i++) online.push(await f.submit(`echo on${i}`, [f.ids[2]!]));
    for (const t of online) assert.equal((await f.finish(t, 20_000))[0]!.state, 'succeeded');
    assert.deepEqual(f.fleet.instances[2]!.journal().map((e) => e.command), online.map((t) => t.command));
    await until('the offline lanes to hold their head job each', () => f.dispatcher.held === 2);
    assert.ok(maxHeld() <= 6);
    // Back online: each runs its whole backlog, in order.
    f.fleet.instances[0]!.setFault(null);
    f.fleet.instances[1]!.setFault(null);
    // Nothing queued is not yet all run: the last job may be running, its command not yet in the
    // journal. The journals are what is asserted.
    const ran = () => [0, 1].every((k) => f.fleet.instances[k]!.journal().length >= 8);
    await until('the backlog to run', async () => (await leftQueued(f)) === 0 && f.dispatcher.held === 0 && ran(), 30_000);
    for (const k of [0, 1]) {
      assert.deepEqual(f.fleet.instances[k]!.journal().map((e) => e.command), Array.from({ length: 8 }, (_, i) => `echo off${i}`));
    }
  } finally {
    maxHeld();
    await f.close();
  }
});

test('stop() ends while the store refuses results and a refill waits for the writer to have room', async () => {
  // Over 1,024 results held (the store refuses them: a full disk) and a lane still noting keys:
  // its refill waits for the writer's room, which only a write or the writer's stop frees. The
  // dispatcher's stop() must not wait for that refill before it stops the writer.
  let refuseWrites = true;
  let refillReads = 0;
  const f = await fixture({
    count: 1,
    config: { retryWindowMs: 200 },
    windows: { laneWindow: 4, maxHeldQueued: 10_000 },
    dispatcherStore: (s) =>
      new Proxy(s, {
        get(target, prop) {
          if (prop === 'finishJobs') {
            return async (results: readonly unknown[]) => {
              if (refuseWrites) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
              return target.finishJobs(results as Parameters<Store['finishJobs']>[0]);
            };
          }
          if (prop === 'queuedJobsIn') {
            return (keys: readonly number[]) => {
              refillReads++;
              return target.queuedJobsIn(keys);
            };
          }
          const v: unknown = Reflect.get(target, prop, target);
          return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
        },
      }),
  });
  try {
    // Twelve instances nobody answers at: their connects are refused at once.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = srv.address() as AddressInfo;
        srv.close(() => resolve(p));
      });
    });
    const tenantId = (await f.store.listTenants())[0]!.tenantId;
    const dead = Array.from({ length: 12 }, (_, i) => `dead${i}`);
    for (const id of dead) await f.store.createInstance({ instanceId: id, adbAddress: `127.0.0.1:${port}`, instanceName: id, zone: 'test', tenantId });
    for (let i = 0; i < 100; i++) await f.tasks.submit(f.tenantKey, { command: `echo d${i}`, instanceIds: dead, timeoutMs: 30_000 });
    // 1,200 jobs fail 1002 a page at a time; the writer holds them all; refills stop once it holds 1,024.
    let last = -1;
    await until('the refills to stop', async () => {
      const stable = refillReads === last && refillReads > 0;
      last = refillReads;
      await new Promise((r) => setTimeout(r, 300));
      return stable;
    }, 15_000);
    assert.ok((await leftQueued(f)) === 1_200, 'the store took no result');
    const stopped = f.dispatcher.stop(200).then(() => 'stopped');
    const outcome = await Promise.race([stopped, new Promise((r) => setTimeout(() => r('still stopping'), 5_000))]);
    assert.equal(outcome, 'stopped', 'stop() ends within the grace period and the final flush');
  } finally {
    refuseWrites = false;
    await f.close();
  }
});

test('a global bound smaller than half a lane window still lets a lane refill', async () => {
  // laneWindow 8 refills at 4 free; maxHeldQueued 3 never has 4 free: the lane must refill with
  // what the bound allows rather than wait for room that can never exist.
  const f = await fixture({ count: 1, windows: { laneWindow: 8, maxHeldQueued: 3 } });
  try {
    const tasks: CreatedTask[] = [];
    for (let i = 0; i < 10; i++) tasks.push(await f.submit(`echo g${i}`, f.ids));
    for (const t of tasks) assert.equal((await f.finish(t, 10_000))[0]!.state, 'succeeded', t.command);
    assert.deepEqual(f.fleet.instances[0]!.journal().map((e) => e.command), tasks.map((t) => t.command));
  } finally {
    await f.close();
  }
});
