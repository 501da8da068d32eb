// End to end on SQLite: the service (`adbfleet serve`) and a simulated fleet of 1,000 instances,
// each in its own process; this process submits tasks of 100 instances over HTTP and reads each
// task through the store (the service's database, opened here only to read) to see when every job
// is stored as finished. What the machine allows is computed from the three processes' CPU per
// job: cores / (CPU seconds per job, summed), and the measured rate is reported as a share of it.
// With --sse K a second window of the same work runs with K event streams per task (SPEC §7), and
// the service CPU they add is reported per event.
// Usage: node --import tsx bench/e2e.ts [--instances 1000] [--tasks 100] [--clients 8] [--synchronous FULL|NORMAL] [--sse 0]
// Prints a table and writes bench/results/e2e.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Agent, get } from 'node:http';
import { parseArgs } from 'node:util';
import { createSqliteStore, type TaskView } from '../src/store/index.js';
import { request, startSimProcess, tenantKeyOfToken } from '../test/support/index.js';
import { cpuMs, pct } from './lib/measure.js';
import { startBenchService } from './lib/service.js';

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '1000' },
    tasks: { type: 'string', default: '100' },
    clients: { type: 'string', default: '8' },
    synchronous: { type: 'string', default: 'FULL' },
    sse: { type: 'string', default: '0' },
  },
});
const INSTANCES = Number(values.instances);
const TASKS = Number(values.tasks);
const CLIENTS = Number(values.clients);
const PER_TASK = Math.min(100, INSTANCES);
/** event streams per task in a second window (0: none) */
const SSE = Number(values.sse);

/** One throughput window: its tasks, submit latencies (sorted), CPU, and SSE events read. */
interface Window {
  measured: string[];
  latencies: number[];
  t0: number;
  submittedAt: number;
  cpu: { service: number; sim: number; client: number };
  /** job events the streams received, summed over streams */
  events: number;
}

/** Streams won't hold a connection each beyond their task: sockets are reused. */
const sseAgent = new Agent({ keepAlive: true });

/** Follows one task's event stream to `event: done`; resolves with the job events received. */
function follow(url: string, token: string, taskId: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get(`${url}/v1/instances/tasks/${taskId}/events`, { agent: sseAgent, headers: { 'x-auth-token': token, 'x-request-id': randomUUID() } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`events of ${taskId}: ${res.statusCode}`));
      let buf = '';
      let events = 0;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          if (buf.startsWith('event: job')) events++;
          buf = buf.slice(i + 2);
        }
      });
      res.on('end', () => (buf === '' ? resolve(events) : reject(new Error(`events of ${taskId}: cut short`))));
    });
    req.on('error', reject);
  });
}

/** What the streams added: service CPU per job with them, and the extra per event. */
function sseCost(w: Window, jobs: number, plainMsPerJob: number) {
  const msPerJob = w.cpu.service / jobs;
  const extraMs = (msPerJob - plainMsPerJob) * jobs;
  return {
    streamsPerTask: SSE,
    serviceCpuMsPerJob: msPerJob,
    eventsDelivered: w.events,
    eventsPerTask: w.events / SSE / w.measured.length,
    serviceUsPerEventDelivered: (extraMs * 1000) / w.events,
    serviceUsPerTaskEvent: (extraMs * 1000 * SSE) / w.events,
  };
}

