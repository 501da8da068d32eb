// bench:e2e's work on one deployment: tasks of `perTask` instances submitted over HTTP (client k to
// API node k mod N), each task read through the store until every job is stored finished (a final
// job stays final, so a task seen finished is done with: each poll reads one task).
import { randomUUID } from 'node:crypto';
import { Agent, get } from 'node:http';
import type { Store, TaskView } from '../../src/store/index.js';
import { request, tenantKeyOfToken } from '../../test/support/index.js';
import { cpuCounter, type CpuByRole, type CpuRole, type CpuSource } from './cpu.js';
import type { Deployment } from './deployment.js';
import { pct } from './measure.js';

/** One throughput window: its tasks, submit latencies, CPU by role, and SSE events read. */
export interface Window {
  taskIds: string[];
  jobs: number;
  succeeded: number;
  t0: number;
  submittedAt: number;
  /** the latest finished_at of the window's jobs */
  lastFinishedAt: number;
  submitLatencyMs: { p50: number; p99: number; max: number | undefined };
  cpu: CpuByRole;
  /** job events the streams received, summed over streams */
  events: number;
}

export interface SseCost {
  streamsPerTask: number;
  serviceCpuMsPerJob: number;
  eventsDelivered: number;
  eventsPerTask: number;
  serviceUsPerEventDelivered: number;
  serviceUsPerTaskEvent: number;
}

/** A task none of whose jobs finished for this long: the run stops and says which (a bench must not hang). */
const STALL_MS = 60_000;

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

/** What the streams added: the service's CPU per job with them (summed over its roles), and the extra per event. */
export function sseCost(w: Window, streamsPerTask: number, serviceRoles: readonly CpuRole[], plainMsPerJob: number): SseCost {
  const msPerJob = serviceRoles.reduce((a, r) => a + (w.cpu[r] ?? 0), 0) / w.jobs;
  const extraMs = (msPerJob - plainMsPerJob) * w.jobs;
  return {
    streamsPerTask,
    serviceCpuMsPerJob: msPerJob,
    eventsDelivered: w.events,
    eventsPerTask: w.events / streamsPerTask / w.taskIds.length,
    serviceUsPerEventDelivered: (extraMs * 1000) / w.events,
    serviceUsPerTaskEvent: (extraMs * 1000 * streamsPerTask) / w.events,
  };
}

export async function fleetRunner(o: { d: Deployment; reader: Store; ids: readonly string[]; perTask: number; clients: number }) {
  const { d, reader, ids, perTask } = o;
  const tenantKey = await tenantKeyOfToken(reader, d.token);
  /** submitted tasks not yet seen finished, oldest first */
  const unfinished: string[] = [];
  /** each task's view as stored once every job of it was final */
  const finals = new Map<string, TaskView>();
  const submit = async (command: string, instanceIds: string[], client: number): Promise<{ taskId: string; ms: number }> => {
    const t0 = performance.now();
    const r = await request(d.urls[client % d.urls.length]!, 'POST', '/v1/instances/async-command', { command, instance_ids: instanceIds }, {
      'x-auth-token': d.token,
      'x-request-id': randomUUID(),
    });
    if (r.status !== 200) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
    const taskId: string = r.body.data.task_id;
    unfinished.push(taskId);
    return { taskId, ms: performance.now() - t0 };
  };
  const waitAllFinished = async (pollMs = 20): Promise<void> => {
    let progressAt = Date.now();
    for (let taskId = unfinished[0]; taskId !== undefined; taskId = unfinished[0]) {
      const view = await reader.getTask(tenantKey, taskId);
      if (view === null) throw new Error(`task ${taskId} is not in the store`);
      if (view.jobs.every((j) => j.finishedAt !== null)) {
        finals.set(taskId, view);
        unfinished.shift();
        progressAt = Date.now();
      } else if (Date.now() - progressAt > STALL_MS) {
        const states = new Map<string, number>();
        for (const j of view.jobs) states.set(j.state, (states.get(j.state) ?? 0) + 1);
        const stuck = view.jobs.filter((j) => j.finishedAt === null).slice(0, 5).map((j) => `${j.instanceId} ${j.state}`);
        throw new Error(`task ${taskId} made no progress for ${STALL_MS / 1000} s: ${JSON.stringify(Object.fromEntries(states))}; e.g. ${stuck.join(', ')}`);
      } else {
        await new Promise((r) => setTimeout(r, pollMs));
      }
    }
  };
  const jobsOf = (taskIds: readonly string[]): TaskView['jobs'] => taskIds.flatMap((t) => finals.get(t)?.jobs ?? []);
  const taskOf = (k: number): string[] => {
    const start = (k * perTask) % ids.length;
    return Array.from({ length: perTask }, (_, i) => ids[(start + i) % ids.length]!);
  };

  return {
    /** One job on every instance; the seconds it took. */
    async warmUp(): Promise<number> {
      const t0 = performance.now();
      for (let k = 0; k < Math.ceil(ids.length / perTask); k++) await submit('echo warm', taskOf(k), k);
      await waitAllFinished();
      return (performance.now() - t0) / 1000;
    },

    /** started_at - created_at of n single-job tasks, each submitted once the previous one finished (ms). */
    async idleLatency(n: number): Promise<{ samples: number; p50: number; p99: number; max: number | undefined }> {
      const taskIds: string[] = [];
      for (let i = 0; i < n; i++) {
        taskIds.push((await submit('echo idle', [ids[i % ids.length]!], i)).taskId);
        await waitAllFinished(2);
      }
      const lat = jobsOf(taskIds)
        .flatMap((j) => (j.startedAt === null ? [] : [j.startedAt - j.createdAt]))
        .sort((a, b) => a - b);
      return { samples: lat.length, p50: pct(lat, 50), p99: pct(lat, 99), max: lat.at(-1) };
    },

    /** `tasks` tasks from the clients at once; with sse > 0 each followed by that many event
     * streams (opened right after its submit, read to `event: done`). */
    async window(tasks: number, sse: number, sources: readonly CpuSource[]): Promise<Window> {
      const taskIds: string[] = [];
      const latencies: number[] = [];
      const streams: Promise<number>[] = [];
      const cpu = cpuCounter(sources);
      let next = 0;
      const t0 = Date.now();
      await Promise.all(
        Array.from({ length: o.clients }, async (_, client) => {
          while (next < tasks) {
            const k = next++;
            const { taskId, ms } = await submit('echo hello', taskOf(k), client);
            const url = d.urls[client % d.urls.length]!;
            for (let l = 0; l < sse; l++) streams.push(follow(url, d.token, taskId));
            taskIds.push(taskId);
            latencies.push(ms);
          }
        }),
      );
      const submittedAt = Date.now();
      await waitAllFinished();
      const events = await Promise.all(streams);
      const used = cpu();
      latencies.sort((a, b) => a - b);
      const jobs = jobsOf(taskIds);
      return {
        taskIds,
        jobs: jobs.length,
        succeeded: jobs.filter((j) => j.state === 'succeeded').length,
        t0,
        submittedAt,
        lastFinishedAt: jobs.reduce((m, j) => Math.max(m, j.finishedAt ?? -Infinity), -Infinity),
        submitLatencyMs: { p50: pct(latencies, 50), p99: pct(latencies, 99), max: latencies.at(-1) },
        cpu: used,
        events: events.reduce((a, b) => a + b, 0),
      };
    },
  };
}
