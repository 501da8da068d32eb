// API and store alone: POST async-command with 100 instance ids from 50 keep-alive connections
// against `adbfleet serve` in its own process. The instances point at a closed port, so the worker
// only holds the jobs (retrying the connection) while the API and the store take the load.
// First, with nothing else running, the raw SQLite ceiling for the same writes (lib/sqlite-ceiling.ts):
// the service's requests/s is reported as a share of it.
// Usage: node --import tsx bench/api.ts [--seconds 10] [--connections 50] [--synchronous FULL|NORMAL]
// Prints a table and writes bench/results/api.json.
import { Agent, request as httpRequest } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { cpuMs, pct } from './lib/measure.js';
import { startBenchService } from './lib/service.js';
import { measureSqliteCeiling } from './lib/sqlite-ceiling.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    synchronous: { type: 'string', default: 'FULL' },
  },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);

async function main(): Promise<void> {
  const synchronous = values.synchronous.toUpperCase() === 'NORMAL' ? 'NORMAL' : 'FULL';
  const ceiling = await measureSqliteCeiling({ synchronous, seconds: 3, jobsPerTask: 100 });
  const service = await startBenchService({
    ADBFLEET_RETRY_WINDOW_SECONDS: '3600',
    ADBFLEET_SQLITE_SYNCHRONOUS: values.synchronous,
  });
  try {
    const ids = Array.from({ length: 100 }, (_, i) => `api-${i}`);
    for (const id of ids) {
      await service.admin('POST', '/instances', { instance_id: id, adb_address: '127.0.0.1:9', tenant_id: service.tenantId });
    }
    const url = new URL('/v1/instances/async-command', service.url);
    const body = JSON.stringify({ command: 'echo hello', instance_ids: ids });
    const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    const post = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const t0 = performance.now();
        const req = httpRequest(
          url,
          {
            method: 'POST',
            agent,
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
              'x-auth-token': service.token,
              'x-request-id': randomUUID(),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`HTTP ${res.statusCode}`))));
          },
        );
        req.on('error', reject);
        req.end(body);
      });

    // Warm-up, then the measured window.
    for (let i = 0; i < 200; i++) await post();
    const latencies: number[] = [];
    const pid = service.child.proc.pid!;
    const cpu0 = cpuMs(pid);
    const t0 = performance.now();
    const end = t0 + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (performance.now() < end) latencies.push(await post());
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const serviceCpu = cpuMs(pid) - cpu0;
    agent.destroy();
    latencies.sort((a, b) => a - b);
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg(), node: process.version },
      params: { seconds: SECONDS, connections: CONNECTIONS, instancesPerRequest: 100, synchronous: values.synchronous },
      requests: latencies.length,
      requestsPerSecond: latencies.length / seconds,
      jobsPerSecond: (latencies.length * 100) / seconds,
      latencyMs: { p50: pct(latencies, 50), p99: pct(latencies, 99), max: latencies.at(-1) },
      serviceCpuMsPerRequest: serviceCpu / latencies.length,
      sqliteCeiling: ceiling,
      shareOfCeiling: latencies.length / seconds / ceiling.tasksPerSecond,
    };
    console.log(`\nPOST async-command, 100 instance ids, ${CONNECTIONS} connections, ${SECONDS} s, SQLite ${values.synchronous}`);
    console.log('| measure | value |\n|---|---|');
    console.log(`| **requests/s** | **${result.requestsPerSecond.toFixed(0)}** (target >= 2,000 with p99 < 100 ms, or >= 70% of the ceiling) |`);
    console.log(`| raw SQLite ceiling, tasks of 100 jobs/s (${ceiling.tasksPerCommit} per commit, one thread, no HTTP) | ${ceiling.tasksPerSecond.toFixed(0)} |`);
    console.log(`| **share of the ceiling** | **${(result.shareOfCeiling * 100).toFixed(0)}%** |`);
    console.log(`| jobs enqueued/s | ${result.jobsPerSecond.toFixed(0)} |`);
    console.log(`| latency p50 / p99 / max | ${result.latencyMs.p50.toFixed(1)} / ${result.latencyMs.p99.toFixed(1)} / ${result.latencyMs.max?.toFixed(1)} ms (target p99 < 100) |`);
    console.log(`| service CPU per request | ${result.serviceCpuMsPerRequest.toFixed(3)} ms |`);
    console.log(`| load average | ${loadavg().map((l) => l.toFixed(2)).join(' ')} |`);
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/api.json', `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await service.stop();
  }
}

await main();