async function main(): Promise<void> {
  const sim = await startSimProcess(INSTANCES);
  const service = await startBenchService({ ADBFLEET_SQLITE_SYNCHRONOUS: values.synchronous });
  try {
    const { admin, dataDir } = service;
    const ids = sim.addresses.map((_, i) => `bench-${i}`);
    for (let i = 0; i < ids.length; i += 50) {
      await Promise.all(
        ids.slice(i, i + 50).map((id, j) =>
          admin('POST', '/instances', { instance_id: id, adb_address: sim.addresses[i + j], tenant_id: service.tenantId }),
        ),
      );
    }
    // The service owns the database; this store only reads tasks from it (its instance index,
    // loaded at open, is never used here).
    const store = createSqliteStore({ path: join(dataDir, 'adbfleet.db') });
    await store.open();
    const tenantKey = await tenantKeyOfToken(store, service.token);
    /** submitted tasks not yet seen finished, oldest first */
    const unfinished: string[] = [];
    /** each task's view as stored once every job of it was final */
    const finals = new Map<string, TaskView>();
    const submit = async (command: string, instanceIds: string[]): Promise<{ taskId: string; ms: number }> => {
      const t0 = performance.now();
      const r = await request(service.url, 'POST', '/v1/instances/async-command', { command, instance_ids: instanceIds }, {
        'x-auth-token': service.token,
        'x-request-id': randomUUID(),
      });
      if (r.status !== 200) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
      const taskId: string = r.body.data.task_id;
      unfinished.push(taskId);
      return { taskId, ms: performance.now() - t0 };
    };
    // A final job stays final, so a task seen finished is done with: each poll reads one task.
    const waitAllFinished = async (): Promise<void> => {
      for (let taskId = unfinished[0]; taskId !== undefined; taskId = unfinished[0]) {
        const view = await store.getTask(tenantKey, taskId);
        if (view === null) throw new Error(`task ${taskId} is not in the store`);
        if (view.jobs.every((j) => j.finishedAt !== null)) {
          finals.set(taskId, view);
          unfinished.shift();
        } else {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const jobsOf = (taskIds: readonly string[]): TaskView['jobs'] => taskIds.flatMap((t) => finals.get(t)?.jobs ?? []);
    const taskOf = (k: number): string[] => {
      const start = (k * PER_TASK) % INSTANCES;
      return Array.from({ length: PER_TASK }, (_, i) => ids[(start + i) % INSTANCES]!);
    };

    // Warm-up: one job on every instance, so ADB connections are open before measuring.
    const warm0 = performance.now();
    for (let k = 0; k < Math.ceil(INSTANCES / PER_TASK); k++) await submit('echo warm', taskOf(k));
    await waitAllFinished();
    const warmMs = performance.now() - warm0;

    // Idle dispatch latency: single-job tasks one at a time; started_at - created_at.
    const idle: string[] = [];
    for (let i = 0; i < 50; i++) {
      idle.push((await submit('echo idle', [ids[i % INSTANCES]!])).taskId);
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitAllFinished();
    const idleLat = jobsOf(idle)
      .flatMap((j) => (j.startedAt === null ? [] : [j.startedAt - j.createdAt]))
      .sort((a, b) => a - b);

    // Throughput: TASKS tasks of PER_TASK instances from CLIENTS concurrent HTTP clients; with
    // sse > 0, each task also followed by that many event streams (opened right after its submit,
    // read to `event: done`).
    const pids = { service: service.child.proc.pid!, sim: sim.child.proc.pid! };
    const window = async (sse: number): Promise<Window> => {
      const measured: string[] = [];
      const latencies: number[] = [];
      const streams: Promise<number>[] = [];
      const cpu0 = { service: cpuMs(pids.service), sim: cpuMs(pids.sim), client: cpuMs('self') };
      let next = 0;
      const t0 = Date.now();
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (next < TASKS) {
            const k = next++;
            const { taskId, ms } = await submit('echo hello', taskOf(k));
            for (let l = 0; l < sse; l++) streams.push(follow(service.url, service.token, taskId));
            measured.push(taskId);
            latencies.push(ms);
          }
        }),
      );
      const submittedAt = Date.now();
      await waitAllFinished();
      const events = await Promise.all(streams);
      const cpu = {
        service: cpuMs(pids.service) - cpu0.service,
        sim: cpuMs(pids.sim) - cpu0.sim,
        client: cpuMs('self') - cpu0.client,
      };
      latencies.sort((a, b) => a - b);
      return { measured, latencies, t0, submittedAt, cpu, events: events.reduce((a, b) => a + b, 0) };
    };
    const plain = await window(0);
    const withSse = SSE > 0 ? await window(SSE) : null;
    const { measured, latencies, t0, submittedAt, cpu } = plain;
    await store.close();
    const jobs = jobsOf(measured);
    const agg = {
      n: jobs.length,
      last: jobs.reduce((m, j) => Math.max(m, j.finishedAt ?? -Infinity), -Infinity),
      ok: jobs.filter((j) => j.state === 'succeeded').length,
    };
    const seconds = (agg.last - t0) / 1000;
    // Every core busy with only these three processes, each costing per job what it cost here.
    const machineAllows = (cpus().length * 1000 * agg.n) / (cpu.service + cpu.sim + cpu.client);
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg(), node: process.version },
      params: { instances: INSTANCES, tasks: TASKS, perTask: PER_TASK, clients: CLIENTS, synchronous: values.synchronous },
      warmupSeconds: warmMs / 1000,
      jobs: agg.n,
      succeeded: agg.ok,
      seconds,
      jobsPerSecond: agg.n / seconds,
      submitSeconds: (submittedAt - t0) / 1000,
      submitLatencyMs: { p50: pct(latencies, 50), p99: pct(latencies, 99), max: latencies[latencies.length - 1] },
      idleDispatchLatencyMs: { p50: pct(idleLat, 50), p99: pct(idleLat, 99) },
      cpuMsPerJob: { service: cpu.service / agg.n, simulator: cpu.sim / agg.n, loadClient: cpu.client / agg.n },
      machineAllowsJobsPerSecond: machineAllows,
      shareOfMachine: agg.n / seconds / machineAllows,
      sse: withSse === null ? null : sseCost(withSse, jobsOf(withSse.measured).length, cpu.service / agg.n),
    };
    console.log(`\nadbfleet end to end, SQLite ${values.synchronous}, ${INSTANCES} simulated instances, ${CLIENTS} HTTP clients`);
    console.log('| measure | value |\n|---|---|');
    console.log(`| jobs (tasks x instances) | ${agg.n} (${TASKS} x ${PER_TASK}), ${agg.ok} succeeded |`);
    console.log(`| submit -> every job stored finished | ${seconds.toFixed(2)} s |`);
    console.log(`| **jobs/s** | **${result.jobsPerSecond.toFixed(0)}** (target >= 12,000, or >= 85% of what the machine allows) |`);
    console.log(`| the machine allows (${cpus().length} cores / CPU per job of the three processes) | ${result.machineAllowsJobsPerSecond.toFixed(0)} jobs/s |`);
    console.log(`| **share of the machine** | **${(result.shareOfMachine * 100).toFixed(0)}%** |`);
    console.log(`| submit latency p50 / p99 / max | ${result.submitLatencyMs.p50.toFixed(1)} / ${result.submitLatencyMs.p99.toFixed(1)} / ${result.submitLatencyMs.max?.toFixed(1)} ms |`);
    console.log(`| idle dispatch latency (created -> running) p50 / p99 | ${result.idleDispatchLatencyMs.p50} / ${result.idleDispatchLatencyMs.p99} ms |`);
    const per = result.cpuMsPerJob;
    console.log(`| CPU ms per job: service / simulator / load client | ${per.service.toFixed(3)} / ${per.simulator.toFixed(3)} / ${per.loadClient.toFixed(3)} |`);
    if (result.sse !== null) {
      const e = result.sse;
      console.log(`| with ${SSE} event stream(s) per task: service CPU ms per job, without / with | ${per.service.toFixed(3)} / ${e.serviceCpuMsPerJob.toFixed(3)} (${e.eventsDelivered} events delivered, ${e.eventsPerTask.toFixed(0)} per task) |`);
      console.log(`| **service CPU per event**: per event delivered / per event of a task | **${e.serviceUsPerEventDelivered.toFixed(1)} us** / ${e.serviceUsPerTaskEvent.toFixed(1)} us (target <= 15 us) |`);
    }
    console.log(`| warm-up (first job on every instance, connects included) | ${result.warmupSeconds.toFixed(2)} s |`);
    console.log(`| load average | ${loadavg().map((l) => l.toFixed(2)).join(' ')} |`);
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/e2e.json', `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await service.stop();
    await sim.child.kill('SIGTERM');
  }
}

await main();
