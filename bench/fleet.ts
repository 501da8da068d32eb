// A large fleet on one node: `adbfleet serve` and N simulated instances spread over several
// simulator processes (each process holds one listening socket and one connection per instance,
// and the open-file limit is per process). Registers them through the bulk endpoint, then
// measures a fan-out before the connections exist (cold), the memory each instance costs once it
// is connected and checked, the service's CPU while the fleet idles, and the fan-out again (warm).
// Usage: node --import tsx bench/fleet.ts [--instances 10000] [--per-process 2500] [--idle-seconds 20]
// Prints a table and writes bench/results/fleet.json.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG, LIMITS } from '../src/core/index.js';
import { request, startSimProcess } from '../test/support/index.js';
import { cpuMs, rssKiB } from './lib/measure.js';
import { startBenchService, type BenchService } from './lib/service.js';

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '10000' },
    'per-process': { type: 'string', default: '2500' },
    'idle-seconds': { type: 'string', default: '20' },
  },
});
const INSTANCES = Number(values.instances);
const PER_PROCESS = Number(values['per-process']);
const IDLE_SECONDS = Number(values['idle-seconds']);
const PER_TASK = Math.min(100, INSTANCES);
const TASKS = 100;
const CLIENTS = 8;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** TASKS tasks of PER_TASK instances (`echo`), submitted by CLIENTS at once; seconds until every job is final. */
async function fanOut(service: BenchService, ids: readonly string[]): Promise<{ seconds: number; jobs: number; succeeded: number }> {
  const headers = (): Record<string, string> => ({ 'x-auth-token': service.token, 'x-request-id': randomUUID() });
  const t0 = performance.now();
  const taskIds: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < TASKS) {
        const k = next++;
        const instanceIds = Array.from({ length: PER_TASK }, (_, i) => ids[(k * PER_TASK + i) % ids.length]!);
        const r = await request(service.url, 'POST', '/v1/instances/async-command', { command: 'echo fleet', instance_ids: instanceIds }, headers());
        if (r.status !== 200) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
        taskIds.push(r.body.data.task_id as string);
      }
    }),
  );
  let jobs = 0;
  let succeeded = 0;
  for (const taskId of taskIds) {
    for (;;) {
      const r = await request(service.url, 'GET', `/v1/instances/tasks/${taskId}`, undefined, headers());
      const states = (r.body.data.jobs as { state: string }[]).map((j) => j.state);
      if (states.every((s) => s !== 'queued' && s !== 'running')) {
        jobs += states.length;
        succeeded += states.filter((s) => s === 'succeeded').length;
        break;
      }
      await sleep(20);
    }
  }
  return { seconds: (performance.now() - t0) / 1000, jobs, succeeded };
}

async function main(): Promise<void> {
  const processes = Math.ceil(INSTANCES / PER_PROCESS);
  const sims = await Promise.all(
    Array.from({ length: processes }, (_, p) => startSimProcess(Math.min(PER_PROCESS, INSTANCES - p * PER_PROCESS))),
  );
  const addresses = sims.flatMap((s) => s.addresses);
  const service = await startBenchService({});
  const pid = service.child.proc.pid!;
  try {
    const ids = addresses.map((_, i) => `fleet-${i}`);
    await sleep(1_000);
    const rssBefore = rssKiB(pid);

    const reg0 = performance.now();
    for (let from = 0; from < ids.length; from += LIMITS.instancesPerBulk) {
      const instances = ids
        .slice(from, from + LIMITS.instancesPerBulk)
        .map((id, j) => ({ instance_id: id, adb_address: addresses[from + j], tenant_id: service.tenantId }));
      const r = await service.admin('POST', '/instances/bulk', { instances });
      if (r.status !== 200) throw new Error(`bulk registration: ${r.status} ${JSON.stringify(r.body)}`);
    }
    const registrationSeconds = (performance.now() - reg0) / 1000;

    // Cold: the first command on every instance opens its connection (the health monitor's first
    // checks run meanwhile, at its ping rate).
    const cold = await fanOut(service, ids);

    const allRunning = async (): Promise<number> => {
      const r = await service.admin('GET', '/instances');
      return (r.body.instances as { status: number }[]).filter((i) => i.status === 2).length;
    };
    const check0 = performance.now();
    let running = 0;
    while ((running = await allRunning()) < INSTANCES && performance.now() - check0 < 300_000) await sleep(2_000);
    const checkedSeconds = (performance.now() - check0) / 1000;
    const rssAfter = rssKiB(pid);
    const fds = readdirSync(`/proc/${pid}/fd`).length;

    const cpu0 = cpuMs(pid);
    const idle0 = performance.now();
    await sleep(IDLE_SECONDS * 1000);
    const idleCpuPercent = ((cpuMs(pid) - cpu0) / (performance.now() - idle0)) * 100;

    const warm = await fanOut(service, ids);

    const cycleSeconds = Math.max(DEFAULT_CONFIG.healthIntervalMs / 1000, INSTANCES / DEFAULT_CONFIG.healthPingsPerSecond);
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg(), node: process.version },
      params: { instances: INSTANCES, simulatorProcesses: processes, perProcess: PER_PROCESS, idleSeconds: IDLE_SECONDS, tasks: TASKS, perTask: PER_TASK },
      registrationSeconds,
      serviceRssKiB: { before: rssBefore, after: rssAfter },
      kibPerInstance: (rssAfter - rssBefore) / INSTANCES,
      serviceOpenFiles: fds,
      runningAfterChecks: running,
      secondsUntilAllRunning: checkedSeconds,
      idleCpuPercentOfCore: idleCpuPercent,
      healthCycleSeconds: cycleSeconds,
      fanOutCold: cold,
      fanOutWarm: warm,
    };
    console.log(`\nadbfleet fleet: ${INSTANCES} simulated instances in ${processes} simulator processes`);
    console.log('| measure | value |\n|---|---|');
    console.log(`| registration (bulk endpoint, ${LIMITS.instancesPerBulk} per request) | ${registrationSeconds.toFixed(2)} s (target <= 5 s for 10,000) |`);
    console.log(`| service memory per instance (connected and checked) | ${result.kibPerInstance.toFixed(1)} KiB (RSS ${(rssBefore / 1024).toFixed(0)} -> ${(rssAfter / 1024).toFixed(0)} MiB; target < 16 KiB) |`);
    console.log(`| service open files | ${fds} |`);
    console.log(`| instances running (status 2) | ${running} of ${INSTANCES}, ${checkedSeconds.toFixed(1)} s after the cold fan-out |`);
    console.log(`| **service idle CPU** over ${IDLE_SECONDS} s | **${idleCpuPercent.toFixed(2)} % of a core** (target <= 3 %; health cycle ${cycleSeconds} s at ${DEFAULT_CONFIG.healthPingsPerSecond} pings/s) |`);
    console.log(`| fan-out ${TASKS} x ${PER_TASK} echo, cold (connects included) | ${cold.seconds.toFixed(2)} s, ${cold.succeeded}/${cold.jobs} succeeded |`);
    console.log(`| fan-out ${TASKS} x ${PER_TASK} echo, warm | ${warm.seconds.toFixed(2)} s, ${warm.succeeded}/${warm.jobs} succeeded (target < 2 s) |`);
    console.log(`| load average | ${loadavg().map((l) => l.toFixed(2)).join(' ')} |`);
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/fleet.json', `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await service.stop();
    await Promise.all(sims.map((s) => s.child.kill('SIGTERM')));
  }
}

await main();
